"""Other users are refused, and secrets stay out of every log, answer and file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.cli import credd
from tests.support.daemon import DaemonProcess, raw_request
from tests.support.other_user import run_as_nobody

pytestmark = pytest.mark.integration

CONNECT_AND_ASK = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1] if len(sys.argv) > 1 else {path!r})
try:
    s.sendall(b"GET /v1/credentials HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
except (BrokenPipeError, ConnectionResetError):
    pass  # refused before the request was sent: the 403 is still there to read
data = b""
while True:
    try:
        chunk = s.recv(65536)
    except ConnectionResetError:
        break
    if not chunk:
        break
    data += chunk
print(data.decode("latin-1"))
"""


def test_another_uid_is_refused_even_through_an_open_socket(
    daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    credd(credd_env, "set", "private", input="canary-other-uid-91f3")
    sock = Path(credd_env["CREDD_SOCKET"])
    # Open everything up, as a careless chmod would: the peer check alone must hold.
    for folder in (sock.parent, *sock.parents):
        if str(folder).startswith(str(Path(credd_env["CREDD_HOME"]).parent)):
            os.chmod(folder, 0o755)
    os.chmod(sock, 0o666)
    result = run_as_nobody(CONNECT_AND_ASK.format(path=str(sock)))
    assert result.returncode == 0, result.stderr
    assert "403" in result.stdout.splitlines()[0]
    assert '"forbidden"' in result.stdout
    assert "canary-other-uid-91f3" not in result.stdout
    assert "private" not in result.stdout
    assert "refused a connection from uid 65534" in daemon.log_text()
    # ...and the owner is still served.
    assert credd(credd_env, "get", "private").stdout == "canary-other-uid-91f3\n"


def test_canary_secrets_appear_only_where_asked_for(
    daemon: DaemonProcess, credd_env: dict[str, str]
) -> None:
    canary = "CANARY-core-4b7e9d"
    outputs: list[str] = []

    def run(*args: str, stdin: str | None = None) -> None:
        result = credd(credd_env, *args, input=stdin)
        outputs.extend([result.stdout, result.stderr])

    run("set", "c1", "--username", "u", stdin=canary + "\n")
    run("set", "c2", "--json", stdin=json.dumps({"secret": canary, "labels": {"k": "v"}}))
    run("set", "c3", "--json", stdin='{"secret": "' + canary)  # malformed
    run("list")
    run("list", "--json")
    run("status")
    run("status", "--json")
    run("delete", "c2")
    run("get", "c2")  # not found
    run("lock")
    run("get", "c1")  # locked
    run("unlock")
    got = credd(credd_env, "get", "c1")
    assert got.stdout == canary + "\n"  # the one intended place

    sock = Path(credd_env["CREDD_SOCKET"])
    bad_bodies = [
        json.dumps({"secret": canary, "kind": "oauth2"}).encode(),
        json.dumps({"secret": canary, "bogus": canary}).encode(),
        json.dumps({"secret": canary, "labels": {canary: 5}}).encode(),
        json.dumps({"secret": [canary]}).encode(),
        b'{"secret": "' + canary.encode() + b'"',
    ]
    for body in bad_bodies:
        status, answer = raw_request(sock, "PUT", "/v1/credentials/bad", body)
        assert status == 400
        outputs.append(answer.decode())
    status, answer = raw_request(sock, "PUT", f"/v1/credentials/{canary}%0A", b"{}")
    outputs.append(answer.decode())

    assert daemon.stop() == 0
    for text in outputs:
        assert canary not in text
    home = Path(credd_env["CREDD_HOME"])
    for path in [*home.rglob("*"), *sock.parent.rglob("*")]:
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), path
    assert canary not in daemon.log_text()
