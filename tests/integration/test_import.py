"""`credd import` from git's and docker's plaintext files, a JSON file and the real Secret
Service; interrupted imports (a write that fails, a locked or absent daemon) leave the source
byte for byte as it was."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from credd_client import Client, InvalidRequest
from tests.support.cli import credd
from tests.support.daemon import DaemonProcess
from tests.support.requirements import require_program
from tests.support.secret_service import SecretService

pytestmark = pytest.mark.integration

GIT_CREDENTIALS = (
    "https://octo%40corp:p%40ss%3Aw%2Frd@github.com\n"
    "\n"
    "https://bot:tok-2@git.example.com:8443/team/repo.git\n"
)


def names(env: dict[str, str]) -> list[str]:
    return sorted(line.split("\t")[0] for line in credd(env, "list").stdout.splitlines())


def git_fill(env: dict[str, str], request: str) -> str:
    program = shutil.which("git-credential-credd", path=env["PATH"])
    assert program is not None
    return subprocess.run(
        [program, "get"], env=env, input=request, capture_output=True, text=True, check=True
    ).stdout


def test_git_credentials_dry_run_import_idempotent_remove(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    env = headless_credd_env
    source = Path(env["HOME"]) / ".git-credentials"
    source.write_text(GIT_CREDENTIALS)

    dry = credd(env, "import", "git", "--dry-run", "--remove-source")
    assert dry.returncode == 0, dry.stderr
    assert "would add     git:https://octo%40corp@github.com (line 1)\n" in dry.stdout
    assert "dry run: 2 to add\n" in dry.stdout
    assert "would clear" in dry.stdout
    assert "p%40ss" not in dry.stdout
    assert "tok-2" not in dry.stdout
    assert names(env) == []
    assert source.read_text() == GIT_CREDENTIALS

    first = credd(env, "import", "git")
    assert first.returncode == 0, first.stderr
    assert names(env) == [
        "git:https://bot@git.example.com:8443/team/repo.git",
        "git:https://octo%40corp@github.com",
    ]
    answer = git_fill(env, "protocol=https\nhost=github.com\n\n")
    assert "username=octo@corp\npassword=p@ss:w/rd\n" in answer
    again = credd(env, "import", "git")
    assert "2 unchanged" in again.stdout
    assert source.read_text() == GIT_CREDENTIALS

    removed = credd(env, "import", "git", "--remove-source")
    assert removed.returncode == 0, removed.stderr
    assert not source.exists()


def test_conflicts_are_kept_and_block_removal(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    env = headless_credd_env
    source = Path(env["HOME"]) / ".git-credentials"
    source.write_text("https://u:old@h.test\n")
    credd(env, "set", "git:https://u@h.test", "--username", "u", input="newer")
    result = credd(env, "import", "git", "--remove-source")
    assert result.returncode == 1
    assert "conflict" in result.stdout
    assert credd(env, "get", "git:https://u@h.test").stdout == "newer\n"
    assert source.read_text() == "https://u:old@h.test\n"
    overwrite = credd(env, "import", "git", "--overwrite", "--remove-source")
    assert overwrite.returncode == 0, overwrite.stderr
    assert credd(env, "get", "git:https://u@h.test").stdout == "old\n"
    assert not source.exists()


def test_docker_config_auths_move_and_credsstore_is_set(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], short_tmp: Path
) -> None:
    docker_dir = short_tmp / "docker"
    docker_dir.mkdir()
    env = {**headless_credd_env, "DOCKER_CONFIG": str(docker_dir)}
    config = {
        "auths": {
            "https://index.docker.io/v1/": {"auth": base64.b64encode(b"octo:dckr_pat").decode()},
            "ghcr.io": {"identitytoken": "id-tok"},
            "quay.io": {},
        },
        "HttpHeaders": {"User-Agent": "x"},
    }
    path = docker_dir / "config.json"
    path.write_text(json.dumps(config, indent="\t"))
    path.chmod(0o600)
    result = credd(env, "import", "docker", "--remove-source")
    assert result.returncode == 0, result.stderr
    assert names(env) == ["docker:ghcr.io", "docker:https://index.docker.io/v1/"]
    after = json.loads(path.read_text())
    assert after == {
        "auths": {"https://index.docker.io/v1/": {}, "ghcr.io": {}, "quay.io": {}},
        "HttpHeaders": {"User-Agent": "x"},
        "credsStore": "credd",
    }
    assert path.stat().st_mode & 0o777 == 0o600
    helper = shutil.which("docker-credential-credd", path=env["PATH"])
    assert helper is not None
    got = subprocess.run(
        [helper, "get"], env=env, input="ghcr.io\n", capture_output=True, text=True, check=True
    )
    assert json.loads(got.stdout) == {
        "ServerURL": "ghcr.io",
        "Username": "<token>",
        "Secret": "id-tok",
    }


def test_docker_without_a_config_makes_one_with_credd_as_the_store(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], short_tmp: Path
) -> None:
    docker_dir = short_tmp / "fresh" / "docker"
    env = {**headless_credd_env, "DOCKER_CONFIG": str(docker_dir)}
    assert credd(env, "import", "docker", "--dry-run", "--remove-source").returncode == 0
    assert not docker_dir.exists()
    result = credd(env, "import", "docker", "--remove-source")
    assert result.returncode == 0, result.stderr
    config = docker_dir / "config.json"
    assert json.loads(config.read_text()) == {"credsStore": "credd"}
    assert (config.stat().st_mode & 0o777, docker_dir.stat().st_mode & 0o777) == (0o600, 0o700)


def test_a_json_file_is_detected(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], short_tmp: Path
) -> None:
    env = headless_credd_env
    path = short_tmp / "export.json"
    document = {
        "credentials": [
            {"name": "pypi", "secret": "pypi-tok", "username": "__token__", "labels": {"a": "b"}},
            {"name": "api key", "secret": "k", "created_at": "2025-01-01T00:00:00Z"},
        ]
    }
    path.write_text(json.dumps(document))
    result = credd(env, "import", str(path), "--remove-source")
    assert result.returncode == 0, result.stderr
    assert f"{path} (json)" in result.stdout
    assert names(env) == ["api key", "pypi"]
    got = json.loads(credd(env, "get", "pypi", "--json").stdout)
    assert (got["secret"], got["username"], got["labels"]) == ("pypi-tok", "__token__", {"a": "b"})
    assert not path.exists()

    bad = short_tmp / "bad.json"
    bad.write_text('{"credentials": [{"name": "x", "secret": "leak-canary"')
    refused = credd(env, "import", str(bad))
    assert refused.returncode == 2
    assert "leak-canary" not in refused.stdout + refused.stderr


def test_a_write_that_fails_leaves_the_store_and_the_source_as_they_were(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    """The store may grow only so far (RLIMIT_FSIZE on the running daemon): the import's one
    commit fails, so none of it is written and the source stays byte for byte; a second run
    completes it."""
    prlimit = require_program("prlimit")
    env = headless_credd_env
    source = Path(env["HOME"]) / ".git-credentials"
    big = "x" * 20000
    source.write_text("".join(f"https://u:{big}{i}@host{i}.test\n" for i in range(6)))
    original = source.read_bytes()
    credd(env, "set", "first", input="1")  # the store exists, small
    limit = ["--pid", str(headless_daemon.pid)]
    subprocess.run([prlimit, *limit, "--fsize=50000:"], check=True)
    failed = credd(env, "import", "git", "--remove-source")
    assert failed.returncode != 0
    assert "write" in failed.stderr.lower() or "space" in failed.stderr.lower(), failed.stderr
    assert big not in failed.stdout + failed.stderr
    assert source.read_bytes() == original
    assert names(env) == ["first"]  # all or nothing

    subprocess.run([prlimit, *limit, "--fsize=unlimited:"], check=True)
    done = credd(env, "import", "git", "--remove-source")
    assert done.returncode == 0, done.stderr
    assert "6 added" in done.stdout
    assert len(names(env)) == 7
    assert not source.exists()


def test_ten_thousand_lines_are_one_request_and_one_commit(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    """Not timed (see benchmarks/importing.py): the audit log shows one write, the import,
    where a request per credential took minutes."""
    env = headless_credd_env
    count = 10_000
    source = Path(env["HOME"]) / ".git-credentials"
    source.write_text("".join(f"https://u{i}:pw-{i}@host{i}.test/r{i}\n" for i in range(count)))
    done = credd(env, "import", "git", "--remove-source")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{count} added\n" in done.stdout
    assert not source.exists()
    listing = json.loads(credd(env, "list", "--json").stdout)["credentials"]
    assert len(listing) == count
    audit = [json.loads(line) for line in credd(env, "audit", "--json").stdout.splitlines()]
    writes = [r["op"] for r in audit if r["op"] not in ("get", "list")]
    assert writes == ["import", "import"]  # the commit, and the read back (a dry run)
    answer = git_fill(env, "protocol=https\nhost=host9999.test\npath=r9999\n\n")
    assert "username=u9999\npassword=pw-9999\n" in answer


def test_a_locked_or_absent_daemon_leaves_the_source_intact(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    env = headless_credd_env
    source = Path(env["HOME"]) / ".git-credentials"
    source.write_text(GIT_CREDENTIALS)
    original = source.read_bytes()
    assert credd(env, "lock").returncode == 0
    locked = credd(env, "import", "git", "--remove-source")
    assert locked.returncode == 1
    assert source.read_bytes() == original
    headless_daemon.kill()
    gone = credd(env, "import", "git", "--remove-source")
    assert gone.returncode == 3
    assert source.read_bytes() == original


def test_keyring_items_move_from_the_secret_service(
    daemon: DaemonProcess, credd_env: dict[str, str], secret_service: SecretService
) -> None:
    env = credd_env
    store_item = (
        "import keyring, sys\n"
        "from keyring.backends.SecretService import Keyring\n"
        "Keyring().set_password('https://pypi.example/', 'alice', 'kr-secret')\n"
    )
    python = shutil.which("python", path=env["PATH"])
    assert python is not None
    subprocess.run([python, "-c", store_item], env=env, check=True, timeout=30)
    args = ("import", "keyring", "--service", "https://pypi.example/", "--user", "alice")

    selfish = credd(
        {**env, "PYTHON_KEYRING_BACKEND": "credd_client.keyring_backend.CreddKeyring"}, *args
    )
    assert selfish.returncode == 2
    assert "credd itself" in selfish.stderr

    absent = credd(env, "import", "keyring", "--service", "https://pypi.example/", "--user", "bob")
    assert absent.returncode == 2
    assert "'bob'" in absent.stderr

    moved = credd(env, *args, "--remove-source")
    assert moved.returncode == 0, moved.stderr
    assert names(env) == ["keyring:alice@https://pypi.example/"]
    assert credd(env, "get", "keyring:alice@https://pypi.example/").stdout == "kr-secret\n"
    read_back = (
        "from keyring.backends.SecretService import Keyring\n"
        "print(Keyring().get_password('https://pypi.example/', 'alice'))\n"
    )
    after = subprocess.run(
        [python, "-c", read_back], env=env, capture_output=True, text=True, check=True, timeout=30
    )
    assert after.stdout == "None\n"


def test_a_credential_restricted_to_other_programs_refuses_the_whole_import(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], short_tmp: Path
) -> None:
    """Comparing reads the stored secret: as a `get` would, the restriction refuses it."""
    env = headless_credd_env
    body = json.dumps({"secret": "held", "allowed_programs": ["/usr/bin/true"]})
    assert credd(env, "set", "guarded", "--json", input=body).returncode == 0
    path = short_tmp / "export.json"
    document = {"credentials": [{"name": "new", "secret": "n"}, {"name": "guarded", "secret": "g"}]}
    path.write_text(json.dumps(document))
    refused = credd(env, "import", str(path), "--remove-source")
    assert refused.returncode == 1
    assert "may not read 'guarded'" in refused.stderr
    assert names(env) == ["guarded"]
    assert path.exists()
    duplicate = {"credentials": [{"name": "a", "secret": "1"}, {"name": "a", "secret": "2"}]}
    with Client(env["CREDD_SOCKET"]) as client:
        with pytest.raises(InvalidRequest, match="same name"):
            client.import_credentials(duplicate["credentials"])
        # An import body may pass the 1 MiB of other requests.
        many = [{"name": f"n{i}", "secret": "s" * 200} for i in range(6000)]
        results, written = client.import_credentials(many, dry_run=True)
        assert (len(results), written) == (6000, False)
