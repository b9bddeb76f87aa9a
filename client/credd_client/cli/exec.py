"""`credd exec`: run a command with secrets in its environment or in files, never its arguments.

    credd exec --env GITHUB_TOKEN=github.com --file ~/.pypirc=pypirc -- make release

Every secret is fetched before the command starts: a missing credential is an error naming
it, and the command does not run. Files are written 0600 (folders made 0700) and removed,
with the folders made for them, when the command ends (unless ``--keep-files``). credd
exits with the command's exit code, 126 or 127 when it cannot run it, and dies of the same
signal when the command does. Signals credd receives are passed on to the command.
``--mask`` pipes the command's output and error and replaces every injected value.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from credd_client import Client
from credd_client.errors import InvalidRequest

from .masking import Masker

FILE_MODE = 0o600
FOLDER_MODE = 0o700
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


def register(commands: Any) -> None:
    run = commands.add_parser(
        "exec",
        help="run a command with secrets in its environment or in files",
        description="Secrets go into the command's environment (--env) or into files "
        "(--file), never into its arguments. Exits with the command's exit code.",
        usage="credd exec [--env VAR=NAME]... [--file PATH=NAME]... [--keep-files] [--mask] "
        "-- COMMAND [ARGS]...",
    )
    run.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="VAR=NAME",
        help="set the variable VAR to the secret of the credential NAME (repeatable)",
    )
    run.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="PATH=NAME",
        help="write the secret of NAME to PATH, 0600, removed afterwards (repeatable)",
    )
    run.add_argument(
        "--keep-files", action="store_true", help="leave the --file files when the command ends"
    )
    run.add_argument(
        "--mask",
        action="store_true",
        help="replace every injected secret in the command's output and error",
    )
    run.add_argument("command", nargs=argparse.REMAINDER, help="the command and its arguments")
    run.set_defaults(run=run_exec)


@dataclass
class Plan:
    env: dict[str, str] = field(default_factory=dict)  # VAR -> credential name
    files: dict[str, str] = field(default_factory=dict)  # normalised path -> credential name


def parse_mappings(env_items: list[str], file_items: list[str]) -> Plan:
    plan = Plan()
    for item in env_items:
        var, name = _split("--env", "VAR=NAME", item)
        if var in plan.env:
            raise InvalidRequest(f"--env sets {var} twice")
        plan.env[var] = name
    for item in file_items:
        raw, name = _split("--file", "PATH=NAME", item)
        path = normalise(raw)
        if path in plan.files:
            raise InvalidRequest(f"--file names {path} twice ({raw!r} is the same file)")
        plan.files[path] = name
    return plan


def normalise(path: str) -> str:
    """Absolute, ``~`` expanded, symlinks of existing folders resolved: one spelling per file."""
    return os.path.realpath(os.path.abspath(os.path.expanduser(path)))


def _split(option: str, shape: str, item: str) -> tuple[str, str]:
    key, equals, name = item.partition("=")
    if not equals or not key or not name:
        raise InvalidRequest(f"{option} takes {shape}, not {item!r}")
    return key, name


def fetch(plan: Plan) -> dict[str, str]:
    """Every credential the plan names, by name; the first one missing is an error."""
    secrets: dict[str, str] = {}
    with Client() as client:
        for name in [*plan.env.values(), *plan.files.values()]:
            if name not in secrets:
                secret = client.get(name).secret
                if secret is None:
                    raise InvalidRequest(f"the credential {name!r} has no secret")
                secrets[name] = secret
    return secrets


class Files:
    """The --file files and the folders made for them; `remove` undoes it all."""

    def __init__(self) -> None:
        self.files: list[str] = []
        self.folders: list[str] = []

    def write(self, path: str, secret: str, *, replace: bool) -> None:
        folder = os.path.dirname(path)
        self._make_folders(folder)
        if os.path.lexists(path) and not replace:
            raise InvalidRequest(
                f"{path} exists; credd exec writes only new files (it removes them "
                "afterwards): pick another path, or pass --keep-files to replace it"
            )
        temporary = os.path.join(folder, f".{os.path.basename(path)}.credd-{os.getpid()}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(secret.encode())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        self.files.append(path)

    def _make_folders(self, folder: str) -> None:
        missing: list[str] = []
        while not os.path.isdir(folder):
            missing.append(folder)
            folder = os.path.dirname(folder)
        for path in reversed(missing):
            os.mkdir(path, FOLDER_MODE)
            os.chmod(path, FOLDER_MODE)  # whatever the umask
            self.folders.append(path)

    def remove(self) -> None:
        for path in self.files:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        for folder in reversed(self.folders):
            with contextlib.suppress(OSError):  # not empty: the command left files there
                os.rmdir(folder)
        self.files.clear()
        self.folders.clear()


def run_exec(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise InvalidRequest("no command given: credd exec [options] -- COMMAND [ARGS]...")
    plan = parse_mappings(args.env, args.file)
    secrets = fetch(plan)
    env = dict(os.environ)
    for var, name in plan.env.items():
        if "\0" in secrets[name]:
            raise InvalidRequest(f"the secret of {name!r} holds a NUL byte; use --file")
        env[var] = secrets[name]
    files = Files()
    try:
        for path, name in plan.files.items():
            try:
                files.write(path, secrets[name], replace=args.keep_files)
            except OSError as exc:
                raise InvalidRequest(f"cannot write {path}: {exc.strerror or exc}") from None
        masker_secrets = list(secrets.values()) if args.mask else None
        returncode = supervise(command, env, masker_secrets)
    finally:
        if not args.keep_files:
            files.remove()
    if returncode < 0:
        die_of(-returncode)
        return 128 - returncode
    return returncode


def supervise(command: list[str], env: dict[str, str], mask: list[str] | None) -> int:
    """Run the command to its end, passing signals on; its return code (negative: a signal)."""
    pipe = subprocess.PIPE if mask is not None else None
    with SignalForwarder() as forwarder:  # from before the start: none may kill credd alone
        try:
            child = subprocess.Popen(command, env=env, stdout=pipe, stderr=pipe)
        except FileNotFoundError:
            print(f"credd: {command[0]}: command not found", file=sys.stderr)
            return 127
        except OSError as exc:
            print(f"credd: cannot run {command[0]}: {exc.strerror or exc}", file=sys.stderr)
            return 126
        pumps = []
        if mask is not None:
            assert child.stdout is not None
            assert child.stderr is not None
            pumps = [
                threading.Thread(target=pump, args=(child.stdout.fileno(), 1, Masker(mask))),
                threading.Thread(target=pump, args=(child.stderr.fileno(), 2, Masker(mask))),
            ]
            for thread in pumps:
                thread.start()
        forwarder.attach(child)
        returncode = child.wait()
    for thread in pumps:
        thread.join()
    for stream in (child.stdout, child.stderr):
        if stream is not None:
            stream.close()
    return returncode


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
    """Handlers that pass signals on to the command; those that come before it starts wait."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.pending: list[int] = []
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

    def _forward(self, signum: int, _frame: object) -> None:
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
