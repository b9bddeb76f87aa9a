"""A real, private Secret Service: its own D-Bus session bus and gnome-keyring-daemon.

    with SecretService() as service:
        subprocess.run([...], env={**os.environ, **service.env})

Everything lives in one short folder under /tmp (HOME, the XDG folders, the bus socket),
both processes are this process's children and are stopped by pid, and the folder is
removed afterwards. ``headless_env`` gives the same variables with a session bus address
where nothing listens: what an SSH session or a container looks like to ``keyring``.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

SECRETS_NAME = "org.freedesktop.secrets"

# Variables of the caller's session that must not leak into the private one.
_SESSION_VARS = (
    "DBUS_SESSION_BUS_ADDRESS",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "GNOME_KEYRING_CONTROL",
    "SSH_AUTH_SOCK",
)


def private_dirs(root: Path) -> dict[str, str]:
    """HOME and the XDG folders inside ``root`` (HOME and XDG_RUNTIME_DIR made, 0700)."""
    home = root / "home"
    runtime = root / "run"
    for folder in (home, runtime):
        folder.mkdir(mode=0o700, exist_ok=True)
    return {
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }


def headless_env(tmpdir: Path) -> dict[str, str]:
    """The variables of a machine with no Secret Service: the session bus is a dead path."""
    env = private_dirs(tmpdir)
    env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmpdir / 'no-bus'}"
    return env


def _stop_process(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


class SecretService:
    """A private dbus-daemon with gnome-keyring-daemon's secrets component, unlocked.

    With ``unlock=False`` it starts as in a session no login unlocked (SSH, a service): no
    login collection, and creating one asks a prompt that no one can answer (there is no
    display), so it is dismissed. `lock_login` locks the login collection of a running one.
    """

    def __init__(
        self, password: str = "credd-test", timeout: float = 10.0, *, unlock: bool = True
    ) -> None:
        self.password = password
        self.timeout = timeout
        self.unlock = unlock
        self.root: Path | None = None
        self.address = ""
        self._env: dict[str, str] = {}
        self._bus: subprocess.Popen[bytes] | None = None
        self._keyring: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        """What a child process needs to use this Secret Service (merge into os.environ)."""
        if not self._env:
            raise RuntimeError("the Secret Service is not running")
        return dict(self._env)

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in (self._bus, self._keyring) if proc is not None]

    @property
    def log_path(self) -> Path:
        assert self.root is not None
        return self.root / "log"

    def log_text(self) -> str:
        """What dbus-daemon and gnome-keyring-daemon printed (for error messages)."""
        if self.root is None:
            return ""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def start(self) -> SecretService:
        self.root = Path(tempfile.mkdtemp(prefix="ss", dir="/tmp"))
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        assert self.root is not None
        deadline = time.monotonic() + self.timeout
        dirs = private_dirs(self.root)
        base = {k: v for k, v in os.environ.items() if k not in _SESSION_VARS}
        base.update(dirs)
        with self.log_path.open("ab") as log:
            self._bus = subprocess.Popen(
                [
                    "dbus-daemon",
                    "--session",
                    "--nofork",
                    f"--address=unix:path={self.root / 'bus'}",
                    "--print-address=1",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env=base,
                cwd=self.root,
                bufsize=0,
            )
            assert self._bus.stdout is not None
            with self._bus.stdout as out:
                self.address = self._first_line(self._bus, out, deadline)
            self._env = {**dirs, "DBUS_SESSION_BUS_ADDRESS": self.address}
            unlock = ["--unlock"] if self.unlock else []
            self._keyring = subprocess.Popen(
                ["gnome-keyring-daemon", "--foreground", *unlock, "--components=secrets"],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                env={**base, **self._env},
                cwd=self.root,
            )
        assert self._keyring.stdin is not None
        # It unlocks (or creates) the login keyring with what it reads until end of file.
        # A daemon that died at once closed the pipe: _wait_for_owner reports it with the log.
        with contextlib.suppress(BrokenPipeError), self._keyring.stdin as stdin:
            if self.unlock:
                stdin.write(self.password.encode())
        self._wait_for_owner(deadline)

    def _first_line(self, proc: subprocess.Popen[bytes], out: IO[bytes], deadline: float) -> str:
        data = b""
        while b"\n" not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"dbus-daemon printed no address in time\n{self.log_text()}")
            ready, _, _ = select.select([out], [], [], remaining)
            if ready:
                chunk = os.read(out.fileno(), 4096)
                if not chunk:
                    proc.wait(1)
                    raise RuntimeError(
                        f"dbus-daemon exited ({proc.returncode}) before printing its address\n"
                        f"{self.log_text()}"
                    )
                data += chunk
        return data.split(b"\n", 1)[0].decode().strip()

    def has_owner(self) -> bool:
        """Whether org.freedesktop.secrets has an owner on the bus (never activates it)."""
        result = subprocess.run(
            [
                "dbus-send",
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                f"string:{SECRETS_NAME}",
            ],
            env={**os.environ, **self._env},
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        return result.returncode == 0 and "boolean true" in result.stdout

    def lock_login(self) -> None:
        """Lock the login collection over D-Bus (what a screen lock or `seahorse` does)."""
        subprocess.run(
            [
                "dbus-send",
                "--session",
                "--print-reply",
                f"--dest={SECRETS_NAME}",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ],
            env={**os.environ, **self._env},
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )

    def _wait_for_owner(self, deadline: float) -> None:
        assert self._keyring is not None
        while not self.has_owner():
            if self._keyring.poll() is not None:
                raise RuntimeError(
                    f"gnome-keyring-daemon exited ({self._keyring.returncode}) before owning "
                    f"{SECRETS_NAME}\n{self.log_text()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{SECRETS_NAME} had no owner after {self.timeout} s\n{self.log_text()}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop gnome-keyring-daemon, then the bus (each by pid), and remove the folder."""
        for proc in (self._keyring, self._bus):
            if proc is not None:
                _stop_process(proc)
        self._keyring = self._bus = None
        self._env = {}
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> SecretService:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
