"""`credd exec`: run a command with secrets in its environment or in files, never its arguments.

    credd exec --env GITHUB_TOKEN=github.com --file ~/.pypirc=pypirc -- make release
    credd exec --env-file .env -- make test
    credd exec --file ~/.config/app/token=work --on-change signal:HUP -- ./server

Every value is fetched before the command starts: a missing credential is an error naming
it (and the variable or file it was for), and the command does not run. An ``--env-file``
is dotenv text where a value ``credd:NAME`` (or ``credd:NAME#username``) is a reference and
any other value is passed as written (`envfile`, `references`). Files are written 0600
(folders made 0700) and removed, with the folders made for them, when the command ends
(unless ``--keep-files``).

While the command runs, one events connection keeps every ``--file`` current (replaced
atomically when its credential changes), teaches ``--mask`` the new values, and tells the
command as ``--on-change`` says (`supervisor`). credd exits with the command's exit code,
126 or 127 when it cannot run it, and dies of the same signal when the command does.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from credd_client import Client
from credd_client.errors import InvalidRequest

from . import envfile
from .atomicfile import NEW_FILE_MODE, replace_file
from .notices import warn
from .references import (
    BadReference,
    Reference,
    Values,
    is_reference,
    parse_reference,
    read_text,
)
from .supervisor import DEFAULT_GRACE, OnChange, Supervisor, die_of
from .watching import Keeper

FOLDER_MODE = 0o700
# With --env, a restart is what brings a new value to the command; but restarting a command
# nobody asked to restart (a release half done, a test run) is worse than a stale value, and
# a short command never sees a change. So the default stays `ignore`, with a notice.
DEFAULT_ON_CHANGE = "ignore"


def register(commands: Any) -> None:
    run = commands.add_parser(
        "exec",
        help="run a command with secrets in its environment or in files",
        description="Secrets go into the command's environment (--env, --env-file) or into "
        "files (--file), never into its arguments. The files are kept current while the "
        "command runs. Exits with the command's exit code.",
        usage="credd exec [--env VAR=NAME]... [--env-file FILE]... [--file PATH=NAME]... "
        "[--on-change restart|signal:SIG|exit|ignore] [--grace SECONDS] [--keep-files] "
        "[--mask] -- COMMAND [ARGS]...",
    )
    run.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="VAR=NAME",
        help="set the variable VAR to the secret of the credential NAME (repeatable)",
    )
    run.add_argument(
        "--env-file",
        action="append",
        default=[],
        metavar="FILE",
        help="set the variables of a dotenv FILE, where a value credd:NAME or "
        "credd:NAME#username is a reference (repeatable)",
    )
    run.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="PATH=NAME",
        help="write the secret of NAME to PATH, 0600, kept current, removed afterwards "
        "(repeatable)",
    )
    run.add_argument(
        "--on-change",
        default=DEFAULT_ON_CHANGE,
        metavar="POLICY",
        help="when a credential changes while the command runs: restart it, signal:SIG it "
        "(e.g. signal:HUP), exit, or ignore (the default; files are replaced in every case)",
    )
    run.add_argument(
        "--grace",
        type=_seconds,
        default=DEFAULT_GRACE,
        metavar="SECONDS",
        help=f"how long restart and exit wait after SIGTERM before SIGKILL ({DEFAULT_GRACE:g})",
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


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 86400:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    return seconds


@dataclass
class Plan:
    env: dict[str, Reference] = field(default_factory=dict)  # VAR -> reference
    literals: dict[str, str] = field(default_factory=dict)  # VAR -> value as an env file has it
    files: dict[str, Reference] = field(default_factory=dict)  # normalised path -> reference
    places: dict[str, str] = field(default_factory=dict)  # VAR -> where it is set, for messages

    def set_variable(self, var: str, value: Reference | str, place: str) -> None:
        if var in self.places:
            raise InvalidRequest(f"{var} is set twice: by {self.places[var]} and by {place}")
        self.places[var] = place
        if isinstance(value, Reference):
            self.env[var] = value
        else:
            self.literals[var] = value

    def names(self) -> set[str]:
        return {reference.name for reference in [*self.env.values(), *self.files.values()]}


def make_plan(env_items: list[str], env_files: list[str], file_items: list[str]) -> Plan:
    plan = Plan()
    for item in env_items:
        var, name = _split("--env", "VAR=NAME", item)
        plan.set_variable(var, Reference(name), f"--env {var}")
    for path in env_files:
        for var, (value, place) in read_env_file(path).items():
            plan.set_variable(var, value, place)
    for item in file_items:
        raw, name = _split("--file", "PATH=NAME", item)
        path = normalise(raw)
        if path in plan.files:
            raise InvalidRequest(f"--file names {path} twice ({raw!r} is the same file)")
        plan.files[path] = Reference(name)
    return plan


def read_env_file(path: str) -> dict[str, tuple[Reference | str, str]]:
    """VAR -> (reference or literal value, place): the last line setting a variable wins."""
    text = read_text(path, "the env file")
    try:
        entries = envfile.parse(text)
    except envfile.EnvFileError as exc:
        raise InvalidRequest(f"{path}, {exc}") from None
    variables: dict[str, tuple[Reference | str, str]] = {}
    for entry in entries:
        place = f"{path}, line {entry.line}: {entry.key}"
        if entry.value is None:  # a key alone sets nothing, as with python-dotenv
            continue
        if "\0" in entry.key or "\0" in entry.value:
            raise InvalidRequest(f"{place} holds a NUL character")
        if not is_reference(entry.value):
            variables[entry.key] = (entry.value, place)
            continue
        try:
            variables[entry.key] = (parse_reference(entry.value), place)
        except BadReference as exc:
            raise InvalidRequest(f"{place}: {exc}") from None
    return variables


def normalise(path: str) -> str:
    """Absolute, ``~`` expanded, symlinks of existing folders resolved: one spelling per file."""
    return os.path.realpath(os.path.abspath(os.path.expanduser(path)))


def _split(option: str, shape: str, item: str) -> tuple[str, str]:
    key, equals, name = item.partition("=")
    if not equals or not key or not name:
        raise InvalidRequest(f"{option} takes {shape}, not {item!r}")
    return key, name


class Files:
    """The --file files and the folders made for them; after `remove`, nothing is written."""

    def __init__(self) -> None:
        self.files: list[str] = []
        self.folders: list[str] = []
        self._lock = threading.Lock()
        self._removed = False

    def create(self, path: str, secret: str, *, replace: bool) -> None:
        if os.path.lexists(path) and not replace:
            raise InvalidRequest(
                f"{path} exists; credd exec writes only new files (it removes them "
                "afterwards): pick another path, or pass --keep-files to replace it"
            )
        try:
            self._make_folders(os.path.dirname(path))
            replace_file(path, secret.encode(), NEW_FILE_MODE)
        except OSError as exc:
            raise InvalidRequest(f"cannot write {path}: {exc.strerror or exc}") from None
        self.files.append(path)

    def update(self, path: str, secret: str) -> None:
        """Replace a file with a new value (in the mode it has now), unless the command has
        ended."""
        with self._lock:
            if self._removed:
                return
            try:
                replace_file(path, secret.encode())
            except OSError as exc:
                warn(f"cannot replace {path}, so it keeps its last value: {exc.strerror or exc}")

    def _make_folders(self, folder: str) -> None:
        missing: list[str] = []
        while not os.path.isdir(folder):
            missing.append(folder)
            folder = os.path.dirname(folder)
        for path in reversed(missing):
            os.mkdir(path, FOLDER_MODE)
            os.chmod(path, FOLDER_MODE)  # whatever the umask
            self.folders.append(path)

    def remove(self, *, keep: bool) -> None:
        with self._lock:
            self._removed = True
        if keep:
            return
        for path in self.files:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        for folder in reversed(self.folders):
            with contextlib.suppress(OSError):  # not empty: the command left files there
                os.rmdir(folder)


def run_exec(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise InvalidRequest("no command given: credd exec [options] -- COMMAND [ARGS]...")
    on_change = OnChange.parse(args.on_change)
    plan = make_plan(args.env, args.env_file, args.file)
    with Client() as client:
        values = Values(client)
        _load(plan, values)
        files = Files()
        try:
            for path, reference in plan.files.items():
                files.create(path, _loaded(values, reference), replace=args.keep_files)
            returncode = _supervise(
                command, plan, values=values, files=files, on_change=on_change, args=args
            )
        finally:
            files.remove(keep=args.keep_files)
    if returncode < 0:
        die_of(-returncode)
        return 128 - returncode
    return returncode


def _load(plan: Plan, values: Values) -> None:
    """Every value, before anything runs; the first missing one is an error naming it."""
    for var, reference in plan.env.items():
        if "\0" in values.load(reference, plan.places[var]):
            raise InvalidRequest(f"the {reference.field} of {reference.name!r} holds a NUL byte")
    for path, reference in plan.files.items():
        values.load(reference, f"--file {path}")


def _loaded(values: Values, reference: Reference) -> str:
    value = values.current(reference)
    assert value is not None, "loaded, or the command would not run"
    return value


def _supervise(
    command: list[str],
    plan: Plan,
    *,
    values: Values,
    files: Files,
    on_change: OnChange,
    args: argparse.Namespace,
) -> int:
    def environment() -> dict[str, str]:
        env = {**os.environ, **plan.literals}
        for var, reference in plan.env.items():
            value = values.current(reference)
            if value is not None:  # None: its username was removed since; not set
                env[var] = value
        return env

    injected = [*plan.env.values(), *plan.files.values()]
    mask = [_loaded(values, reference) for reference in injected] if args.mask else None
    supervisor = Supervisor(command, environment, on_change, mask=mask, grace=args.grace)
    if on_change.action == "signal" and plan.env:
        warn(
            f"--on-change {args.on_change} cannot change a running command's environment: "
            f"{', '.join(sorted(plan.env))} keep the values of its start (use --file for "
            "values that change, or --on-change restart)"
        )

    def reread(names: set[str]) -> None:
        changed = values.reload(names)
        if not changed:
            return
        for path, reference in plan.files.items():
            value = values.current(reference)
            if reference.name in changed and value is not None:
                files.update(path, value)
        for reference in injected:
            value = values.current(reference)
            if reference.name in changed and value is not None:
                supervisor.learn_secret(value)
        stale = sorted(var for var, ref in plan.env.items() if ref.name in changed)
        if stale and on_change.action == "ignore":
            warn(
                f"{', '.join(sorted(changed))} changed; in the command's environment "
                f"{', '.join(stale)} still {'holds' if len(stale) == 1 else 'hold'} the old "
                "value (--on-change restart brings the new one)"
            )
        supervisor.notify_change()

    names = plan.names()
    if not names:
        return supervisor.run()
    keeper = Keeper(names, "exec", reread, values.versions())
    keeper.start()
    try:
        return supervisor.run()
    finally:
        keeper.stop()
