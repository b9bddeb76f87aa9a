"""What a new user tripped on, tried again as the README says: every command answers
`--version`, `make install-helpers` replaces links without writing through them, the Go
section's whole `go.mod` builds offline, and `make run` and `make jvm` set up only what they
need. (The TypeScript package's fresh clone is in tests/clients/test_typescript.py.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from credd_client import __version__
from tests.support.cli import run_program
from tests.support.go import BIN, HELPERS, MODULE, go_env, go_program, helper_bin
from tests.support.requirements import require_program

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
COMMANDS = ("credd", "git-credential-credd", "docker-credential-credd")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_python_command_answers_version(command: str) -> None:
    venv_bin = str(Path(sys.executable).parent)  # where this venv's console scripts are
    done = run_program({**os.environ, "PATH": venv_bin}, command, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [command, __version__], done.stdout


@pytest.mark.parametrize("helper", HELPERS)
def test_every_native_helper_answers_version(helper: str) -> None:
    done = subprocess.run(
        [str(helper_bin() / helper), "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [helper, __version__], done.stdout


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_program("make"), "-C", str(REPO), *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_install_helpers_replaces_links_and_never_writes_through_them(tmp_path: Path) -> None:
    helper_bin()
    # As `uv tool install` leaves ~/.local/bin: links into its environment's Python helpers.
    tool_env = tmp_path / "uv" / "bin"
    tool_env.mkdir(parents=True)
    prefix = tmp_path / "local"
    (prefix / "bin").mkdir(parents=True)
    targets = {}
    for helper in HELPERS:
        target = tool_env / helper
        target.write_text("#!/bin/sh\necho the python helper\n")
        target.chmod(0o755)
        targets[helper] = target
        (prefix / "bin" / helper).symlink_to(target)
    done = _make("install-helpers", f"PREFIX={prefix}")
    assert done.returncode == 0, done.stdout + done.stderr
    for helper in HELPERS:
        installed = prefix / "bin" / helper
        assert not installed.is_symlink()
        assert installed.read_bytes() == (BIN / helper).read_bytes()
        assert installed.stat().st_mode & 0o777 == 0o755
        assert targets[helper].read_text() == "#!/bin/sh\necho the python helper\n"
    assert sorted(p.name for p in (prefix / "bin").iterdir()) == sorted(HELPERS)  # no leftovers
    # Again over the installed programs: the same result.
    assert _make("install-helpers", f"PREFIX={prefix}").returncode == 0
    assert (prefix / "bin" / HELPERS[0]).read_bytes() == (BIN / HELPERS[0]).read_bytes()


_USE_THE_CLIENT = """package main

import (
	"fmt"

	credd "credd.dev/go"
)

func main() {
	client, err := credd.New(credd.Options{Socket: "/nonexistent/credd.sock"})
	fmt.Println(client.Socket(), err)
}
"""


def test_the_go_mod_the_manual_shows_builds_offline(tmp_path: Path) -> None:
    page = (REPO / "docs" / "clients" / "go.md").read_text()
    found = re.search(r"```\n(module example\.com/mytool\n.*?)```", page, re.S)
    assert found, "the manual's Go page shows no whole go.mod"
    go_mod = found[1].replace("/path/to/credd/client/go", str(MODULE))
    assert "require credd.dev/go" in go_mod
    (tmp_path / "go.mod").write_text(go_mod)
    (tmp_path / "main.go").write_text(_USE_THE_CLIENT)
    env = go_env()
    env["GOFLAGS"] = ""  # as a user's plain `go build`: go.mod is used as written
    built = subprocess.run(
        [go_program(), "build", "-o", str(tmp_path / "mytool"), "."],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    ran = subprocess.run(
        [str(tmp_path / "mytool")], capture_output=True, text=True, timeout=30, check=False
    )
    assert ran.stdout.strip() == "/nonexistent/credd.sock <nil>", ran.stdout + ran.stderr


def _dry_run(target: str) -> str:
    """What `make TARGET` would run in a checkout with nothing set up yet (its own venv)."""
    venv = Path(tempfile.mkdtemp(prefix="cdmk")) / "venv"  # never made: a dry run
    done = _make("-n", "-B", target, f"VENV={venv}")
    venv.parent.rmdir()
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_run_installs_only_what_running_needs() -> None:
    commands = _dry_run("run")
    assert "install -q -c constraints.txt" in commands
    assert "credd serve" in commands
    for development_only in ("requirements-dev", "go build", "npm", "javac", "pytest", "mypy"):
        assert development_only not in commands, commands
    system = re.findall(r"scripts/install-system-deps( \w+)?$", commands, re.M)
    assert system == [" run"], commands


def test_make_jvm_installs_a_jdk_and_nothing_else() -> None:
    commands = _dry_run("jvm")
    assert "javac" in commands
    system = re.findall(r"scripts/install-system-deps( \w+)?$", commands, re.M)
    assert system == [" jvm"], commands
    for unrelated in ("pip", "npm", "go build"):
        assert unrelated not in commands, commands


def test_make_ts_client_installs_node_and_nothing_else() -> None:
    commands = _dry_run("ts-client")
    system = re.findall(r"scripts/install-system-deps( \w+)?$", commands, re.M)
    assert system == [" node"], commands
    for unrelated in ("pip", "javac", "go build"):
        assert unrelated not in commands, commands


def test_make_test_still_sets_up_everything() -> None:
    commands = _dry_run("test")
    system = re.findall(r"scripts/install-system-deps( \w+)?$", commands, re.M)
    assert "" in system, commands  # the whole set
    for step in ("requirements-dev", "go build", "javac", "npm ci", "pytest"):
        assert step in commands, step
