"""A machine with only the client: the credd-client wheel alone, in a fresh venv.

Its `credd` runs the client-side commands against a real daemon (started from this
checkout, as on the developer's machine a view or a socket would serve it), and answers
the daemon's commands by naming the package that brings them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from credd_client import __version__
from credd_client.cli import DAEMON_COMMANDS, EXIT_NO_DAEMON_PACKAGE
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.integration

CLIENT = Path(__file__).resolve().parents[2] / "client"


@pytest.fixture(scope="module")
def client_only_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a venv holding credd-client and nothing else."""
    work = tmp_path_factory.mktemp("client-only")
    source = work / "source"  # a copy: building writes build/ and *.egg-info beside it
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(CLIENT / name, source / name)
    shutil.copytree(
        CLIENT / "credd_client",
        source / "credd_client",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", "dist", "."],
        cwd=source,
    )
    (wheel,) = (source / "dist").glob("credd_client-*.whl")
    venv = work / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-index",
            str(wheel),
        ]
    )
    return venv / "bin"


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def client_env(env: dict[str, str], bin_dir: Path) -> dict[str, str]:
    """The daemon's socket, and a PATH and Python path that know nothing of this checkout."""
    clean = {k: v for k, v in env.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    clean["PATH"] = os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])
    return clean


def credd(
    bin_dir: Path, env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "credd"), *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_venv_has_the_client_alone(client_only_bin: Path) -> None:
    python = str(client_only_bin / "python")
    probe = "import importlib.util as u; print(u.find_spec('credd'), u.find_spec('fastapi'))"
    found = run([python, "-I", "-c", probe])
    assert found.stdout.split() == ["None", "None"]
    assert sorted(p.name for p in client_only_bin.iterdir() if "credd" in p.name) == [
        "credd",
        "docker-credential-credd",
        "git-credential-credd",
    ]


def test_client_side_commands_work_with_the_client_alone(
    client_only_bin: Path, headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    env = client_env(headless_credd_env, client_only_bin)
    name = "git:https://example.test/team one"

    stored = credd(client_only_bin, env, "set", name, "--username", "me", input="s3cret\n")
    assert stored.returncode == 0, stored.stderr
    got = credd(client_only_bin, env, "get", name)
    assert (got.returncode, got.stdout, got.stderr) == (0, "s3cret\n", "")
    whole = credd(client_only_bin, env, "get", "--json", name)
    assert '"username": "me"' in whole.stdout
    listed = credd(client_only_bin, env, "list")
    assert listed.stdout == f"{name}\tsecret\tme\t\n"
    status = credd(client_only_bin, env, "status")
    assert status.returncode == 0, status.stderr
    assert f"credd {__version__}: running, pid {headless_daemon.pid}" in status.stdout
    assert credd(client_only_bin, env, "delete", name).returncode == 0
    missing = credd(client_only_bin, env, "get", name)
    assert (missing.returncode, missing.stdout) == (4, "")


def test_a_daemon_command_names_the_package_that_brings_it(
    client_only_bin: Path, headless_credd_env: dict[str, str]
) -> None:
    env = client_env(headless_credd_env, client_only_bin)
    for command in ("serve", "import", "login"):
        result = credd(client_only_bin, env, command, "--help")
        assert result.returncode == EXIT_NO_DAEMON_PACKAGE
        assert f"`credd {command}` is a daemon command" in result.stderr
        assert "pip install credd" in result.stderr
    helped = credd(client_only_bin, {**env, "COLUMNS": "200"}, "--help")
    assert helped.returncode == 0
    lines = [*helped.stdout.splitlines(), ""]
    mark = "(daemon: not installed)"
    for command in DAEMON_COMMANDS:
        # argparse puts the help of a long command name on the line after it.
        assert any(
            line.split()[:1] == [command]
            and (line.endswith(mark) or (line.split() == [command] and lines[i + 1].endswith(mark)))
            for i, line in enumerate(lines[:-1])
        ), command
    version = credd(client_only_bin, env, "--version")
    assert version.stdout == f"credd {__version__}\n"


def test_no_daemon_running_is_exit_3(
    client_only_bin: Path, headless_credd_env: dict[str, str]
) -> None:
    env = client_env(headless_credd_env, client_only_bin)
    result = credd(client_only_bin, env, "get", "anything")
    assert result.returncode == 3
    assert "no daemon answers" in result.stderr
