"""`credd service install|uninstall|status`: start credd at login, the platform's way.

systemd user units on Linux, a LaunchAgent on macOS, a Task Scheduler task on Windows.
Idempotent: files are rewritten only when they differ, and every step is reported. When the
service manager cannot be reached (no systemd user instance, as in a container), the files
are written and the commands that would enable them are printed instead.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Any

ACTIONS = ("install", "uninstall", "status")
# A step the service manager refuses for a while (launchd unloading an agent) is tried again
# this often, for this long.
RETRY_PAUSE = 0.5
RETRY_SECONDS = 20.0


def register(commands: Any) -> None:
    service = commands.add_parser(
        "service",
        help="install, remove or show the login service (systemd, launchd, Task Scheduler)",
    )
    service.add_argument("action", choices=ACTIONS)
    service.add_argument(
        "--strict",
        action="store_true",
        help="install: systemd's file system sandbox too; the daemon then cannot identify "
        "the programs that call it (no --allow-program, no program names in the audit log)",
    )
    service.set_defaults(run=run_service)


def _at_login(strict: bool = False) -> Any:
    from ..at_login import Setup, for_platform
    from ..paths import resolve_paths

    return for_platform(Setup.current(resolve_paths(), strict=strict))


def run_service(args: argparse.Namespace) -> int:
    if args.strict and args.action != "install":
        print("credd: --strict goes with `credd service install`", file=sys.stderr)
        return 2
    if args.action == "install":
        return install(_at_login(args.strict))
    if args.action == "uninstall":
        return uninstall(_at_login())
    return status(_at_login(), _at_login(strict=True))


def _write(path: Any, data: bytes) -> None:
    """Atomically, 0600 in a folder made 0700."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _run(command: list[str], service: Any = None) -> bool:
    print(f"$ {subprocess.list2cmdline(command)}")
    deadline = time.monotonic() + RETRY_SECONDS
    while True:
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"credd: {command[0]} failed: {exc}", file=sys.stderr)
            return False
        output = (result.stdout + result.stderr).strip()
        if output:
            print(output)
        if result.returncode == 0:
            return True
        if (
            service is None
            or not service.retry(command, result.returncode, output)
            or time.monotonic() > deadline
        ):
            print(f"credd: that command exited with {result.returncode}", file=sys.stderr)
            return False
        print(f"(still busy with the previous step; trying again in {RETRY_PAUSE:g} s)")
        time.sleep(RETRY_PAUSE)


def install(service: Any) -> int:
    setup = service.setup
    setup.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for item in service.files():
        data = item.data()
        try:
            current = item.path.read_bytes()
        except FileNotFoundError:
            current = None
        if current == data:
            print(f"up to date: {item.path}")
        else:
            _write(item.path, data)
            print(f"{'updated' if current is not None else 'wrote'}: {item.path}")
    problem = service.manager_problem()
    if problem is not None:
        print(f"not enabled: {problem}.")
        print(f"Once {service.name} is available to you, enable it with:")
        for command in service.enable_commands():
            print(f"  {subprocess.list2cmdline(command)}")
        _strict_note(service)
        return 0
    for command in service.enable_commands():
        if not _run(command, service) and not service.may_fail(command):
            return 1
    print(f"credd now starts at login ({service.name}); socket {setup.socket}")
    _strict_note(service)
    return 0


def _strict_note(service: Any) -> None:
    if not service.setup.strict:
        return
    if service.name != "systemd":
        print(f"--strict changes only the systemd units; {service.name} is as without it")
        return
    print(
        "--strict: the daemon runs in a user namespace of its own and cannot identify the "
        "programs that call it: credentials restricted with --allow-program are refused to "
        "every program and the audit log names none (`credd status` says so)"
    )


def uninstall(service: Any) -> int:
    problem = service.manager_problem()
    ok = True
    if problem is None:
        for command in service.disable_commands():
            ok = _run(command) and ok
    else:
        print(f"not disabled through {service.name}: {problem}")
    for item in service.files():
        if item.path.exists():
            item.path.unlink()
            print(f"removed: {item.path}")
        else:
            print(f"not installed: {item.path}")
    if problem is None and service.name == "systemd":
        ok = _run(["systemctl", "--user", "daemon-reload"]) and ok
    return 0 if ok else 1


def status(service: Any, strict: Any) -> int:
    installed = True
    for item, strict_item in zip(service.files(), strict.files(), strict=True):
        try:
            current = item.path.read_bytes()
        except FileNotFoundError:
            print(f"missing:    {item.path}")
            installed = False
            continue
        if current == item.data():
            state = "installed"
        elif current == strict_item.data():
            state = "installed (--strict: programs cannot be identified)"
        else:
            state = "differs (run `credd service install`)"
        print(f"{state}: {item.path}")
    problem = service.manager_problem()
    if problem is None:
        _run(service.status_command())
    else:
        print(f"{service.name}: {problem}")
    return 0 if installed else 1
