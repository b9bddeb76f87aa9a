"""credd as the SSH agent (issue 20), with the real OpenSSH: ssh-add, ssh to a real sshd,
git over SSH, git's SSH commit signing, and bad input on the agent socket."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from credd.cli.sshkeys import identity_agent_line
from credd.cli.views import _agent_forward
from credd_client._paths import agent_socket_path
from tests.support.daemon import DaemonProcess
from tests.support.login_sshd import LoginSshd
from tests.support.other_user import ThrowawayUser
from tests.support.requirements import require_program

KEY_TYPES = [
    ("ed25519", []),
    ("ecdsa", ["-b", "256"]),
    ("ecdsa", ["-b", "384"]),
    ("ecdsa", ["-b", "521"]),
    ("rsa", ["-b", "3072"]),
]


def run(
    env: dict[str, str], *args: str, check: bool = True, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def make_key(folder: Path, name: str, kind: str, extra: list[str], passphrase: str = "") -> Path:
    path = folder / name
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-t",
            kind,
            *extra,
            "-N",
            passphrase,
            "-C",
            f"{name}@test",
            "-f",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    return path


def fingerprint(path: Path) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return out.split()[1]


@pytest.fixture
def agent_env(headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]) -> dict[str, str]:
    for program in ("ssh", "ssh-add", "ssh-keygen"):
        require_program(program)
    env = dict(headless_credd_env)
    env["SSH_AUTH_SOCK"] = agent_socket_path(env)
    return env


@pytest.fixture
def keys_folder(short_tmp: Path) -> Path:
    folder = short_tmp / "keys"
    folder.mkdir(mode=0o700)
    return folder


@pytest.fixture
def sshd(short_tmp: Path) -> Iterator[LoginSshd]:
    folder = short_tmp / "sshd"
    folder.mkdir(mode=0o700)
    with LoginSshd(folder) as server:
        yield server


# --- the socket and listing -------------------------------------------------------------------


def test_credd_ssh_agent_prints_the_socket_for_each_shell(agent_env: dict[str, str]) -> None:
    path = agent_env["SSH_AUTH_SOCK"]
    assert run(agent_env, "credd", "ssh-agent", "-s").stdout == (
        f"SSH_AUTH_SOCK='{path}'; export SSH_AUTH_SOCK;\n"
    )
    assert run(agent_env, "credd", "ssh-agent", "-c").stdout == f"setenv SSH_AUTH_SOCK '{path}';\n"
    assert (
        run(agent_env, "credd", "ssh-agent", "--fish").stdout
        == f"set -gx SSH_AUTH_SOCK '{path}';\n"
    )
    assert Path(path).stat().st_mode & 0o777 == 0o600


def ssh_reads(keyword: str, config: Path | str, *options: str) -> str:
    """What OpenSSH's own parser (`ssh -G`) reads for ``keyword`` from ``config`` and
    ``options``."""
    shown = subprocess.run(
        ["ssh", "-G", "-F", str(config), *options, "example.invalid"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        stdin=subprocess.DEVNULL,
    ).stdout
    prefix = keyword + " "
    return next(line for line in shown.splitlines() if line.startswith(prefix))[len(prefix) :]


def ssh_reads_identity_agent(config: Path) -> str:
    return ssh_reads("identityagent", config)


def test_credd_ssh_agent_install_writes_a_line_ssh_reads_back(
    headless_credd_env: dict[str, str],
) -> None:
    require_program("ssh")
    env = headless_credd_env
    config = Path(env["HOME"]) / ".ssh" / "config"
    config.parent.mkdir(mode=0o700)
    config.write_text("Host old\n  User me\n")
    first = run(env, "credd", "ssh-agent", "--install").stdout
    assert first.startswith(f"added to {config}")
    assert config.stat().st_mode & 0o777 == 0o600
    assert config.read_text().endswith("Host old\n  User me\n")  # kept, after credd's block
    assert ssh_reads_identity_agent(config) == agent_socket_path(env)
    assert "already has" in run(env, "credd", "ssh-agent", "--install").stdout


@pytest.mark.parametrize(
    "path",
    [
        r"\\.\pipe\openssh-ssh-agent",  # Windows: ssh_config takes a backslash as an escape
        '/tmp/an "odd" folder/50% agent.sock',  # quotes, a blank, a token's percent sign
    ],
)
def test_the_identity_agent_line_survives_ssh_configs_quoting(path: str, tmp_path: Path) -> None:
    require_program("ssh")
    config = tmp_path / "config"
    config.write_text(f"Host *\n  {identity_agent_line(path)}\n")
    assert ssh_reads_identity_agent(config) == path


@pytest.mark.parametrize(
    "path", ['/tmp/an "odd" folder/50% agent.sock', "/run/user/0/credd/views/dev.agent.sock"]
)
def test_the_forwarded_agents_path_survives_ssh_o(path: str) -> None:
    """What `credd ssh --agent` passes: `-o ForwardAgent=` as ssh's own parser reads it."""
    require_program("ssh")
    options = _agent_forward({"agent_socket": path})
    assert ssh_reads("forwardagent", os.devnull, *options) == path


def test_import_then_ssh_add_lists_every_key_type(
    agent_env: dict[str, str], keys_folder: Path
) -> None:
    paths = [
        make_key(keys_folder, f"id_{i}", kind, extra) for i, (kind, extra) in enumerate(KEY_TYPES)
    ]
    assert run(agent_env, "ssh-add", "-l", check=False).returncode == 1  # no identities
    out = run(agent_env, "credd", "ssh-key", "import", *map(str, paths)).stdout
    assert out.count("add ") == len(paths)
    listed = run(agent_env, "ssh-add", "-l").stdout
    assert [line.split()[1] for line in listed.splitlines()] == [fingerprint(p) for p in paths]
    public = run(agent_env, "ssh-add", "-L").stdout.splitlines()
    assert public == [p.with_suffix(".pub").read_text().strip() for p in paths]
    keys = json.loads(run(agent_env, "credd", "ssh-key", "list", "--json").stdout)["keys"]
    assert [k["name"] for k in keys] == [f"ssh:id_{i}" for i in range(len(paths))]
    assert all(k["offered"] is True and k["kind"] == "ssh-key" for k in keys)
    # GET serves the public key line as the secret, and nothing else.
    assert run(agent_env, "credd", "get", "ssh:id_0").stdout.strip() == public[0]


# --- ssh, git, commit signing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "extra"), KEY_TYPES, ids=["ed25519", "p256", "p384", "p521", "rsa3072"]
)
def test_ssh_logs_in_with_each_key_type(
    agent_env: dict[str, str], keys_folder: Path, sshd: LoginSshd, kind: str, extra: list[str]
) -> None:
    path = make_key(keys_folder, "id_login", kind, extra)
    run(agent_env, "credd", "ssh-key", "import", str(path))
    sshd.authorize(path.with_suffix(".pub").read_text())
    result = run(agent_env, *sshd.ssh(agent_env["SSH_AUTH_SOCK"]), "echo", "logged-in", check=False)
    assert result.returncode == 0, sshd.log_text() + result.stderr
    assert result.stdout.strip() == "logged-in"
    # The signature is audited with the key, its fingerprint and the host it was bound to.
    signs = audit_records(agent_env, "ssh-sign", at_least=1)
    assert signs[-1]["outcome"] == "ok"
    assert signs[-1]["name"] == "ssh:id_login"
    assert signs[-1]["fingerprint"] == fingerprint(path)
    assert signs[-1]["host_key"] == sshd.host_fingerprint()
    assert signs[-1]["exe"] == os.path.realpath(require_program("ssh"))


def audit_records(
    env: dict[str, str], op: str | None = None, at_least: int = 0
) -> list[dict[str, object]]:
    """The audit log's records (of ``op`` only, if given), read again for up to 10 s until
    there are ``at_least``: the daemon flushes the log just after it answers, so a client
    that has its answer may look a moment too early."""
    deadline = time.monotonic() + 10
    while True:
        text = (Path(env["CREDD_HOME"]) / "audit.log").read_text()
        records = [json.loads(line) for line in text.splitlines()]
        chosen = [r for r in records if op is None or r["op"] == op]
        if len(chosen) >= at_least or time.monotonic() > deadline:
            return chosen
        time.sleep(0.05)


def test_git_clone_push_and_signed_commits(
    agent_env: dict[str, str], keys_folder: Path, sshd: LoginSshd, short_tmp: Path
) -> None:
    require_program("git")
    public = run(
        agent_env, "credd", "ssh-key", "generate", "ssh:git", "--comment", "git@test"
    ).stdout.strip()
    assert public.startswith("ssh-ed25519 ")
    assert public.endswith(" git@test")
    sshd.authorize(public)
    bare = short_tmp / "repo.git"
    run(agent_env, "git", "init", "-q", "--bare", "-b", "main", str(bare))
    env = {
        **agent_env,
        "GIT_SSH_COMMAND": sshd.git_ssh_command(agent_env["SSH_AUTH_SOCK"]),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "T",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "T",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    clone = short_tmp / "clone"
    run(env, "git", "clone", "-q", f"{sshd.url_prefix}{bare}", str(clone))
    allowed = short_tmp / "allowed_signers"
    allowed.write_text(f"t@example.invalid {public}\n")
    for key, value in (
        ("gpg.format", "ssh"),
        ("user.signingkey", f"key::{public}"),
        ("gpg.ssh.allowedSignersFile", str(allowed)),
    ):
        run(env, "git", "-C", str(clone), "config", key, value)
    (clone / "file").write_text("signed\n")
    run(env, "git", "-C", str(clone), "add", "file")
    run(env, "git", "-C", str(clone), "commit", "-q", "-S", "-m", "signed by credd")
    verified = run(env, "git", "-C", str(clone), "verify-commit", "HEAD")
    assert 'Good "git" signature for t@example.invalid' in verified.stderr
    run(env, "git", "-C", str(clone), "push", "-q", "origin", "HEAD:main")
    log = run(env, "git", "--git-dir", str(bare), "log", "--format=%s").stdout
    assert log.strip() == "signed by credd"


def test_a_key_restricted_to_ssh_keygen_signs_commits_but_logs_in_nowhere(
    agent_env: dict[str, str], sshd: LoginSshd, short_tmp: Path
) -> None:
    public = run(
        agent_env, "credd", "ssh-key", "generate", "ssh:signing", "--allow-program", "ssh-keygen"
    ).stdout.strip()
    sshd.authorize(public)
    refused = run(agent_env, *sshd.ssh(agent_env["SSH_AUTH_SOCK"]), "true", check=False)
    assert refused.returncode == 255
    message = short_tmp / "message"
    message.write_text("hello\n")
    pub = short_tmp / "signing.pub"
    pub.write_text(public + "\n")
    run(agent_env, "ssh-keygen", "-Y", "sign", "-f", str(pub), "-n", "git", str(message))
    assert (short_tmp / "message.sig").read_text().startswith("-----BEGIN SSH SIGNATURE-----")
    outcomes = [(r["exe"], r["outcome"]) for r in audit_records(agent_env, "ssh-sign", at_least=2)]
    assert (os.path.realpath(require_program("ssh")), "forbidden") in outcomes
    assert (os.path.realpath(require_program("ssh-keygen")), "ok") in outcomes


# --- ssh-add: add, lifetime, stop offering, constraints, lock -------------------------------------


def test_ssh_add_stores_keys_and_d_only_stops_offering_them(
    agent_env: dict[str, str], keys_folder: Path
) -> None:
    first = make_key(keys_folder, "id_first", "ed25519", [])
    second = make_key(keys_folder, "id_second", "ecdsa", ["-b", "256"])
    run(agent_env, "ssh-add", str(first), str(second))
    # Through the protocol there is no file name: the name comes from the key's comment.
    names = run(agent_env, "credd", "ssh-key", "list").stdout
    assert "ssh:id_first@test" in names
    assert "ssh:id_second@test" in names
    run(agent_env, "ssh-add", "-d", str(first))
    assert run(agent_env, "ssh-add", "-l").stdout.split()[1] == fingerprint(second)
    run(agent_env, "ssh-add", "-D")
    assert run(agent_env, "ssh-add", "-l", check=False).returncode == 1
    keys = json.loads(run(agent_env, "credd", "ssh-key", "list", "--json").stdout)["keys"]
    assert [(k["name"], k["offered"]) for k in keys] == [
        ("ssh:id_first@test", False),
        ("ssh:id_second@test", False),
    ]
    run(agent_env, "credd", "ssh-key", "offer", "ssh:id_second@test")
    run(agent_env, "ssh-add", str(first))  # adding it again offers it again
    listed = [line.split()[1] for line in run(agent_env, "ssh-add", "-l").stdout.splitlines()]
    assert listed == [fingerprint(first), fingerprint(second)]
    run(agent_env, "credd", "ssh-key", "order", "ssh:id_second@test")
    listed = [line.split()[1] for line in run(agent_env, "ssh-add", "-l").stdout.splitlines()]
    assert listed == [fingerprint(second), fingerprint(first)]
    run(agent_env, "credd", "ssh-key", "delete", "ssh:id_first@test")
    assert run(agent_env, "ssh-add", "-l").stdout.split()[1] == fingerprint(second)


def test_a_lifetime_is_honoured_and_other_constraints_are_refused(
    agent_env: dict[str, str], keys_folder: Path
) -> None:
    key = make_key(keys_folder, "id_timed", "ed25519", [])
    confirm = run(agent_env, "ssh-add", "-c", str(key), check=False)
    assert confirm.returncode != 0
    assert run(agent_env, "credd", "ssh-key", "list").stdout == ""  # nothing stored
    run(agent_env, "ssh-add", "-t", "1", str(key))
    assert fingerprint(key) in run(agent_env, "ssh-add", "-l").stdout
    import time

    time.sleep(1.5)
    assert run(agent_env, "ssh-add", "-l", check=False).returncode == 1
    assert "ssh:id_timed@test" in run(agent_env, "credd", "ssh-key", "list").stdout  # still held


def test_ssh_add_x_locks_credd_and_X_unlocks_it(
    agent_env: dict[str, str], keys_folder: Path
) -> None:
    key = make_key(keys_folder, "id_lock", "ed25519", [])
    run(agent_env, "credd", "ssh-key", "import", str(key))
    run(agent_env, "ssh-add", "-x", input="anything\nanything\n")
    assert json.loads(run(agent_env, "credd", "status", "--json").stdout)["locked"] is True
    assert run(agent_env, "ssh-add", "-l", check=False).returncode == 1  # a locked credd lists none
    run(agent_env, "ssh-add", "-X", input="ignored-for-a-key-file\n")
    assert json.loads(run(agent_env, "credd", "status", "--json").stdout)["locked"] is False
    assert fingerprint(key) in run(agent_env, "ssh-add", "-l").stdout


# --- import --remove-source, backup and restore, views ------------------------------------------


def test_import_remove_source_leaves_only_the_pub_files(
    agent_env: dict[str, str], short_tmp: Path
) -> None:
    ssh = Path(agent_env["HOME"]) / ".ssh"
    ssh.mkdir(mode=0o700, exist_ok=True)
    key = make_key(ssh, "id_ed25519", "ed25519", [])
    encrypted = make_key(ssh, "id_rsa", "rsa", ["-b", "2048"], passphrase="pass phrase")
    security = ssh / "id_ed25519_sk"
    security.write_text("a FIDO key file: never read\n")
    (ssh / "id_ed25519-cert.pub").write_text("a certificate: skipped\n")
    # An encrypted key asks its passphrase on a terminal: without one, nothing is stored.
    refused = run(
        agent_env,
        "credd",
        "import",
        "ssh",
        "--remove-source",
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert refused.returncode == 2
    assert "asked on a terminal" in refused.stderr
    assert run(agent_env, "credd", "ssh-key", "list").stdout == ""
    encrypted.unlink()
    dry = run(agent_env, "credd", "import", "ssh", "--dry-run", "--remove-source")
    assert "would add" in dry.stdout
    assert key.exists()
    done = run(agent_env, "credd", "import", "ssh", "--remove-source")
    assert "FIDO security key" in done.stderr
    assert not key.exists()
    assert key.with_name("id_ed25519.pub").exists()
    assert security.exists()
    assert run(agent_env, "ssh-add", "-l").stdout.split()[1] == fingerprint(
        key.with_name("id_ed25519.pub")
    )


def test_a_backup_restored_on_a_new_home_keeps_the_key_usable(
    agent_env: dict[str, str], keys_folder: Path, sshd: LoginSshd, short_tmp: Path
) -> None:
    public = run(
        agent_env, "credd", "ssh-key", "generate", "ssh:backed-up", "--type", "ecdsa"
    ).stdout
    sshd.authorize(public)
    backup = short_tmp / "all.backup"
    run(agent_env, "credd", "backup", str(backup), input="a long passphrase\n")
    new_env = dict(agent_env)
    new_env["CREDD_HOME"] = str(short_tmp / "new-home")
    new_env["CREDD_SOCKET"] = str(short_tmp / "new-sock" / "credd.sock")
    new_env["SSH_AUTH_SOCK"] = agent_socket_path(new_env)
    assert new_env["SSH_AUTH_SOCK"] != agent_env["SSH_AUTH_SOCK"]
    with DaemonProcess(Path(new_env["CREDD_HOME"]), Path(new_env["CREDD_SOCKET"]), new_env):
        run(new_env, "credd", "restore", str(backup), input="a long passphrase\n")
        result = run(new_env, *sshd.ssh(new_env["SSH_AUTH_SOCK"]), "echo", "restored", check=False)
        assert result.stdout.strip() == "restored", result.stderr


def test_a_view_never_writes_an_ssh_key(agent_env: dict[str, str], short_tmp: Path) -> None:
    run(agent_env, "credd", "ssh-key", "generate", "ssh:kept")
    view = Path(
        run(agent_env, "credd", "view", "add", "w", "--allow", "ssh:*", "--write").stdout.strip()
    )
    from tests.support.daemon import raw_request

    body = json.dumps({"secret": "replaced"}).encode()
    assert raw_request(view, "PUT", "/v1/credentials/ssh%3Akept", body)[0] == 403
    assert raw_request(view, "DELETE", "/v1/credentials/ssh%3Akept")[0] == 403
    assert raw_request(view, "GET", "/v1/ssh-keys")[0] == 403
    key = {"kind": "ssh-key", "secret": "x"}
    assert raw_request(view, "PUT", "/v1/credentials/ssh%3Anew", json.dumps(key).encode())[0] == 400
    status, answer = raw_request(view, "GET", "/v1/credentials/ssh%3Akept")
    assert status == 200
    assert json.loads(answer)["secret"].startswith("ssh-ed25519 ")


def test_status_shows_the_agent_and_warns_of_another(agent_env: dict[str, str]) -> None:
    shown = run(agent_env, "credd", "status").stdout
    assert f"ssh agent:   {agent_env['SSH_AUTH_SOCK']}\n" in shown
    assert "WARNING: SSH_AUTH_SOCK" not in shown
    other = {**agent_env, "SSH_AUTH_SOCK": "/tmp/ssh-XXXX/agent.1"}
    assert "SSH_AUTH_SOCK points at another agent" in run(other, "credd", "status").stdout
    state = json.loads(run(other, "credd", "status", "--json").stdout)["ssh_agent"]
    assert state["listening"] is True
    assert state["other_agent"] is True
    # Units written before the agent existed: told to install again.
    units = Path(agent_env["XDG_CONFIG_HOME"]) / "systemd" / "user"
    units.mkdir(parents=True)
    (units / "credd.socket").write_text("[Socket]\n")
    assert "run `credd service install` again" in run(agent_env, "credd", "status").stdout


# --- forwarding: a view's agent offers the named keys only -------------------------------------


def test_a_views_agent_lists_and_signs_with_its_keys_only(
    agent_env: dict[str, str], keys_folder: Path, sshd: LoginSshd
) -> None:
    allowed = make_key(keys_folder, "id_work", "ed25519", [])
    other = make_key(keys_folder, "id_home", "ed25519", [])
    restricted = make_key(keys_folder, "id_signing", "ed25519", [])
    run(agent_env, "credd", "ssh-key", "import", str(allowed), str(other))
    run(agent_env, "credd", "ssh-key", "import", str(restricted), "--allow-program", "ssh")
    made = json.loads(
        run(
            agent_env,
            "credd",
            "view",
            "add",
            "fwd",
            "--ssh-key",
            "ssh:id_work",
            "ssh:id_signing",
            "--json",
        ).stdout
    )
    view_agent = made["agent_socket"]
    # In the home's views folder: views/ for the default home, views-<digest>/ for this one.
    assert Path(view_agent).name == "fwd.agent.sock"
    assert Path(view_agent).parent.name.startswith("views")
    assert made["patterns"] == []
    through = {**agent_env, "SSH_AUTH_SOCK": view_agent}
    # The key restricted to a program is never served through a view.
    listed = run(through, "ssh-add", "-l").stdout.splitlines()
    assert [line.split()[1] for line in listed] == [fingerprint(allowed)]
    # It never adds, removes or locks.
    assert run(through, "ssh-add", str(other), check=False).returncode != 0
    assert run(through, "ssh-add", "-D", check=False).returncode != 0
    assert run(through, "ssh-add", "-x", check=False, input="p\np\n").returncode != 0
    sshd.authorize(allowed.with_suffix(".pub").read_text())
    assert run(through, *sshd.ssh(view_agent), "true", check=False).returncode == 0
    sshd.authorize(other.with_suffix(".pub").read_text())
    assert run(through, *sshd.ssh(view_agent), "true", check=False).returncode == 255
    signed = [r for r in audit_records(agent_env, "ssh-sign", at_least=1) if r["view"] == "fwd"]
    assert [r["outcome"] for r in signed] == ["ok"]
    run(agent_env, "credd", "view", "remove", "fwd")
    assert not Path(view_agent).exists()


# On the remote side: who it is, what its agent (sshd's SSH_AUTH_SOCK) lists, and a signature
# with each key through that agent, in files of its home.
REMOTE_SCRIPT = (
    'id -u; ssh-add -l; for key in id_work id_home; do echo "$key" > "$HOME/$key.txt"; '
    'ssh-keygen -Y sign -n file -f "$HOME/$key.pub" "$HOME/$key.txt" >/dev/null 2>&1; '
    'echo "$key signed: $?"; done'
)


@pytest.fixture
def remote_root() -> Iterator[Path]:
    """A folder (0755) under /tmp that a throwaway user can reach: its home and sshd's
    authorized_keys, which sshd reads as the user logging in."""
    path = Path(tempfile.mkdtemp(prefix="cdr", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_credd_ssh_agent_forwards_only_the_named_keys_to_a_remote_user(
    agent_env: dict[str, str], keys_folder: Path, short_tmp: Path, remote_root: Path
) -> None:
    """Issue 20: `credd ssh --agent PATTERN user@host`, to a throwaway account on a real sshd
    that admits it by the allowed key: the remote lists that key only, signs with it, and
    signing with the other key fails there."""
    allowed = make_key(keys_folder, "id_work", "ed25519", [])
    other = make_key(keys_folder, "id_home", "ecdsa", ["-b", "256"])
    run(agent_env, "credd", "ssh-key", "import", str(allowed), str(other))
    (remote_root / "sshd").mkdir(mode=0o755)
    with (
        ThrowawayUser(remote_root / "home") as remote,
        LoginSshd(remote_root / "sshd", user=remote.name) as sshd,
    ):
        sshd.authorize(allowed.with_suffix(".pub").read_text())  # the login takes the agent's key
        for key in (allowed, other):
            public = remote.home / f"{key.name}.pub"
            public.write_text(key.with_suffix(".pub").read_text())
            remote.own(public)
        ssh = sshd.ssh(agent_env["SSH_AUTH_SOCK"])
        destination, options = ssh[-1], ssh[1:-3]  # ssh's options after the destination
        assert destination == f"{remote.name}@127.0.0.1"
        session = run(
            agent_env,
            "credd",
            "ssh",
            "--agent",
            "ssh:id_work",
            destination,
            "-p",
            str(sshd.port),
            *options,
            "--",
            REMOTE_SCRIPT,
        )
        uid, *listed, work, home = session.stdout.splitlines()
        assert int(uid) == remote.uid != 0
        # sshd set SSH_AUTH_SOCK to the forwarded agent: it lists one key, the allowed one.
        assert [line.split()[1] for line in listed] == [fingerprint(allowed)]
        assert (work, home) == ("id_work signed: 0", "id_home signed: 255")
        assert not (remote.home / "id_home.txt.sig").exists()
        signers = short_tmp / "allowed_signers"
        signers.write_text("work " + allowed.with_suffix(".pub").read_text())
        verified = run(
            agent_env,
            "ssh-keygen",
            *("-Y", "verify", "-f", str(signers), "-I", "work", "-n", "file"),
            *("-s", str(remote.home / "id_work.txt.sig")),
            input="id_work\n",
        )
        assert "Good" in verified.stdout
    views = json.loads(run(agent_env, "credd", "view", "list", "--json").stdout)
    assert [(v["patterns"], v["ssh_keys"]) for v in views] == [([], ["ssh:id_work"])]
    signed = [r for r in audit_records(agent_env, "ssh-sign", at_least=2) if r["view"]]
    # The login's signature went through the main agent; the remote's through the view.
    assert [(r["name"], r["outcome"]) for r in signed] == [("ssh:id_work", "ok")]


def test_ssh_add_X_takes_the_passphrase_of_a_passphrase_store(
    headless_credd_env: dict[str, str], keys_folder: Path
) -> None:
    from tests.support.terminal import run_on_terminal

    env = dict(headless_credd_env)
    env["SSH_AUTH_SOCK"] = agent_socket_path(env)
    home = Path(env["CREDD_HOME"])
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text('key_backend = "passphrase"\n')
    passphrase = "a long passphrase, typed"
    with DaemonProcess(home, Path(env["CREDD_SOCKET"]), env):
        # No store yet: its passphrase is chosen with credd unlock, not with ssh-add -X.
        assert run(env, "ssh-add", "-X", input=passphrase + "\n", check=False).returncode != 0
        credd = str(Path(env["PATH"].split(os.pathsep)[0]) / "credd")
        code, screen = run_on_terminal(
            [credd, "unlock"], env, [("New passphrase: ", passphrase), ("Repeat it: ", passphrase)]
        )
        assert code == 0, screen
        key = make_key(keys_folder, "id_pass", "ed25519", [])
        run(env, "credd", "ssh-key", "import", str(key))
        run(env, "ssh-add", "-x", input="x\nx\n")
        assert run(env, "ssh-add", "-l", check=False).returncode == 1
        assert run(env, "ssh-add", "-X", input="wrong passphrase\n", check=False).returncode != 0
        assert json.loads(run(env, "credd", "status", "--json").stdout)["locked"] is True
        run(env, "ssh-add", "-X", input=passphrase + "\n")
        assert fingerprint(key) in run(env, "ssh-add", "-l").stdout
