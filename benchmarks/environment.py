"""Everything a run starts, and stops: a private Secret Service, CREDD_HOMEs, daemons.

The Secret Service (its own dbus-daemon and gnome-keyring-daemon) and the daemon process
are the test suite's own helpers from tests/support, so the benchmarks start credd exactly
as the integration tests do. Every process is this one's child and is stopped by pid; the
temporary folder (kept short: AF_UNIX paths are capped near 100 bytes) is removed at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from tests.support.daemon import DaemonProcess
from tests.support.secret_service import SecretService, headless_env

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
# The caller's settings that would point credd or keyring somewhere else, or make every
# Python process compile its modules from source on each start (no user runs that way).
_FOREIGN_VARS = ("PYTHON_KEYRING_BACKEND", "PYTHONDONTWRITEBYTECODE")


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does; `--quick` shrinks all of it to a smoke run."""

    trials: int  # whole-process runs, repeated daemon starts
    requests: int  # in-process gets per trial
    keyring_requests: int  # keyring.get_password calls (each costs milliseconds)
    clients: int  # concurrent connections in the throughput run
    duration: float  # seconds of each throughput run
    writes: int  # durable writes in a row
    credentials: int  # the large store
    oauth_credentials: int  # OAuth credentials expiring within one minute
    oauth_spread: float  # seconds over which their expiries are spread

    @classmethod
    def full(cls) -> Sizes:
        return cls(
            trials=30,
            requests=20_000,
            keyring_requests=200,
            clients=64,
            duration=10.0,
            writes=1000,
            credentials=10_000,
            oauth_credentials=1000,
            oauth_spread=58.0,
        )

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            trials=3,
            requests=200,
            keyring_requests=5,
            clients=4,
            duration=0.5,
            writes=10,
            credentials=100,
            oauth_credentials=10,
            oauth_spread=3.0,
        )


class Environment:
    """The run's temporary world; `with Environment(sizes) as env:` starts and stops it."""

    def __init__(self, sizes: Sizes) -> None:
        self.sizes = sizes
        self.secret_service = SecretService()
        self.root = Path(tempfile.mkdtemp(prefix="cb", dir="/tmp"))
        self._homes = 0
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Environment:
        try:
            self._stack.enter_context(self.secret_service)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def defer(self, callback: contextlib.AbstractContextManager[object]) -> None:
        """Stop this with the environment (in reverse order), even when a benchmark fails."""
        self._stack.enter_context(callback)

    @property
    def env(self) -> dict[str, str]:
        """os.environ pointed at the private session: HOME, XDG folders, the bus, PATH."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("CREDD_") and key not in _FOREIGN_VARS
        }
        env.update(headless_env(self.root))
        env["DBUS_SESSION_BUS_ADDRESS"] = self.secret_service.env["DBUS_SESSION_BUS_ADDRESS"]
        env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
        return env

    def credd_env(self) -> dict[str, str]:
        """A fresh CREDD_HOME and socket (one per daemon, so benchmarks do not mix)."""
        self._homes += 1
        env = self.env
        env["CREDD_HOME"] = str(self.root / f"h{self._homes}")
        env["CREDD_SOCKET"] = str(self.root / "s" / f"{self._homes}.sock")
        return env

    def installed_client(self) -> Path:
        """The `bin` folder of the client installed as a user's machine has it: by uv (the
        README's `uv tool install`), whose launchers import nothing but the entry point
        (pip's import `re`, see the processes benchmark), bytecode compiled (as uv writes it
        on the first run). Made once per run."""
        venv = self.root / "client"
        if not venv.exists():
            uv = str(BIN / "uv")
            subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
            python = str(venv / "bin" / "python")
            install = ["pip", "install", "-q", "--python", python, "--compile-bytecode"]
            subprocess.run([uv, *install, str(REPO / "client")], check=True)
        return venv / "bin"

    def daemon(self, env: dict[str, str]) -> DaemonProcess:
        """Start `credd serve` for this CREDD_HOME; stopped with the environment if not before."""
        daemon = DaemonProcess(Path(env["CREDD_HOME"]), Path(env["CREDD_SOCKET"]), env)
        daemon.start(timeout=60.0)
        self._stack.callback(_stop_quietly, daemon)
        return daemon

    def child(self, args: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """A helper process (a floor server, a git cache daemon) stopped by pid at the end."""
        proc = subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=REPO,  # so that `-m benchmarks.<module>` imports this checkout
        )
        self._stack.callback(_terminate, proc)
        return proc

    def adopt(self, proc: subprocess.Popen[bytes]) -> None:
        """Stop this process (by pid) with the environment."""
        self._stack.callback(_terminate, proc)

    @contextlib.contextmanager
    def folder(self, name: str) -> Iterator[Path]:
        path = self.root / name
        path.mkdir(mode=0o700)
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)


def _stop_quietly(daemon: DaemonProcess) -> None:
    if daemon.returncode is None:
        daemon.stop()


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
