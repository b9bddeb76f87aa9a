"""The command `credd exec` runs: started, passed credd's signals, and told of changes.

A change of one of its credentials (`notify_change`, from the watching thread) does what
``--on-change`` says:

    ignore       nothing (the files are current already; the environment stays as it was)
    signal:SIG   send SIG to the command (SIGHUP: the usual "read your config again")
    restart      stop it as credd itself would be stopped (SIGTERM, then SIGKILL after the
                 grace period), then start it again with the values of now
    exit         stop it the same way, and end with its status (a supervisor of credd, such
                 as systemd's Restart=always, starts everything afresh)

The command's own end is always credd's: its exit code, or death by its signal. A SIGTERM or
SIGINT that reaches credd while it restarts the command ends the restart too.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from credd_client.errors import InvalidRequest

from .masking import Masker

ACTIONS = ("restart", "exit", "ignore", "signal:SIG")
DEFAULT_GRACE = 10.0
# Passed on to the command. SIGINT and SIGQUIT come from the terminal's keyboard to the whole
# foreground process group, the command included, so they are passed on only when credd is
# not in the terminal's foreground (otherwise the command would get them twice). Windows has
# none of the Unix signals: Ctrl+C and Ctrl+Break reach every process of the console, the
# command included, and SIGTERM passed on ends it (TerminateProcess).
if sys.platform == "win32":
    FORWARDED: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT, signal.SIGBREAK)
    KEYBOARD: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGBREAK)
else:
    FORWARDED = (
        signal.SIGTERM,
        signal.SIGHUP,
        signal.SIGINT,
        signal.SIGQUIT,
        signal.SIGUSR1,
        signal.SIGUSR2,
        signal.SIGWINCH,
    )
    KEYBOARD = (signal.SIGINT, signal.SIGQUIT)
# Signals that mean "stop": one of them during a restart ends credd instead.
STOPPING = frozenset({signal.SIGTERM, signal.SIGINT})


@dataclass(frozen=True)
class OnChange:
    action: str  # "restart", "signal", "exit" or "ignore"
    signum: int = 0

    @classmethod
    def parse(cls, text: str, platform: str = sys.platform) -> OnChange:
        """``restart``, ``exit``, ``ignore`` or ``signal:SIG`` (``HUP``, ``SIGHUP`` or ``1``)."""
        action, colon, name = text.partition(":")
        if action in ("restart", "exit", "ignore") and not colon:
            return cls(action)
        if action != "signal" or not name:
            raise InvalidRequest(f"--on-change takes {', '.join(ACTIONS)}, not {text!r}")
        if platform == "win32":
            raise InvalidRequest("--on-change signal: needs Unix signals, which Windows has not")
        return cls("signal", _signal_number(name))


def _signal_number(name: str) -> int:
    if name.isdigit():
        number = int(name)
        if number in set(signal.valid_signals()):
            return number
    else:
        spelled = name.upper() if name.upper().startswith("SIG") else f"SIG{name.upper()}"
        if spelled in signal.Signals.__members__:
            return int(signal.Signals[spelled])
    raise InvalidRequest(f"--on-change signal:{name}: no such signal (try HUP, USR1 or TERM)")


@dataclass(frozen=True)
class _Exited:
    child: subprocess.Popen[bytes]
    returncode: int


class _Changed:
    pass


class Supervisor:
    """Runs the command until its end; `run` is called from the main thread, which gets the
    signals."""

    def __init__(
        self,
        command: list[str],
        environment: Callable[[], dict[str, str]],
        on_change: OnChange,
        *,
        mask: list[str] | None = None,
        grace: float = DEFAULT_GRACE,
    ) -> None:
        self.command = command
        self.environment = environment  # called at every start: the values of now
        self.on_change = on_change
        self.grace = grace
        self._mask = mask
        self._maskers: list[Masker] = []
        self._lock = threading.Lock()
        self._inbox: queue.SimpleQueue[_Exited | _Changed] = queue.SimpleQueue()

    def notify_change(self) -> None:
        """One of the command's credentials changed (any thread)."""
        self._inbox.put(_Changed())

    def learn_secret(self, secret: str) -> None:
        """Mask ``secret`` too in the command's output from now on (any thread)."""
        with self._lock:
            if self._mask is None:
                return
            self._mask.append(secret)
            for masker in self._maskers:
                masker.learn(secret)

    def run(self) -> int:
        """The command's return code (negative: the signal it died of)."""
        with SignalForwarder() as forwarder:  # from before the start: none may kill credd alone
            child = self._start(forwarder)
            while isinstance(child, subprocess.Popen):
                message = self._inbox.get()
                if isinstance(message, _Exited):
                    if message.child is child:
                        return message.returncode
                    continue
                child = self._changed(child, forwarder)
            return child

    def _changed(
        self, child: subprocess.Popen[bytes], forwarder: SignalForwarder
    ) -> subprocess.Popen[bytes] | int:
        """What --on-change says: the child that runs now, or the return code to end with."""
        action = self.on_change.action
        if action == "signal":
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(self.on_change.signum)
        if action in ("ignore", "signal"):
            return child
        stops_before = forwarder.stops_received
        returncode = self._stop(child, forwarder)
        if action == "exit" or forwarder.stops_received != stops_before:
            return returncode
        self._drain_changes()  # the new start reads the values of now: they are covered
        return self._start(forwarder)

    def _start(self, forwarder: SignalForwarder) -> subprocess.Popen[bytes] | int:
        pipe = subprocess.PIPE if self._mask is not None else None
        try:
            child = subprocess.Popen(self.command, env=self.environment(), stdout=pipe, stderr=pipe)
        except FileNotFoundError:
            print(f"credd: {self.command[0]}: command not found", file=sys.stderr)
            return 127
        except OSError as exc:
            print(f"credd: cannot run {self.command[0]}: {exc.strerror or exc}", file=sys.stderr)
            return 126
        except ValueError:  # a NUL in a value that changed since the first start
            print(f"credd: cannot run {self.command[0]}: a NUL in its environment", file=sys.stderr)
            return 126
        pumps = self._pumps(child)
        forwarder.attach(child)
        threading.Thread(target=self._wait_for, args=(child, pumps), daemon=True).start()
        return child

    def _pumps(self, child: subprocess.Popen[bytes]) -> list[threading.Thread]:
        if self._mask is None:
            return []
        assert child.stdout is not None
        assert child.stderr is not None
        pumps = []
        with self._lock:
            for source, target in ((child.stdout, 1), (child.stderr, 2)):
                masker = Masker(self._mask)
                self._maskers.append(masker)
                pumps.append(threading.Thread(target=pump, args=(source.fileno(), target, masker)))
        for thread in pumps:
            thread.start()
        return pumps

    def _wait_for(self, child: subprocess.Popen[bytes], pumps: list[threading.Thread]) -> None:
        returncode = child.wait()
        for thread in pumps:
            thread.join()
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
        self._inbox.put(_Exited(child, returncode))

    def _stop(self, child: subprocess.Popen[bytes], forwarder: SignalForwarder) -> int:
        """SIGTERM, the grace period, SIGKILL: the child's return code once it is gone."""
        forwarder.detach()
        with contextlib.suppress(ProcessLookupError):
            child.terminate()
        deadline = time.monotonic() + self.grace
        killed = False
        while True:
            timeout = None if killed else max(0.0, deadline - time.monotonic())
            try:
                message = self._inbox.get(timeout=timeout)
            except queue.Empty:
                print(
                    f"credd: {self.command[0]} did not stop within {self.grace:g} s; killing it",
                    file=sys.stderr,
                )
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
                killed = True
                continue
            if isinstance(message, _Exited) and message.child is child:
                with self._lock:
                    self._maskers.clear()
                return message.returncode

    def _drain_changes(self) -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                message = self._inbox.get_nowait()
                assert isinstance(message, _Changed), "no other child runs"


def pump(source: int, target: int, masker: Masker) -> None:
    """Copy one of the command's streams to ours, masked, until it ends."""
    writable = True

    def write(data: bytes) -> None:
        nonlocal writable
        while data and writable:
            try:
                data = data[os.write(target, data) :]
            except OSError:  # our reader went away: keep draining so the command goes on
                writable = False

    while chunk := os.read(source, 65536):
        write(masker.feed(chunk))
    write(masker.finish())


class SignalForwarder:
    """Handlers that pass signals on to the command; those that come while none runs wait."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.pending: list[int] = []
        self.stops_received = 0
        self.keyboard_reaches_child = _in_terminal_foreground()
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> SignalForwarder:
        self.previous = {sig: signal.signal(sig, self._forward) for sig in FORWARDED}
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def attach(self, child: subprocess.Popen[bytes]) -> None:
        self.child = child
        pending, self.pending = self.pending, []
        for signum in pending:
            self._send(signum)

    def detach(self) -> None:
        """The child is being stopped: signals from now on wait for the next one."""
        self.child = None

    def _forward(self, signum: int, _frame: object) -> None:
        if signum in STOPPING:
            self.stops_received += 1
        if signum in KEYBOARD and self.keyboard_reaches_child:
            return  # the terminal sent it to the command too
        if self.child is None:
            self.pending.append(signum)
        else:
            self._send(signum)

    def _send(self, signum: int) -> None:
        assert self.child is not None
        with contextlib.suppress(ProcessLookupError):
            self.child.send_signal(signum)


def _in_terminal_foreground() -> bool:
    if sys.platform == "win32":
        return True  # console control events reach every process attached to the console
    for stream in (sys.stdin, sys.stderr, sys.stdout):
        try:
            return os.tcgetpgrp(stream.fileno()) == os.getpgrp()
        except (OSError, ValueError, AttributeError):
            continue
    return False


def die_of(signum: int) -> None:
    """End this process with the signal the command died of, as a shell would see it."""
    sys.stdout.flush()
    sys.stderr.flush()
    if sys.platform == "win32":  # exit codes are never negative there: not reached
        sys.exit(128 + signum)
    signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
    os.kill(os.getpid(), signum)
