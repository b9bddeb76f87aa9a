"""Views: the real daemon serving a second socket that exposes only some credentials.

The policy is tested by enumeration: every operation of the daemon's own OpenAPI document is
sent through a view, and only what the contract allows passes; everything else is
`forbidden` (or `not_found` for a name outside the view). The same run is a canary: no
secret outside the view, and no refresh token or client secret at all, crosses it, in any
answer (lists, status and errors included).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

import credd_client
from credd_client import Client
from credd_client._paths import views_folder_name
from credd_client.errors import CreddError
from tests.support.cli import credd
from tests.support.daemon import DaemonProcess, raw_request
from tests.support.other_user import SYSTEM_PYTHON
from tests.support.requirements import require_program

pytestmark = pytest.mark.integration

RUN = secrets.token_hex(4)
INSIDE = "git:https://example.com/team/repo"
INSIDE_OAUTH = "git:https://example.com/oauth"
OUTSIDE = "aws:prod"
OUTSIDE_OAUTH = "oauth:corp"
IN_SECRET = f"INSIDE{RUN}"
CANARIES = {
    "outside secret": f"OUTSIDE{RUN}",
    "outside access token": f"OUTACCESS{RUN}",
    "outside refresh token": f"OUTREFRESH{RUN}",
    "outside client secret": f"OUTCLIENT{RUN}",
    "inside refresh token": f"INREFRESH{RUN}",
    "inside client secret": f"INCLIENT{RUN}",
}
VIEW_STATUS_FIELDS = {
    "name",
    "patterns",
    "write",
    "uids",
    "socket",
    "expires_at",
    "last_used_at",
    "requests",
    "ssh_keys",
    "agent_socket",
}
NAMED_UID, OTHER_UID = 61100, 61101


def _oauth(access: str, refresh: str, client_secret: str) -> dict[str, object]:
    return {
        "kind": "oauth2",
        "secret": access,
        "token_endpoint": "https://id.example.invalid/token",
        "client_id": "cli",
        "client_secret": client_secret,
        "refresh_token": refresh,
        "expires_at": "2031-01-01T00:00:00Z",
    }


def plant(env: dict[str, str]) -> None:
    with Client(env["CREDD_SOCKET"]) as client:
        client.put(INSIDE, {"secret": IN_SECRET, "username": "alice"})
        client.put(
            INSIDE_OAUTH,
            _oauth("in-access", CANARIES["inside refresh token"], CANARIES["inside client secret"]),
        )
        client.put(OUTSIDE, {"secret": CANARIES["outside secret"]})
        client.put(
            OUTSIDE_OAUTH,
            _oauth(
                CANARIES["outside access token"],
                CANARIES["outside refresh token"],
                CANARIES["outside client secret"],
            ),
        )


def add_view(env: dict[str, str], name: str, *args: str) -> Path:
    result = credd(env, "view", "add", name, *args)
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path.is_socket()
    return path


@pytest.fixture
def env(headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]) -> dict[str, str]:
    plant(headless_credd_env)
    return headless_credd_env


def through(env: dict[str, str], path: Path) -> dict[str, str]:
    return {**env, "CREDD_SOCKET": str(path)}


# --- the CLI and the basics ------------------------------------------------------------------


def test_a_view_reads_its_names_only(env: dict[str, str]) -> None:
    view = add_view(env, "dev", "--allow", "git:https://example.com/*")
    assert view.stat().st_mode & 0o777 == 0o600
    assert view.parent.stat().st_mode & 0o777 == 0o700
    with Client(str(view)) as client:
        assert client.get(INSIDE).secret == IN_SECRET
        with pytest.raises(CreddError) as missing:
            client.get(OUTSIDE)
        assert missing.value.code == "not_found"
        assert sorted(c.name for c in client.list()) == [INSIDE_OAUTH, INSIDE]
        assert sorted(client.list_fields("name", "kind")) == [
            (INSIDE_OAUTH, "oauth2"),
            (INSIDE, "secret"),
        ]
        with pytest.raises(CreddError) as secret_field:
            client.list_fields("name", "client_secret")
        assert secret_field.value.code == "invalid_request"
        with pytest.raises(CreddError) as refused:
            client.put(INSIDE, {"secret": "x"})
        assert refused.value.code == "forbidden"
        status = client.status().raw
    assert status["view"]["name"] == "dev"
    assert set(status["view"]) == VIEW_STATUS_FIELDS
    assert status["credentials"]["total"] == 2
    assert status.get("views") is None

    got = credd(through(env, view), "get", OUTSIDE)
    assert (got.returncode, got.stdout) == (4, "")
    listing = credd(through(env, view), "list")  # the hot path's `?fields=`
    assert sorted(listing.stdout.splitlines()) == [
        f"{INSIDE_OAUTH}\toauth2\t\tok",
        f"{INSIDE}\tsecret\talice\t",
    ]
    listed = credd(env, "view", "list")
    assert listed.returncode == 0
    assert listed.stdout.startswith("dev  ")
    assert "read-only" in listed.stdout
    main = json.loads(credd(env, "status", "--json").stdout)
    [shown] = main["views"]
    assert set(shown) == VIEW_STATUS_FIELDS
    assert shown["requests"] >= 5
    assert shown["last_used_at"] is not None
    assert main["view"] is None
    assert "dev" in credd(env, "status").stdout


def test_the_audit_log_names_the_view(env: dict[str, str], headless_daemon: DaemonProcess) -> None:
    view = add_view(env, "audited", "--allow", "git:*")
    credd(through(env, view), "get", INSIDE)
    credd(through(env, view), "get", OUTSIDE)
    credd(env, "get", INSIDE)
    deadline = time.monotonic() + 10
    while True:
        text = (headless_daemon.home / "audit.log").read_text()
        lines = [json.loads(line) for line in text.splitlines()]
        gets = [r for r in lines if r["op"] == "get"]
        if len(gets) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [(r["name"], r["outcome"], r["view"]) for r in gets[-3:]] == [
        (INSIDE, "ok", "audited"),
        (OUTSIDE, "not_found", "audited"),
        (INSIDE, "ok", None),
    ]
    shown = credd(env, "audit", "--name", OUTSIDE).stdout.splitlines()
    assert shown[-1].endswith(" view audited")


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["add", "two words", "--allow", "x"], 2, "plain word"),
        (["add", "../up", "--allow", "x"], 2, "plain word"),
        (["add", "v", "--allow", ""], 2, "cannot be empty"),
        (["add", "v", "--allow", "git:[abc"], 2, "'['"),
        (["add", "v", "--allow", "x", "--ttl", "soon"], 2, "does not parse"),
        (["add", "v", "--allow", "x", "--ttl", "0s"], 2, "does not parse"),
        (["add", "v", "--allow", "x", "--uid", "me"], 2, "uid"),
        (["add", "v"], 2, "--allow"),
        (["remove", "nosuch"], 4, "no view named 'nosuch'"),
    ],
)
def test_bad_input_is_named_and_leaves_nothing(
    env: dict[str, str], args: list[str], code: int, says: str
) -> None:
    result = credd(env, "view", *args)
    assert result.returncode == code, result.stderr
    assert says in result.stderr
    views = Path(env["CREDD_SOCKET"]).parent / views_folder_name(env)
    assert not views.exists() or list(views.iterdir()) == []
    assert json.loads(credd(env, "status", "--json").stdout)["views"] == []


def test_views_survive_a_restart_until_they_expire(
    env: dict[str, str], headless_daemon: DaemonProcess
) -> None:
    keep = add_view(env, "keep", "--allow", "git:*", "--ttl", "1h")
    short = add_view(env, "short", "--allow", "git:*", "--ttl", "1s")
    assert headless_daemon.stop() == 0
    assert not keep.exists()
    assert not short.exists()
    time.sleep(1.1)  # `short` expires while no daemon runs
    again = DaemonProcess(headless_daemon.home, headless_daemon.socket, headless_daemon.env)
    with again:
        with Client(str(keep)) as client:
            assert client.get(INSIDE).secret == IN_SECRET
        assert not short.exists()
        names = [v["name"] for v in json.loads(credd(env, "status", "--json").stdout)["views"]]
        assert names == ["keep"]
        assert again.stop() == 0


def _wait_gone(env: dict[str, str], name: str) -> None:
    deadline = time.monotonic() + 15
    while any(v["name"] == name for v in json.loads(credd(env, "view", "list", "--json").stdout)):
        assert time.monotonic() < deadline, f"the view {name} is still there"
        time.sleep(0.1)


@pytest.mark.parametrize("how", ["expiry", "remove"])
def test_expiry_and_removal_close_the_socket_and_its_connections(
    env: dict[str, str], how: str
) -> None:
    view = add_view(env, "brief", "--allow", "git:*", *(["--ttl", "2s"] if how == "expiry" else []))
    held = Client(str(view))
    assert held.get(INSIDE).secret == IN_SECRET  # a kept-alive connection stays open
    if how == "remove":
        result = credd(env, "view", "remove", "brief")
        assert result.returncode == 0, result.stderr
    _wait_gone(env, "brief")
    assert not view.exists()
    with pytest.raises(CreddError) as ended:
        held.get(INSIDE)
    assert ended.value.code == "daemon_unavailable"
    held.close()
    with socket.socket(socket.AF_UNIX) as probe, pytest.raises(FileNotFoundError):
        probe.connect(str(view))


def test_a_replaced_view_takes_its_new_patterns(env: dict[str, str]) -> None:
    add_view(env, "swap", "--allow", "git:*")
    view = add_view(env, "swap", "--allow", "aws:*", "--write")
    with Client(str(view)) as client:
        assert client.get(OUTSIDE).secret == CANARIES["outside secret"]
        with pytest.raises(CreddError):
            client.get(INSIDE)


# --- the policy, by enumeration of the OpenAPI document --------------------------------------

READ_ALLOWED = {
    ("get", "/v1/status"),
    ("get", "/v1/credentials"),
    ("get", "/v1/credentials/{name}"),
    ("post", "/v1/credentials/{name}/refresh"),
    ("get", "/v1/events"),  # a stream: opened, its head read, closed (see _stream_head)
    ("get", "/v1/aws/{name}"),  # a matching name's credential_process answer
    ("get", "/v1/kube/{name}"),  # a matching name's exec plugin answer
}
# The routes whose path names a credential: matching names only, the rest not_found.
NAMED_ROUTES = ("/v1/credentials/", "/v1/aws/", "/v1/kube/")
WRITE_ALLOWED = READ_ALLOWED | {
    ("put", "/v1/credentials/{name}"),
    ("delete", "/v1/credentials/{name}"),
}


class Answers:
    """Every answer through the view, searched for canaries at the end."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bytes]] = []

    def send(self, sock: Path, method: str, target: str, body: bytes = b"") -> tuple[int, dict]:
        if (method, target) == ("GET", "/v1/events"):
            return _stream_head(sock, target), {}
        status, raw = raw_request(sock, method, target, body)
        self.seen.append((f"{method} {target}", raw))
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = {"raw": raw.decode("utf-8", "replace")}
        return status, answer

    def assert_clean(self) -> None:
        for where, raw in self.seen:
            text = raw.decode("utf-8", "replace")
            for what, value in CANARIES.items():
                assert value not in text, f"the {what} crossed the view in {where}"


def _stream_head(sock: Path, target: str) -> int:
    """The status of an open-ended answer (the event stream), read up to its first heartbeat."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stream:
        stream.settimeout(10)
        stream.connect(str(sock))
        stream.sendall(f"GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += stream.recv(4096)
    return int(head.split()[1])


def _target(path: str, name: str) -> str:
    return path.replace("{name}", quote(name, safe=""))


def _body(method: str, path: str) -> bytes:
    if (method, path) == ("put", "/v1/credentials/{name}"):
        return json.dumps({"secret": "written-through-the-view"}).encode()
    return b"{}" if method in ("put", "post") else b""


@pytest.mark.parametrize("write", [False, True], ids=["read-only", "write"])
def test_every_operation_through_a_view_is_as_the_contract_says(
    env: dict[str, str], write: bool
) -> None:
    main = Path(env["CREDD_SOCKET"])
    view = add_view(env, "enum", "--allow", "git:https://example.com/*", *(["--write"] * write))
    status, document = raw_request(main, "GET", "/openapi.json")
    assert status == 200
    operations = [
        (method, path)
        for path, item in json.loads(document)["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch")
    ]
    assert len(operations) >= 15  # the document is the daemon's own, whole
    # Deletes last: a credential deleted through a write view is not there for later reads.
    operations.sort(key=lambda operation: operation[0] == "delete")
    allowed = WRITE_ALLOWED if write else READ_ALLOWED
    answers = Answers()
    for method, path in operations:
        on_credential = "{name}" in path and path.startswith(NAMED_ROUTES)
        inside = INSIDE_OAUTH if path.endswith("/refresh") else INSIDE  # an oauth2 one refreshes
        for name in (inside, OUTSIDE) if on_credential else ("dev",):
            query = "?issuer=https%3A%2F%2Fid.example" if "registration" in path else ""
            code, answer = answers.send(
                view, method.upper(), _target(path, name) + query, _body(method, path)
            )
            error = answer.get("error", {}).get("code") if isinstance(answer, dict) else None
            where = f"{method.upper()} {path} ({name})"
            if (method, path) not in allowed:
                assert (code, error) == (403, "forbidden"), where
            elif on_credential and name == OUTSIDE:
                expected = "forbidden" if method == "put" else "not_found"
                assert error == expected, where
            else:
                assert error not in ("forbidden", "not_found"), f"{where}: {answer}"
    # Outside /v1 and its documents: nothing either.
    for target in ("/openapi.json", "/docs", "/v1/nosuch", "/"):
        code, _ = answers.send(view, "GET", target)
        assert code == 403, target
    # The one query a credential read takes would hand out the grant: refused.
    code, answer = answers.send(
        view, "GET", _target("/v1/credentials/{name}", INSIDE_OAUTH) + "?include=refresh_token"
    )
    assert (code, answer["error"]["code"]) == (403, "forbidden")
    answers.assert_clean()
    listed = [c["name"] for c in answers.send(view, "GET", "/v1/credentials")[1]["credentials"]]
    assert OUTSIDE not in listed
    assert OUTSIDE_OAUTH not in listed
    view_status = json.dumps(answers.send(view, "GET", "/v1/status")[1])
    assert OUTSIDE not in view_status
    assert OUTSIDE_OAUTH not in view_status
    # Nothing the view refused happened: unlocked, the other names intact.
    with Client(str(main)) as client:
        assert client.status().locked is False
        assert client.get(OUTSIDE).secret == CANARIES["outside secret"]
        assert [v["name"] for v in client.views()] == ["enum"]


# --- containers: other uids through setpriv, the socket bind-mounted ------------------------


@pytest.fixture
def container_root() -> Iterator[Path]:
    import shutil
    import tempfile

    if os.geteuid() != 0:
        pytest.fail("this test switches uid with setpriv and mounts: it needs root (CI is root)")
    for program in ("setpriv", "unshare", "mount"):
        require_program(program)
    root = Path(tempfile.mkdtemp(prefix="cdssh", dir="/tmp"))
    root.chmod(0o755)  # what docker makes of /run/credd: root's, readable
    (root / "credd.sock").touch()
    yield root
    shutil.rmtree(root, ignore_errors=True)


_CLIENT_CODE = """
import sys
sys.path.insert(0, sys.argv[1])
from credd_client import Client
from credd_client.errors import CreddError
try:
    with Client(sys.argv[2], autostart=False) as client:
        print("ok", client.get(sys.argv[3]).secret)
except CreddError as exc:
    print("refused", exc.code)
"""


def as_container_user(root: Path, socket_file: Path, uid: int, *, daemon_uid: bool) -> str:
    """Bind ``socket_file`` to root/credd.sock in a private mount namespace, as a container
    runtime does, and run the client there as ``uid``."""
    target = root / "credd.sock"
    client_dir = str(Path(credd_client.__file__).parents[1])
    env = ["env", "-i", "PATH=/usr/bin:/bin", f"CREDD_SOCKET={target}"]
    if daemon_uid:
        env.append(f"CREDD_DAEMON_UID={os.getuid()}")
    inner = [
        "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        *env,
        SYSTEM_PYTHON,
        "-I",
        "-c",
        _CLIENT_CODE,
        client_dir,
        str(target),
        INSIDE,
    ]
    command = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        'mount --bind "$0" "$1" && shift && exec "$@"',
        str(socket_file),
        str(target),
        *inner,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_container_user_reaches_a_view_naming_its_uid_only(
    env: dict[str, str], container_root: Path
) -> None:
    named = add_view(env, "ctr", "--allow", "git:*", "--uid", str(NAMED_UID))
    unnamed = add_view(env, "plain", "--allow", "git:*")
    main = Path(env["CREDD_SOCKET"])
    run = as_container_user

    assert run(container_root, named, NAMED_UID, daemon_uid=True) == f"ok {IN_SECRET}"
    # Without CREDD_DAEMON_UID the client refuses a daemon (and a folder) of another uid.
    assert run(container_root, named, NAMED_UID, daemon_uid=False) == "refused forbidden"
    # The file's ACL admits the named uid only; the others cannot even connect.
    assert run(container_root, named, OTHER_UID, daemon_uid=True).startswith("refused")
    assert run(container_root, unnamed, NAMED_UID, daemon_uid=True).startswith("refused")
    assert run(container_root, main, NAMED_UID, daemon_uid=True).startswith("refused")
    # With the file opened to everyone, the daemon's own peer check still refuses (its 403
    # may or may not reach a client still sending: the audit log says who was refused).
    unnamed.chmod(0o666)
    main.chmod(0o666)
    try:
        assert run(container_root, unnamed, NAMED_UID, daemon_uid=True).startswith("refused")
        assert run(container_root, main, NAMED_UID, daemon_uid=True).startswith("refused")
    finally:
        main.chmod(0o600)
    deadline = time.monotonic() + 10
    while True:
        text = (Path(env["CREDD_HOME"]) / "audit.log").read_text()
        refused = [
            (r["view"], r["outcome"])
            for r in map(json.loads, text.splitlines())
            if r["op"] == "connect" and r["uid"] == NAMED_UID
        ]
        if len(refused) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert refused == [("plain", "forbidden"), (None, "forbidden")]


# --- the helpers through a read-only view ---------------------------------------------------


def test_the_helpers_take_a_read_only_views_refusal_as_nothing_to_do(env: dict[str, str]) -> None:
    from tests.support.cli import run_program

    view = through(env, add_view(env, "helpers", "--allow", "git:*", "docker:*"))
    git = "protocol=https\nhost=example.com\npath=team/repo\nusername=alice\n"
    for action, more in (("store", "password=new\n"), ("erase", "")):
        done = run_program(view, "git-credential-credd", action, input=git + more + "\n")
        assert (done.returncode, done.stdout) == (0, ""), done.stderr
        assert len(done.stderr.splitlines()) == 1
        assert "read-only" in done.stderr
    login = json.dumps({"ServerURL": "ghcr.io", "Username": "u", "Secret": "s"})
    for action, stdin in (("store", login), ("erase", "ghcr.io\n")):
        done = run_program(view, "docker-credential-credd", action, input=stdin)
        assert (done.returncode, done.stdout) == (0, ""), done.stdout
        assert len(done.stderr.splitlines()) == 1
    # Nothing changed on the laptop: the password is the one it had.
    with Client(env["CREDD_SOCKET"]) as client:
        assert client.get(INSIDE).secret == IN_SECRET
