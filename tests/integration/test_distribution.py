"""Installing credd as a user would: `make dist` and a fresh venv, and the README's command
that installs it from a checkout as a user's tool (uv, into a temporary HOME).

Each installs from the built files or the checkout plus the package index, never from this
venv, then runs `credd --version` and both helpers with no daemon (their documented answers).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from credd import __version__
from tests.support.requirements import require_program

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
# The README gives exactly this command (checked below, then run): the tool is the client's
# distribution, whose `credd` is the one command, with the daemon's beside it.
TOOL_INSTALL = "uv tool install --with . ./client"


def clean_env(home: Path) -> dict[str, str]:
    """No trace of this venv or of a running credd: a new user's shell."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CREDD_", "VIRTUAL_ENV", "PYTHON", "UV_"))
    }
    path = [p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(REPO))]
    runtime = home / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return {
        **env,
        "HOME": str(home),
        "PATH": os.pathsep.join(path),
        "XDG_RUNTIME_DIR": str(runtime),
        "CREDD_SOCKET": str(runtime / "nobody-here.sock"),
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={runtime}/no-bus",
    }


def run(args: list[str], env: dict[str, str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


def check_installed(bin_dir: Path, env: dict[str, str]) -> None:
    version = run([str(bin_dir / "credd"), "--version"], env)
    assert version.returncode == 0, version.stderr
    assert __version__ in version.stdout
    # The one `credd` hands the daemon's commands to the daemon's package, installed beside.
    serve = run([str(bin_dir / "credd"), "serve", "--help"], env)
    assert serve.returncode == 0, serve.stderr
    assert "--log-file" in serve.stdout
    request = "protocol=https\nhost=example.test\n\n"
    git = run([str(bin_dir / "git-credential-credd"), "get"], env, input=request)
    assert (git.returncode, git.stdout) == (0, "")
    assert "credd serve" in git.stderr
    docker = run([str(bin_dir / "docker-credential-credd"), "get"], env, input="example.test")
    assert docker.returncode != 0
    assert docker.stdout.strip() == "credentials not found in native keychain"


@pytest.mark.timeout(900)
def test_make_dist_builds_both_distributions_installable_from_the_files(tmp_path: Path) -> None:
    require_program("make")
    dist = tmp_path / "dist"
    built = run(["make", "dist", f"DIST={dist}"], {**os.environ}, cwd=REPO)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert "PASSED" in built.stdout  # twine check
    assert sorted(p.name for p in dist.iterdir()) == [
        f"credd-{__version__}-py3-none-any.whl",
        f"credd-{__version__}.tar.gz",
        f"credd_client-{__version__}-py3-none-any.whl",
        f"credd_client-{__version__}.tar.gz",
    ]

    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    venv = tmp_path / "venv"
    made = run([sys.executable, "-m", "venv", str(venv)], env)
    assert made.returncode == 0, made.stderr
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    installed = run([*pip, "install", "--find-links", str(dist), "credd"], env, cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    # Both came from the built wheels (the index has no credd-client at this version).
    for name in ("credd", "credd-client"):
        shown = run([*pip, "show", "--files", name], env)
        assert f"Version: {__version__}" in shown.stdout
        assert re.search(r"^Location: .*site-packages$", shown.stdout, re.MULTILINE)
    check_installed(venv / "bin", env)


def test_readme_gives_the_tool_install_command() -> None:
    assert f"\n{TOOL_INSTALL}\n" in (REPO / "README.md").read_text()


@pytest.mark.timeout(900)
def test_the_readme_tool_install_from_a_checkout(tmp_path: Path) -> None:
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        uv = Path(require_program("uv"))
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    env["PATH"] = os.pathsep.join([str(uv.parent), env["PATH"]])
    # uv's defaults under this HOME: ~/.local/share/uv/tools and ~/.local/bin.
    installed = run(["sh", "-c", TOOL_INSTALL], env, cwd=REPO)
    assert installed.returncode == 0, installed.stderr[-3000:]
    bin_dir = home / ".local" / "bin"
    assert sorted(p.name for p in bin_dir.iterdir()) == [
        "credd",
        "docker-credential-credd",
        "git-credential-credd",
    ]
    check_installed(bin_dir, env)
    removed = run(["sh", "-c", "uv tool uninstall credd-client"], env, cwd=REPO)
    assert removed.returncode == 0, removed.stderr
    assert not any(bin_dir.iterdir())
