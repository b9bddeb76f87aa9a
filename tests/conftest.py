"""Fixtures shared by every test: short temporary folders, a real Secret Service, the daemon.

- ``secret_service`` (session): a private dbus-daemon and an unlocked gnome-keyring.
- ``short_tmp``: a fresh folder ``/tmp/cdXXXXXXXX`` (AF_UNIX paths are short), removed after.
- ``credd_env`` / ``headless_credd_env``: a whole environment for `credd serve` or the CLI,
  with or without the Secret Service; see ``_credd_env`` for the layout.
- ``daemon`` / ``headless_daemon``: ``credd serve`` started with that environment, ready;
  stopped at the end, and it must then exit 0 (unless the test stopped or killed it itself).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.daemon import DaemonProcess
from tests.support.requirements import require_program
from tests.support.secret_service import SecretService, headless_env

# The caller's settings that would point credd or keyring somewhere else.
_FOREIGN_VARS = ("PYTHON_KEYRING_BACKEND",)


@pytest.fixture(scope="session")
def secret_service() -> Iterator[SecretService]:
    for program in ("dbus-daemon", "gnome-keyring-daemon", "dbus-send"):
        require_program(program)
    with SecretService() as service:
        yield service


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="cd", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _credd_env(root: Path, bus_address: str | None) -> dict[str, str]:
    """os.environ with everything credd reads pointed inside ``root``.

    root/home      HOME, XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_CACHE_HOME (fresh per test)
    root/run       XDG_RUNTIME_DIR (0700)
    root/state     CREDD_HOME (not created: the daemon makes it)
    root/sock/     the folder of CREDD_SOCKET (not created: the daemon makes it)
    DBUS_SESSION_BUS_ADDRESS  the Secret Service's bus, or a dead path (headless)
    PATH           starts with this venv's bin folder (credd, git-credential-credd, ...)
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CREDD_") and key not in _FOREIGN_VARS
    }
    env.update(headless_env(root))
    if bus_address is not None:
        env["DBUS_SESSION_BUS_ADDRESS"] = bus_address
    env["CREDD_HOME"] = str(root / "state")
    env["CREDD_SOCKET"] = str(root / "sock" / "credd.sock")
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    return env


@pytest.fixture
def credd_env(secret_service: SecretService, short_tmp: Path) -> dict[str, str]:
    return _credd_env(short_tmp, secret_service.env["DBUS_SESSION_BUS_ADDRESS"])


@pytest.fixture
def headless_credd_env(short_tmp: Path) -> dict[str, str]:
    return _credd_env(short_tmp, None)


def _run_daemon(env: dict[str, str]) -> Iterator[DaemonProcess]:
    daemon = DaemonProcess(Path(env["CREDD_HOME"]), Path(env["CREDD_SOCKET"]), env)
    with daemon:
        yield daemon
        if not daemon.stopped:
            code = daemon.stop()
            assert code == 0, f"credd serve exited with {code}\n{daemon.log_text()}"


@pytest.fixture
def daemon(credd_env: dict[str, str]) -> Iterator[DaemonProcess]:
    yield from _run_daemon(credd_env)


@pytest.fixture
def headless_daemon(headless_credd_env: dict[str, str]) -> Iterator[DaemonProcess]:
    yield from _run_daemon(headless_credd_env)
