"""Run credd as a Windows interpreter would see it, on Linux: `python simulated_windows.py DIR`.

The standard library's Unix-only modules and names are taken away (no fcntl, pwd, grp,
resource, termios, no os.getuid, socket.AF_UNIX, no Unix-only signal), the Windows-only
modules credd imports get inert stand-ins (msvcrt, ctypes.WinDLL, asyncio.windows_events) and
`sys.platform` is "win32"; then every module of both packages is imported, `credd --help` and
`credd exec --help` run, a credential is written to a store in DIR and read back, and
`credd ssh-agent` prints the agent pipe's setting for PowerShell.
Prints one line per step; exits non-zero at the first failure.

Third-party packages (filelock's Unix lock among them: it needs os.fchmod, left in place) and
the parts of the standard library that pick their implementation at
import (asyncio, subprocess) are imported first, as Linux: what is checked is credd's code,
not theirs. The Win32 calls themselves do not run (the stand-ins raise if called).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import ctypes.wintypes
import importlib
import io
import os
import pkgutil
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

# What credd depends on, imported while the platform is still Linux.
for name in (
    "cryptography.hazmat.primitives.ciphers.aead",
    "fastapi",
    "filelock",
    "httpx",
    "keyring",
    "platformdirs",
    "pydantic",
    "starlette.applications",
    "uvicorn",
    "uvicorn.protocols.http.h11_impl",
    "uvicorn.protocols.http.httptools_impl",
    "tomllib",
    "getpass",
    "hashlib",
):
    with contextlib.suppress(ImportError):
        importlib.import_module(name)

UNIX_MODULES = ("fcntl", "pwd", "grp", "resource", "termios", "tty", "pty", "syslog")
UNIX_NAMES = {
    os: (
        "getuid",
        "geteuid",
        "getgid",
        "getegid",
        "getpgrp",
        "tcgetpgrp",
        "killpg",
        "setsid",
        "O_DIRECTORY",
    ),
    socket: ("AF_UNIX", "SO_PEERCRED", "SOCK_CLOEXEC"),
    signal: (
        "SIGHUP",
        "SIGQUIT",
        "SIGUSR1",
        "SIGUSR2",
        "SIGWINCH",
        "SIGCHLD",
        "SIGPIPE",
        "SIGALRM",
        "SIGKILL",
        "SIGXFSZ",
        "pthread_sigmask",
        "SIG_BLOCK",
        "SIG_UNBLOCK",
    ),
}


class _NotRunHere:
    """A Win32 function: declarable (restype, argtypes), never callable in the simulation."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: object) -> Any:
        raise OSError(f"{self.name}: a Win32 call, not run in the simulation")


class _WinDLL:
    def __init__(self, name: str, **_: object) -> None:
        self.name = name

    def __getattr__(self, function: str) -> _NotRunHere:
        made = _NotRunHere(f"{self.name}.{function}")
        setattr(self, function, made)
        return made


def _module(name: str, **attributes: object) -> types.ModuleType:
    module = types.ModuleType(name)
    vars(module).update(attributes)
    sys.modules[name] = module
    return module


def become_windows() -> None:
    for name in UNIX_MODULES:
        sys.modules[name] = None  # type: ignore[assignment]  # `import fcntl` fails
    for module, names in UNIX_NAMES.items():
        for attribute in names:
            with contextlib.suppress(AttributeError):
                delattr(module, attribute)
    signal.SIGBREAK = 21  # type: ignore[attr-defined]
    os.O_BINARY = 0x8000  # type: ignore[attr-defined]
    _module("msvcrt", open_osfhandle=_NotRunHere("msvcrt.open_osfhandle"))
    ctypes.WinDLL = _WinDLL  # type: ignore[attr-defined]
    ctypes.WinError = lambda code=None: OSError(f"Windows error {code}")  # type: ignore[attr-defined]
    ctypes.get_last_error = lambda: 0  # type: ignore[attr-defined]
    events = _module("asyncio.windows_events", PipeServer=type("PipeServer", (), {}))
    utils = _module("asyncio.windows_utils", PipeHandle=type("PipeHandle", (), {}))
    asyncio.windows_events, asyncio.windows_utils = events, utils  # type: ignore[attr-defined]
    sys.platform = "win32"


def import_everything() -> int:
    count = 0
    for package_name in ("credd_client", "credd"):
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            if info.name.endswith("__main__"):
                continue  # runs the CLI on import
            importlib.import_module(info.name)
            count += 1
    return count


def run_help(*words: str) -> str:
    from credd.cli import main

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        try:
            code = main([*words, "--help"])
        except SystemExit as exc:
            code = exc.code  # type: ignore[assignment]
    if code != 0:
        raise SystemExit(f"credd {' '.join(words)} --help exited {code}")
    return output.getvalue()


def write_and_read_the_store(folder: Path) -> str:
    from credd.store.core import PutCredential
    from credd.store.files import StoreFile
    from credd.store.keys import build_key_policy
    from credd.store.records import Credential
    from credd.store.vault import Vault

    def vault() -> Vault:
        opened = Vault(
            StoreFile(folder / "store.credd"), build_key_policy("keyfile", folder / "k", "sim")
        )
        opened.unlock()
        return opened

    vault().commit(PutCredential(Credential(name="sim", kind="secret", secret="s3cret")))
    secret = vault().state().credentials["sim"].secret
    return f"{secret == 's3cret'}"


def agent_lines(folder: Path) -> str:
    """`credd ssh-agent`'s last line (the SSH_AUTH_SOCK setting) for a home in ``folder``
    whose config.toml names the agent's pipe."""
    from credd.cli import main

    home = folder / "home"
    home.mkdir()
    (home / "config.toml").write_text(r"ssh_agent_pipe = '\\.\pipe\sim-agent'" + "\n")
    os.environ.update(CREDD_HOME=str(home), USERNAME="sim")
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = main(["ssh-agent"])
    if code != 0:
        raise SystemExit(f"credd ssh-agent exited {code}")
    return output.getvalue().splitlines()[-1]


def main() -> None:
    folder = Path(sys.argv[1])
    become_windows()

    print(f"imported {import_everything()} modules")
    print("help:", "exec" in run_help())
    print("exec help:", "--env VAR=NAME" in run_help("exec"))
    from credd_client.cli import supervisor

    print("forwarded:", sorted(int(sig) for sig in supervisor.FORWARDED))
    print("store:", write_and_read_the_store(folder))
    print("no O_DIRECTORY:", not hasattr(os, "O_DIRECTORY"))
    print("ssh-agent:", agent_lines(folder))


if __name__ == "__main__":
    # Keep these names used: they must be imported before the platform changes.
    _ = (shutil, subprocess, tempfile, ctypes.util, ctypes.wintypes)
    main()
