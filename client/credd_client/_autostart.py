"""Start a daemon on demand, when the user opted in (`CREDD_AUTOSTART=1`, `autostart = true`).

Imported only when no daemon answers. The client starts `credd serve` detached (its own
session, output appended to `credd.log` in the state folder) and waits a bounded time for the
socket to accept connections. Clients starting at once take turns on a lock file beside the
socket, so only one of them starts a daemon and the others find it running; the daemon
itself refuses to bind a socket a live daemon listens on, so a daemon started by hand at
the same moment is safe too.
"""

from __future__ import annotations

import os
import socket
import sys
import time

from ._paths import check_socket_folder, owner_alive
from .errors import DaemonUnavailable, InvalidRequest

TYPE_CHECKING = False  # see _paths.py: keeps `typing` out of the import
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

START_TIMEOUT = 10.0
LOG_ROTATE_BYTES = 10 * 1024 * 1024  # as `credd serve --log-file`: moved to credd.log.1 beyond
_POLL = 0.05
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def config_file(env: Mapping[str, str]) -> str:
    """Where `config.toml` is: the daemon's rule (platformdirs), written out for stdlib."""
    home = env.get("CREDD_HOME")
    if home:
        return os.path.join(os.path.abspath(os.path.expanduser(home)), "config.toml")
    return os.path.join(_platform_dir(env, "XDG_CONFIG_HOME", ".config"), "config.toml")


def state_dir(env: Mapping[str, str]) -> str:
    home = env.get("CREDD_HOME")
    if home:
        return os.path.abspath(os.path.expanduser(home))
    return _platform_dir(env, "XDG_DATA_HOME", os.path.join(".local", "share"))


def _platform_dir(env: Mapping[str, str], xdg_var: str, xdg_default: str) -> str:
    if sys.platform == "win32":
        return os.path.join(env.get("LOCALAPPDATA") or os.path.expanduser("~"), "credd")
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Application Support/credd")
    base = env.get(xdg_var) or os.path.join(os.path.expanduser("~"), xdg_default)
    return os.path.join(base, "credd")


def enabled(env: Mapping[str, str]) -> bool:
    """CREDD_AUTOSTART decides when set; otherwise `autostart` in config.toml (default off)."""
    value = env.get("CREDD_AUTOSTART", "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value:
        raise InvalidRequest(f"CREDD_AUTOSTART={value!r}: use 1 or 0")
    setting = config_document(env).get("autostart", False)
    if not isinstance(setting, bool):
        raise InvalidRequest(f"{config_file(env)}: option 'autostart' must be true or false")
    return setting


def config_document(env: Mapping[str, str]) -> dict[str, Any]:
    """config.toml as read (empty when there is none); `InvalidRequest` when unreadable."""
    path = config_file(env)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InvalidRequest(f"cannot read {path}: {exc.strerror or exc}") from None
    import tomllib

    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"{path}: {exc}") from None


def listening(path: str) -> bool:
    """True when something accepts connections on the socket (a daemon, maybe still starting)."""
    if sys.platform == "win32":
        return False  # no autostart there (start_daemon says so)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(2.0)
        probe.connect(path)
    except FileNotFoundError:
        return False
    except ConnectionRefusedError:
        return owner_alive(path)  # macOS refuses when the queue is full: alive, busy
    except OSError:
        return True  # a full queue or a slow accept: someone is there
    finally:
        probe.close()
    return True


def serve_command() -> list[str]:
    """`credd serve` of this installation: the daemon's package beside us, else on PATH."""
    import importlib.util

    if importlib.util.find_spec("credd") is not None:
        return [sys.executable, "-m", "credd", "serve"]
    import shutil

    found = shutil.which("credd")
    if found is None:
        raise DaemonUnavailable(
            "CREDD_AUTOSTART is on but the daemon (the `credd` package) is not installed"
        )
    return [found, "serve"]


def start_daemon(socket_path: str, env: Mapping[str, str], timeout: float = START_TIMEOUT) -> None:
    """Make sure a daemon listens on ``socket_path``, starting one if none does."""
    if sys.platform == "win32":
        raise DaemonUnavailable(
            f"no daemon answers on {socket_path}, and autostart is not available on Windows: "
            "`credd service install` registers a task that starts credd at logon"
        )
    folder = os.path.dirname(socket_path) or "."
    os.makedirs(folder, mode=0o700, exist_ok=True)
    check_socket_folder(folder)
    deadline = time.monotonic() + timeout
    lock = os.open(socket_path + ".autostart", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _take_turn(lock, deadline)
        if listening(socket_path):  # another client started it while we waited
            return
        _spawn_and_wait(socket_path, env, deadline)
    finally:
        os.close(lock)  # releases the lock


def _take_turn(descriptor: int, deadline: float) -> None:
    if sys.platform == "win32":  # the pipe's first instance decides instead
        return
    import fcntl

    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise DaemonUnavailable(
                    "another client has been starting the daemon for too long; run `credd status`"
                ) from None
            time.sleep(_POLL)
        else:
            return


def open_log(path: str, rotate_bytes: int = LOG_ROTATE_BYTES) -> int:
    """Open credd.log to append (0600), moved aside to credd.log.1 first when too big."""
    try:
        if os.stat(path).st_size > rotate_bytes:
            os.replace(path, path + ".1")
    except FileNotFoundError:
        pass
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


def _spawn_and_wait(socket_path: str, env: Mapping[str, str], deadline: float) -> None:
    import subprocess

    log_dir = state_dir(env)
    os.makedirs(log_dir, mode=0o700, exist_ok=True)
    log_path = os.path.join(log_dir, "credd.log")
    log = open_log(log_path)
    try:
        process = subprocess.Popen(
            serve_command(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=dict(env),
            cwd=log_dir,
            start_new_session=True,
        )
    finally:
        os.close(log)
    print(
        f"credd: started a daemon (pid {process.pid}, CREDD_AUTOSTART); log: {log_path}",
        file=sys.stderr,
    )
    while not listening(socket_path):
        code = process.poll()
        if code is not None:
            raise DaemonUnavailable(
                f"the daemon started on demand exited with {code}; see {log_path}"
            )
        if time.monotonic() > deadline:
            raise DaemonUnavailable(
                f"the daemon started on demand (pid {process.pid}) is not listening on "
                f"{socket_path} yet; see {log_path}"
            )
        time.sleep(_POLL)
