"""Canaries: plant a distinctive secret through every path on main, drive every feature
(the failures too), then search everything that is not the encrypted store or the intended
`get` output. Zero hits.

Searched: every CLI output (stdout and stderr) except `get`'s own; every API answer that is
not a GET of one credential; the daemon's log; the audit log; /proc/<pid>/cmdline and
environ of the daemon; every file under the state folder, the socket folder, HOME and the
backup folder, the encrypted store and backup included (no canary in plaintext there
either); the keyring's files.

Paths planted here: `credd set` (standard input), `credd set --json`, `PUT` over the API
(plain and oauth2 with refresh token and client secret), `credd restore` of a backup, the
git and docker credential helpers, the keyring backend (the `keyring` command),
`credd import git --remove-source`, `credd aws add` and `credd import aws --remove-source`
(an aws credential's keys leave only through `credd aws`); `credd exec --mask` and a
failing `credd refresh` are driven. Not planted yet: OAuth tokens issued by a real
authorization server through `credd login` (tests/integration/test_oauth.py has that server;
a planter is the next step).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from credd_client import Client
from tests.support.cli import credd, run_program
from tests.support.daemon import DaemonProcess, raw_request
from tests.support.secret_service import SecretService

pytestmark = pytest.mark.integration

RUN = secrets.token_hex(4)
PREFIX = f"CANARY{RUN}"


def canary(path: str) -> str:
    return f"{PREFIX}-{path}"


class Seen:
    """Everything the run showed outside the intended places, to be searched at the end."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, text: str | bytes) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.texts.append((where, text))

    def cli(self, env: dict[str, str], *args: str, input: str | None = None) -> int:
        result = credd(env, *args, input=input)
        self.add(f"credd {' '.join(args)} (stdout)", result.stdout)
        self.add(f"credd {' '.join(args)} (stderr)", result.stderr)
        return result.returncode


def plant_cli(env: dict[str, str], seen: Seen) -> dict[str, str]:
    value = canary("cli")
    assert seen.cli(env, "set", "via/cli", "--username", "u", input=value + "\n") == 0
    return {"via/cli": value}


def plant_cli_json(env: dict[str, str], seen: Seen) -> dict[str, str]:
    value = canary("cli-json")
    body = json.dumps({"secret": value, "labels": {"team": "x"}})
    assert seen.cli(env, "set", "via/json", "--json", input=body) == 0
    return {"via/json": value}


def plant_api(env: dict[str, str], seen: Seen) -> dict[str, str]:
    value = canary("api")
    status, body = raw_request(
        Path(env["CREDD_SOCKET"]),
        "PUT",
        "/v1/credentials/via%2Fapi",
        json.dumps({"secret": value}).encode(),
    )
    assert status == 200
    seen.add("PUT answer", body)
    oauth = {
        "kind": "oauth2",
        "secret": canary("oauth-access"),
        "token_endpoint": "https://id.example.invalid/token",
        "client_id": "cli",
        "client_secret": canary("oauth-client-secret"),
        "refresh_token": canary("oauth-refresh"),
        "expires_at": "2031-01-01T00:00:00Z",
    }
    status, body = raw_request(
        Path(env["CREDD_SOCKET"]),
        "PUT",
        "/v1/credentials/via%2Foauth",
        json.dumps(oauth).encode(),
    )
    assert status == 200
    seen.add("PUT oauth2 answer", body)
    return {"via/api": value, "via/oauth": oauth["secret"]}


def plant_restore(env: dict[str, str], seen: Seen) -> dict[str, str]:
    """A backup made elsewhere (sealed offline), restored through the CLI."""
    from credd.backup import KdfParams, seal_backup
    from credd.store.records import Credential, StoreState

    value = canary("restore")
    state = StoreState({"via/restore": Credential(name="via/restore", kind="secret", secret=value)})
    passphrase = canary("passphrase-restore")
    blob = seal_backup(state, passphrase, KdfParams(salt=os.urandom(16), n=2**14))
    path = Path(env["HOME"]) / "incoming.backup"
    path.write_bytes(blob)
    assert seen.cli(env, "restore", str(path), input=passphrase + "\n") == 0
    return {"via/restore": value}


def helper(env: dict[str, str], program: str, action: str, stdin: str) -> str:
    result = run_program(env, program, action, input=stdin)
    return result.stdout + result.stderr


def plant_git_helper(env: dict[str, str], seen: Seen) -> dict[str, str]:
    value = canary("git")
    request = "protocol=https\nhost=git.example\nusername=me\n"
    seen.add(
        "git store", helper(env, "git-credential-credd", "store", request + f"password={value}\n\n")
    )
    got = helper(env, "git-credential-credd", "get", request + "\n")
    assert f"password={value}" in got  # the intended place
    # A password another helper minted, with its expiry and refresh token.
    minted, refresh = canary("git-minted"), canary("git-refresh")
    request = "protocol=https\nhost=mint.example\nusername=me\n"
    expiring = f"{request}password={minted}\npassword_expiry_utc=4070908800\n"
    stored = helper(
        env, "git-credential-credd", "store", f"{expiring}oauth_refresh_token={refresh}\n\n"
    )
    seen.add("git store (expiring)", stored)
    got = helper(env, "git-credential-credd", "get", request + "\n")
    assert f"oauth_refresh_token={refresh}" in got  # the intended place
    return {}


def plant_docker_helper(env: dict[str, str], seen: Seen) -> dict[str, str]:
    value = canary("docker")
    body = json.dumps({"ServerURL": "registry.example", "Username": "me", "Secret": value})
    seen.add("docker store", helper(env, "docker-credential-credd", "store", body))
    assert value in helper(env, "docker-credential-credd", "get", "registry.example")
    seen.add("docker list", helper(env, "docker-credential-credd", "list", ""))
    seen.add("docker get absent", helper(env, "docker-credential-credd", "get", "nowhere"))
    return {}


def plant_keyring(env: dict[str, str], seen: Seen) -> dict[str, str]:
    value = canary("keyring")
    program = shutil.which("keyring", path=env["PATH"])
    assert program is not None
    kenv = {**env, "PYTHON_KEYRING_BACKEND": "credd_client.keyring_backend.CreddKeyring"}
    stored = subprocess.run(
        [program, "set", "pypi.example", "me"],
        env=kenv,
        input=value + "\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert stored.returncode == 0, stored.stderr
    seen.add("keyring set", stored.stdout + stored.stderr)
    got = subprocess.run(
        [program, "get", "pypi.example", "me"],
        env=kenv,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert got.stdout.strip() == value  # the intended place
    seen.add("keyring get (stderr)", got.stderr)
    return {}


def plant_import(env: dict[str, str], seen: Seen) -> dict[str, str]:
    value = canary("import")
    source = Path(env["HOME"]) / ".git-credentials"
    source.write_text(f"https://me:{value}@import.example\n")
    assert seen.cli(env, "import", "git", "--dry-run") == 0
    assert seen.cli(env, "import", "git", "--remove-source") == 0
    return {}


def plant_aws(env: dict[str, str], seen: Seen) -> dict[str, str]:
    """`credd aws add` (sessions off: no STS here), `credd import aws --remove-source`; the
    keys go out only through `credd aws` (checked, not searched), never `get`."""
    value = canary("aws")
    args = ("aws", "add", "via/aws", "--access-key-id", "AKIACANARY", "--no-session")
    assert seen.cli(env, *args, input=value + "\n") == 0
    got = credd(env, "aws", "via/aws")
    assert json.loads(got.stdout)["SecretAccessKey"] == value
    seen.add("credd aws (stderr)", got.stderr)
    assert seen.cli(env, "get", "via/aws") == 2  # its keys only through `credd aws`
    assert seen.cli(env, "get", "via/aws", "--json") == 0
    folder = Path(env["HOME"]) / ".aws"
    folder.mkdir(mode=0o700)
    imported = canary("aws-import")
    (folder / "credentials").write_text(
        f"[canary]\naws_access_key_id = AKIAIMPORT\naws_secret_access_key = {imported}\n"
    )
    assert seen.cli(env, "import", "aws", "--dry-run", "--remove-source") == 0
    assert seen.cli(env, "import", "aws", "--remove-source") == 0
    bad = {"kind": "aws", "secret": canary("aws-bad"), "access_key_id": "A"}
    bad.update(session_token=canary("aws-token"), session=True)  # temporary keys: no session
    status, answer = raw_request(
        Path(env["CREDD_SOCKET"]), "PUT", "/v1/credentials/bad-aws", json.dumps(bad).encode()
    )
    assert status == 400
    seen.add("bad aws PUT answer", answer)
    return {}


PLANTERS: dict[str, Callable[[dict[str, str], Seen], dict[str, str]]] = {
    "cli": plant_cli,
    "cli-json": plant_cli_json,
    "api": plant_api,
    "restore": plant_restore,
    "git-helper": plant_git_helper,
    "docker-helper": plant_docker_helper,
    "keyring": plant_keyring,
    "import": plant_import,
    "aws": plant_aws,
}


def drive_everything(env: dict[str, str], seen: Seen, planted: dict[str, str]) -> None:
    """Every feature on main, the failures included."""
    sock = Path(env["CREDD_SOCKET"])
    home = Path(env["HOME"])
    for args in (
        ("list",),
        ("list", "--json"),
        ("status",),
        ("status", "--json"),
        ("audit",),
        ("audit", "--json"),
        ("get", "absent"),
        ("delete", "absent"),
    ):
        seen.cli(env, *args)
    # The intended place: `get` prints the secret (checked, not searched).
    for name, value in planted.items():
        if name == "via/oauth":
            continue
        got = credd(env, "get", name)
        assert got.stdout == value + "\n", name
        seen.add(f"credd get {name} (stderr)", got.stderr)
        as_json = credd(env, "get", name, "--json")
        assert value in as_json.stdout
    # Per-program refusal of a canary-holding credential.
    body = json.dumps({"secret": canary("restricted"), "allowed_programs": ["/usr/bin/true"]})
    assert seen.cli(env, "set", "restricted", "--json", input=body) == 0
    assert seen.cli(env, "get", "restricted") == 1
    assert seen.cli(env, "get", "restricted", "--json") == 1
    # Malformed and misplaced input carrying canaries.
    bad = canary("bad")
    for body_bytes in (
        json.dumps({"secret": bad, "kind": "oauth2"}).encode(),
        json.dumps({"secret": bad, "bogus": bad}).encode(),
        json.dumps({"secret": bad, "labels": {bad: 5}}).encode(),
        json.dumps({"secret": [bad]}).encode(),
        json.dumps({"secret": bad, "allowed_programs": [bad]}).encode(),
        b'{"secret": "' + bad.encode() + b'"',
        b"x" * (1024 * 1024 + 1),
    ):
        status, answer = raw_request(sock, "PUT", "/v1/credentials/bad", body_bytes)
        assert status in (400, 413)
        seen.add("bad PUT answer", answer)
    for path in (f"/v1/credentials/{bad}%0A", f"/v1/credentials/x?include={bad}", f"/v1/{bad}"):
        status, answer = raw_request(sock, "GET", path)
        assert status >= 400
        seen.add(f"GET {path} answer", answer)
    assert seen.cli(env, "set", "bad", "--json", input='{"secret": "' + bad) == 2
    # Recovery, the failures too: short and wrong passphrases, a cut and an altered backup.
    passphrase = canary("passphrase")
    backup = home / "b" / "all.backup"
    backup.parent.mkdir()
    assert seen.cli(env, "backup", str(backup), input=passphrase + "\n") == 0
    assert seen.cli(env, "backup", str(home / "b" / "short"), input="short\n") == 2
    assert seen.cli(env, "restore", str(backup), input=canary("wrong-passphrase") + "\n") == 2
    data = backup.read_bytes()
    (home / "b" / "cut").write_bytes(data[: len(data) // 2])
    assert seen.cli(env, "restore", str(home / "b" / "cut"), input=passphrase) == 2
    altered = data[:-3] + bytes([data[-3] ^ 1]) + data[-2:]
    (home / "b" / "altered").write_bytes(altered)
    assert seen.cli(env, "restore", str(home / "b" / "altered"), input=passphrase) == 2
    assert seen.cli(env, "restore", str(backup), input=passphrase) == 0
    assert seen.cli(env, "reset", "--yes") == 2  # the store opens fine
    with Client(str(sock)) as client:
        status, answer = raw_request(
            sock, "POST", "/v1/backup", json.dumps({"passphrase": passphrase}).encode()
        )
        assert status == 200
        sealed = json.loads(answer)["backup"]
        assert PREFIX not in sealed
        client.status()
    # credd exec with --mask: the command's output is masked, credd exec's own environment
    # and arguments (its pid is the shell's parent) hold no secret.
    script = (
        'echo "value=$V"; '
        'echo "parent-environ-hits=$(tr "\\0" "\\n" < /proc/$PPID/environ | grep -c CANARY)"; '
        'echo "parent-cmdline=$(tr "\\0" " " < /proc/$PPID/cmdline)"'
    )
    ran = credd(env, "exec", "--mask", "--env", "V=via/cli", "--", "sh", "-c", script)
    assert ran.returncode == 0, ran.stderr
    assert "parent-environ-hits=0" in ran.stdout
    seen.add("credd exec --mask (stdout)", ran.stdout)
    seen.add("credd exec --mask (stderr)", ran.stderr)
    # A refresh that fails (the token endpoint does not resolve): the error says so, and
    # neither token appears.
    assert seen.cli(env, "refresh", "via/oauth") != 0
    # Lock and unlock: the locked errors.
    assert seen.cli(env, "lock") == 0
    assert seen.cli(env, "get", "via/cli") == 1
    assert seen.cli(env, "backup", str(home / "b" / "locked"), input=passphrase) == 1
    assert seen.cli(env, "unlock") == 0
    assert seen.cli(env, "delete", "via/json") == 0
    assert seen.cli(env, "get", "via/json") == 4


def files_under(*roots: Path) -> list[Path]:
    found = []
    for root in roots:
        if root.exists():
            found += [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    return found


def test_no_canary_anywhere_but_where_asked_for(
    daemon: DaemonProcess, credd_env: dict[str, str], secret_service: SecretService
) -> None:
    seen = Seen()
    planted: dict[str, str] = {}
    for plant in PLANTERS.values():
        planted.update(plant(credd_env, seen))
    drive_everything(credd_env, seen, planted)

    for part in ("cmdline", "environ"):
        seen.add(f"/proc/daemon/{part}", Path(f"/proc/{daemon.pid}/{part}").read_bytes())
    assert daemon.stop() == 0
    seen.add("daemon log", daemon.log_text())

    hits = [where for where, text in seen.texts if PREFIX in text]
    assert hits == [], hits
    state = Path(credd_env["CREDD_HOME"])
    sock_dir = Path(credd_env["CREDD_SOCKET"]).parent
    roots = [state, sock_dir, Path(credd_env["HOME"]), Path(credd_env["XDG_RUNTIME_DIR"])]
    if secret_service.root is not None:
        roots.append(secret_service.root)
    files = files_under(*roots)
    assert any(f.name == "audit.log" for f in files)
    assert any(f.name == "store.credd" for f in files)
    leaked = [str(f) for f in files if PREFIX.encode() in f.read_bytes()]
    assert leaked == []
