"""Start at login: the platform's service definition, rendered from the templates and enabled.

The templates live in `systemd/` and `packaging/` (shipped in the package as `templates/`);
`@NAME@` fields get real paths: the installed `credd` program, the socket the clients of
this environment look for, the state folder. Each platform says which files it writes and
which commands enable, disable and show it; `credd service` (cli/service.py) runs them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from xml.sax.saxutils import escape

from .paths import StatePaths

SYSTEMD_UNITS = ("credd.socket", "credd.service", "credd-ssh-agent.socket")
SYSTEMD_SOCKETS = ("credd.socket", "credd-ssh-agent.socket")
SYSTEMD_STRICT = "credd-strict.conf"  # the sandbox `--strict` adds to credd.service
LAUNCHD_LABEL = "dev.credd.credd"
WINDOWS_TASK = "credd"
MANAGER_TIMEOUT = 15.0
_FIELD = re.compile(r"@[A-Z_]+@")


def template(name: str) -> str:
    return resources.files("credd").joinpath("templates", name).read_text(encoding="utf-8")


def render(text: str, fields: Mapping[str, str]) -> str:
    for name, value in fields.items():
        text = text.replace(f"@{name}@", value)
    leftover = _FIELD.findall(text)
    if leftover:
        raise ValueError(f"template fields left unrendered: {leftover}")
    return text


def _interpreter_of(program: str) -> str | None:
    """The interpreter a script's `#!` line names, or None for a binary or no such file."""
    try:
        with open(program, "rb") as handle:
            first = handle.readline(4096)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode(errors="replace").split()
    return words[0] if words and os.path.isabs(words[0]) else None


def credd_command() -> list[str]:
    """How to run this credd: its console script beside the interpreter, else `-m credd`.

    On Windows, `pythonw.exe -m credd` when there is one: credd.exe and python.exe are console
    programs, and a daemon started by one lives in a console window whose closing kills it.
    """
    if sys.platform == "win32":
        windowless = Path(sys.executable).with_name("pythonw.exe")
        if windowless.is_file():
            return [str(windowless), "-m", "credd"]
    script = Path(sys.executable).parent / ("credd.exe" if sys.platform == "win32" else "credd")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("credd")
    if found:
        return [os.path.abspath(found)]
    return [sys.executable, "-m", "credd"]


@dataclass(frozen=True)
class Setup:
    """What the definitions point at, taken from the environment `credd service` runs in."""

    command: Sequence[str]
    socket: str
    state_dir: Path
    home: Path
    environment: Mapping[str, str] = field(default_factory=dict)
    # The stricter sandbox that costs program identification (systemd: `--strict`).
    strict: bool = False
    # Where the program lives beyond its command (the package it imports).
    locations: Sequence[str] = ()
    # The SSH agent's socket beside the main one (empty: none, as on Windows).
    agent_socket: str = ""

    @classmethod
    def current(
        cls, paths: StatePaths, env: Mapping[str, str] | None = None, *, strict: bool = False
    ) -> Setup:
        env = os.environ if env is None else env
        extra = {"CREDD_HOME": env["CREDD_HOME"]} if env.get("CREDD_HOME") else {}
        return cls(
            command=credd_command(),
            socket=str(paths.socket),
            state_dir=paths.state_dir,
            home=Path(env.get("HOME") or Path.home()),
            environment=extra,
            strict=strict,
            locations=(str(Path(__file__).resolve().parent),),
            agent_socket="" if paths.agent_socket is None else str(paths.agent_socket),
        )

    def agent_socket_path(self) -> str:
        """The agent's socket: the one the daemon binds, else ssh-agent.sock beside the main."""
        return self.agent_socket or os.path.join(os.path.dirname(self.socket), "ssh-agent.sock")

    def program_paths(self) -> list[str]:
        """Where the program lives: the command's paths, a script's interpreter, the package."""
        return [*program_locations(self.command), *self.locations]

    @property
    def log_file(self) -> Path:
        return self.state_dir / "credd.log"


def program_locations(command: Sequence[str]) -> list[str]:
    """The files a command needs to start: its paths as given and resolved, and the
    interpreter a script's `#!` names (systemd execs the script; the kernel, that)."""
    paths = [word for word in command if os.path.isabs(word)]
    for word in list(paths):
        paths.append(os.path.realpath(word))
        interpreter = _interpreter_of(word)
        if interpreter is not None:
            paths.extend((interpreter, os.path.realpath(interpreter)))
    return paths


@dataclass(frozen=True)
class ServiceFile:
    path: Path
    text: str
    encoding: str = "utf-8"

    def data(self) -> bytes:
        return self.text.encode(self.encoding)


class LoginService(ABC):
    """One platform's way of starting credd at login."""

    name: str

    def __init__(self, setup: Setup, env: Mapping[str, str] | None = None) -> None:
        self.setup = setup
        self.env = os.environ if env is None else env

    @abstractmethod
    def files(self) -> list[ServiceFile]: ...

    @abstractmethod
    def enable_commands(self) -> list[list[str]]: ...

    def may_fail(self, command: list[str]) -> bool:
        """A step of enabling whose failure is expected (unloading what is not loaded)."""
        return False

    def retry(self, command: list[str], code: int, output: str) -> bool:
        """A failure of ``command`` that goes away by itself: try it again shortly."""
        return False

    @abstractmethod
    def disable_commands(self) -> list[list[str]]: ...

    @abstractmethod
    def status_command(self) -> list[str]: ...

    @abstractmethod
    def manager_problem(self) -> str | None:
        """Why the service manager cannot be used now, or None when it can."""


# --- systemd ---------------------------------------------------------------------------------


def systemd_quote(word: str) -> str:
    """One ExecStart= word: specifiers escaped, quoted when it holds blanks or quotes."""
    word = word.replace("%", "%%")
    if word and not any(c in word for c in " \t\"'\\;"):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_socket_spec(socket: str, env: Mapping[str, str]) -> str:
    """The socket path for a unit: under `%t` when it is in $XDG_RUNTIME_DIR."""
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime:
        prefix = runtime.rstrip("/") + "/"
        if socket.startswith(prefix):
            return "%t/" + socket[len(prefix) :].replace("%", "%%")
    return socket.replace("%", "%%")


def _inside(path: str, folder: str) -> bool:
    return os.path.abspath(path).startswith(folder.rstrip("/") + "/")


class SystemdUserService(LoginService):
    name = "systemd"

    @property
    def unit_dir(self) -> Path:
        config = self.env.get("XDG_CONFIG_HOME") or str(self.setup.home / ".config")
        return Path(config) / "systemd" / "user"

    def fields(self) -> dict[str, str]:
        environment = "\n".join(
            f"Environment={systemd_quote(f'{key}={value}')}"
            for key, value in sorted(self.setup.environment.items())
        )
        fields = {
            "SOCKET": systemd_socket_spec(self.setup.socket, self.env),
            "AGENT_SOCKET": systemd_socket_spec(self.setup.agent_socket_path(), self.env),
            "EXEC_START": " ".join(systemd_quote(word) for word in self.setup.command),
            "ENVIRONMENT": environment,
            "STRICT": "",
        }
        if self.setup.strict:
            socket_dir = os.path.dirname(self.setup.socket)
            strict = {
                "STATE_DIR": systemd_quote(str(self.setup.state_dir)),
                # Views bind their sockets beside the main one ("-": systemd made it already).
                "SOCKET_DIR": "-" + systemd_socket_spec(socket_dir, self.env),
                "PRIVATE_TMP": "no" if self.needs_real_tmp() else "yes",
            }
            fields["STRICT"] = "\n" + render(template(SYSTEMD_STRICT), strict)
        return fields

    def needs_real_tmp(self) -> bool:
        """A private /tmp would hide what lives in the real one: the socket, the state folder,
        the program or its interpreter (systemd could not even start it: 203/EXEC)."""
        paths = [self.setup.socket, str(self.setup.state_dir), *self.setup.program_paths()]
        return any(
            _inside(path, folder)
            for path in paths
            for folder in ("/tmp", "/var/tmp")  # noqa: S108 - compared, not used
        )

    def files(self) -> list[ServiceFile]:
        fields = self.fields()
        return [
            ServiceFile(self.unit_dir / name, render(template(name), fields))
            for name in SYSTEMD_UNITS
        ]

    def enable_commands(self) -> list[list[str]]:
        return [
            ["systemctl", "--user", "daemon-reload"],
            ["systemctl", "--user", "enable", "--now", *SYSTEMD_SOCKETS],
        ]

    def disable_commands(self) -> list[list[str]]:
        return [["systemctl", "--user", "disable", "--now", *SYSTEMD_SOCKETS, "credd.service"]]

    def status_command(self) -> list[str]:
        return ["systemctl", "--user", "status", "--no-pager", *SYSTEMD_SOCKETS, "credd.service"]

    def manager_problem(self) -> str | None:
        if shutil.which("systemctl") is None:
            return "systemctl is not installed"
        try:
            probe = subprocess.run(
                ["systemctl", "--user", "show-environment"],  # noqa: S607 - found on PATH
                capture_output=True,
                text=True,
                timeout=MANAGER_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"systemctl --user does not answer ({exc})"
        if probe.returncode != 0:
            reason = (probe.stderr.strip().splitlines() or ["no user service manager"])[0]
            return f"no systemd user manager for this session ({reason})"
        return None


# --- launchd ---------------------------------------------------------------------------------


class LaunchAgent(LoginService):
    name = "launchd"

    @property
    def plist_path(self) -> Path:
        return self.setup.home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"

    def files(self) -> list[ServiceFile]:
        arguments = "".join(
            f"        <string>{escape(word)}</string>\n"
            for word in [*self.setup.command, "serve", "--log-file", str(self.setup.log_file)]
        )
        environment = "".join(
            f"        <key>{escape(key)}</key>\n        <string>{escape(value)}</string>\n"
            for key, value in sorted(self.setup.environment.items())
        )
        fields = {
            "PROGRAM_ARGUMENTS": arguments,
            "SOCKET": escape(self.setup.socket),
            "AGENT_SOCKET": escape(self.setup.agent_socket_path()),
            "ENVIRONMENT": environment,
            "LOG": escape(str(self.setup.log_file)),
        }
        text = render(template(f"{LAUNCHD_LABEL}.plist"), fields)
        return [ServiceFile(self.plist_path, text)]

    def _domain(self) -> str:
        if sys.platform == "win32":
            raise NotImplementedError("launchd is macOS only")
        return f"gui/{os.getuid()}"

    def enable_commands(self) -> list[list[str]]:
        # Unload first, so that installing again loads the plist as now written; enable
        # before bootstrap, which refuses a disabled label.
        return [
            *self.disable_commands(),
            ["launchctl", "enable", f"{self._domain()}/{LAUNCHD_LABEL}"],
            ["launchctl", "bootstrap", self._domain(), str(self.plist_path)],
        ]

    def may_fail(self, command: list[str]) -> bool:
        return command in self.disable_commands()

    def retry(self, command: list[str], code: int, output: str) -> bool:
        # launchd unloads a booted-out agent in the background: until it is done, bootstrap
        # fails with "Bootstrap failed: 5: Input/output error" (or 37, already in progress).
        return command[:2] == ["launchctl", "bootstrap"] and code in (5, 37)

    def disable_commands(self) -> list[list[str]]:
        return [["launchctl", "bootout", f"{self._domain()}/{LAUNCHD_LABEL}"]]

    def status_command(self) -> list[str]:
        return ["launchctl", "print", f"{self._domain()}/{LAUNCHD_LABEL}"]

    def manager_problem(self) -> str | None:
        return None if shutil.which("launchctl") else "launchctl is not available"


# --- Windows ---------------------------------------------------------------------------------


class WindowsTask(LoginService):
    name = "Task Scheduler"

    @property
    def task_file(self) -> Path:
        return self.setup.state_dir / "credd-task.xml"

    def files(self) -> list[ServiceFile]:
        command, *rest = self.setup.command
        user = self.env.get("USERDOMAIN", "") + "\\" + self.env.get("USERNAME", "")
        fields = {
            "USER": escape(user.lstrip("\\")),
            "COMMAND": escape(command),
            "ARGUMENTS": escape(
                subprocess.list2cmdline([*rest, "serve", "--log-file", str(self.setup.log_file)])
            ),
        }
        text = render(template("credd-task.xml"), fields)
        return [ServiceFile(self.task_file, text, encoding="utf-16")]

    def enable_commands(self) -> list[list[str]]:
        return [
            ["schtasks", "/Create", "/TN", WINDOWS_TASK, "/XML", str(self.task_file), "/F"],
            ["schtasks", "/Run", "/TN", WINDOWS_TASK],
        ]

    def disable_commands(self) -> list[list[str]]:
        return [["schtasks", "/Delete", "/TN", WINDOWS_TASK, "/F"]]

    def status_command(self) -> list[str]:
        return ["schtasks", "/Query", "/TN", WINDOWS_TASK, "/V", "/FO", "LIST"]

    def manager_problem(self) -> str | None:
        return None if shutil.which("schtasks") else "schtasks is not available"


def for_platform(
    setup: Setup, platform: str = sys.platform, env: Mapping[str, str] | None = None
) -> LoginService:
    if platform == "darwin":
        return LaunchAgent(setup, env)
    if platform == "win32":
        return WindowsTask(setup, env)
    return SystemdUserService(setup, env)
