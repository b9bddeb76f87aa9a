"""The login service definitions, rendered for each platform and parsed as the platform would."""

from __future__ import annotations

import plistlib
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from credd.at_login import (
    LaunchAgent,
    Setup,
    SystemdUserService,
    WindowsTask,
    for_platform,
    program_locations,
    render,
    systemd_quote,
    systemd_socket_spec,
)
from credd.system.activation import LAUNCHD_SOCKETS

TASK_NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}


def setup(
    tmp_path: Path,
    command: tuple[str, ...] = ("/opt/credd & co/bin/credd",),
    *,
    strict: bool = False,
) -> Setup:
    return Setup(
        command=command,
        socket="/tmp/credd-501/credd.sock",
        state_dir=tmp_path / "Application Support" / "credd",
        home=tmp_path,
        environment={"CREDD_HOME": str(tmp_path / "h<o>me")},
        strict=strict,
    )


def service_text(
    command: tuple[str, ...] = ("/usr/bin/credd",),
    socket: str = "/run/user/501/credd/credd.sock",
    *,
    strict: bool = True,
) -> str:
    """The rendered credd.service of a user whose state and socket are outside /tmp."""
    runtime = Setup(
        command=command,
        socket=socket,
        state_dir=Path("/home/ada/.local/share/credd"),
        home=Path("/home/ada"),
        strict=strict,
    )
    return SystemdUserService(runtime, env={"XDG_RUNTIME_DIR": "/run/user/501"}).files()[1].text


# The options that need a mount or UTS namespace: in a user manager they imply PrivateUsers=.
NAMESPACE_OPTIONS = (
    "PrivateUsers=",
    "PrivateTmp=",
    "PrivateMounts=",
    "PrivateDevices=",
    "ProtectSystem=",
    "ProtectHome=",
    "ReadWritePaths=",
    "ProtectProc=",
    "ProcSubset=",
    "ProtectKernelTunables=",
    "ProtectKernelModules=",
    "ProtectKernelLogs=",
    "ProtectControlGroups=",
    "ProtectHostname=",
    # Not namespaces, but a user manager applies them only inside one (218/CAPABILITIES).
    "CapabilityBoundingSet=",
    "ProtectClock=",
)


def test_the_launch_agent_is_a_valid_plist_that_runs_serve_at_login(tmp_path: Path) -> None:
    agent = LaunchAgent(setup(tmp_path), env={})
    (item,) = agent.files()
    assert item.path == tmp_path / "Library" / "LaunchAgents" / "dev.credd.credd.plist"
    plist = plistlib.loads(item.data())
    assert plist["Label"] == "dev.credd.credd"
    log = str(tmp_path / "Application Support" / "credd" / "credd.log")
    assert plist["ProgramArguments"] == ["/opt/credd & co/bin/credd", "serve", "--log-file", log]
    assert plist["RunAtLoad"] is True
    # Restarted after any exit: a clean exit too (the daemon stops when its socket is removed).
    assert plist["KeepAlive"] is True
    assert plist["ProcessType"] == "Interactive"  # Background is throttled; clients wait on it
    # The socket the clients of the installing shell compute, given to the daemon as is.
    assert plist["EnvironmentVariables"] == {
        "CREDD_SOCKET": "/tmp/credd-501/credd.sock",
        "CREDD_HOME": str(tmp_path / "h<o>me"),
    }
    assert plist["StandardErrorPath"].endswith("credd/credd.log")
    assert plist["Umask"] == 0o077
    unload, enable, load = agent.enable_commands()  # enable first: bootstrap refuses disabled
    assert enable[:2] == ["launchctl", "enable"]
    assert unload[:2] == ["launchctl", "bootout"]
    assert agent.may_fail(unload)  # not loaded yet, the first time
    assert load[:2] == ["launchctl", "bootstrap"]
    assert str(item.path) in load
    assert not agent.may_fail(load)


def test_the_launch_agent_declares_both_sockets_by_the_names_the_daemon_takes(
    tmp_path: Path,
) -> None:
    """launchd binds the API's socket and the agent's (0600) and hands them over by these keys."""
    plist = plistlib.loads(LaunchAgent(setup(tmp_path), env={}).files()[0].data())
    assert plist["Sockets"] == {
        "credd": {"SockPathName": "/tmp/credd-501/credd.sock", "SockPathMode": 0o600},
        "ssh-agent": {"SockPathName": "/tmp/credd-501/ssh-agent.sock", "SockPathMode": 0o600},
    }
    assert set(plist["Sockets"]) == set(LAUNCHD_SOCKETS.values())
    # A CREDD_HOME's agent socket is named after it, as the daemon binds it.
    own = replace(setup(tmp_path), agent_socket="/tmp/credd-501/ssh-agent-0123456789ab.sock")
    sockets = plistlib.loads(LaunchAgent(own, env={}).files()[0].data())["Sockets"]
    assert sockets["ssh-agent"]["SockPathName"] == "/tmp/credd-501/ssh-agent-0123456789ab.sock"


def test_the_windows_task_is_valid_utf16_xml_that_runs_serve_at_logon(tmp_path: Path) -> None:
    task = WindowsTask(
        setup(tmp_path, ("C:\\Program Files\\Python\\python.exe", "-m", "credd")),
        env={"USERDOMAIN": "DESK", "USERNAME": "ada"},
    )
    (item,) = task.files()
    data = item.data()
    assert data.startswith(b"\xff\xfe")  # UTF-16 with its byte order mark, as declared
    root = ET.fromstring(data)
    assert root.find("t:Triggers/t:LogonTrigger/t:UserId", TASK_NS).text == "DESK\\ada"  # type: ignore[union-attr]
    assert root.find("t:Actions/t:Exec/t:Command", TASK_NS).text == (  # type: ignore[union-attr]
        "C:\\Program Files\\Python\\python.exe"
    )
    log = str(tmp_path / "Application Support" / "credd" / "credd.log")
    assert root.find("t:Actions/t:Exec/t:Arguments", TASK_NS).text == (  # type: ignore[union-attr]
        f'-m credd serve --log-file "{log}"'
    )
    assert root.find("t:Settings/t:MultipleInstancesPolicy", TASK_NS).text == "IgnoreNew"  # type: ignore[union-attr]
    create = task.enable_commands()[0]
    assert create[:3] == ["schtasks", "/Create", "/TN"]
    assert str(item.path) in create


def test_systemd_words_are_quoted_and_specifiers_escaped() -> None:
    assert systemd_quote("/usr/bin/credd") == "/usr/bin/credd"
    assert systemd_quote("/home/a b/credd") == '"/home/a b/credd"'
    assert systemd_quote("/home/100%/credd") == "/home/100%%/credd"
    assert systemd_quote('/x"y\\z') == '"/x\\"y\\\\z"'
    runtime = {"XDG_RUNTIME_DIR": "/run/user/1000/"}
    assert systemd_socket_spec("/run/user/1000/credd/credd.sock", runtime) == "%t/credd/credd.sock"
    assert systemd_socket_spec("/tmp/credd-1000/credd.sock", runtime) == (
        "/tmp/credd-1000/credd.sock"
    )


def test_systemd_units_are_rendered_whole(tmp_path: Path) -> None:
    units = SystemdUserService(setup(tmp_path), env={"XDG_CONFIG_HOME": str(tmp_path / "c")})
    socket_unit, service_unit, agent_unit = units.files()
    assert socket_unit.path == tmp_path / "c" / "systemd" / "user" / "credd.socket"
    assert "ListenStream=/tmp/credd-501/ssh-agent.sock" in agent_unit.text
    assert "Sockets=credd.socket credd-ssh-agent.socket" in service_unit.text
    assert 'ExecStart="/opt/credd & co/bin/credd" serve' in service_unit.text
    assert f"Environment=CREDD_HOME={tmp_path / 'h<o>me'}" in service_unit.text
    assert "Type=notify" in service_unit.text
    assert not re.search(r"@[A-Z_]+@", socket_unit.text + service_unit.text + agent_unit.text)
    strict = SystemdUserService(setup(tmp_path, strict=True), env={}).files()[1].text
    assert f'ReadWritePaths="{tmp_path / "Application Support" / "credd"}"' in strict
    assert not re.search(r"@[A-Z_]+@", strict)


def test_the_default_unit_keeps_the_daemon_in_the_users_namespaces() -> None:
    """Per-program access needs /proc/PID/exe of the clients: no PrivateUsers=, implied or not."""
    default = service_text(strict=False)
    lines = default.splitlines()
    for option in NAMESPACE_OPTIONS:
        assert not any(line.startswith(option) for line in lines), option
    for kept in ("NoNewPrivileges=yes", "LimitCORE=0", "SystemCallFilter=@system-service"):
        assert kept in lines
    strict = service_text(strict=True).splitlines()
    for option in NAMESPACE_OPTIONS:
        assert any(line.startswith(option) for line in strict), option
    assert strict[: len(lines) - 2] == lines[:-2]  # the default, plus the sandbox


def test_an_unrendered_field_is_an_error() -> None:
    with pytest.raises(ValueError, match="@MISSING@"):
        render("a=@MISSING@\n", {})


@pytest.mark.parametrize(
    ("platform", "kind"),
    [("linux", SystemdUserService), ("darwin", LaunchAgent), ("win32", WindowsTask)],
)
def test_each_platform_gets_its_own_service(tmp_path: Path, platform: str, kind: type) -> None:
    assert isinstance(for_platform(setup(tmp_path), platform, env={}), kind)


def test_a_socket_in_tmp_keeps_the_real_tmp(tmp_path: Path) -> None:
    in_tmp = SystemdUserService(setup(tmp_path, strict=True), env={})  # /tmp/credd-501/...
    assert "PrivateTmp=no" in in_tmp.files()[1].text
    assert "PrivateTmp=yes" in service_text()
    assert "PrivateTmp=no" in service_text(socket="/var/tmp/credd-501/credd.sock")


def test_a_program_in_tmp_keeps_the_real_tmp(tmp_path: Path) -> None:
    """systemd cannot exec a program, or a script's interpreter, hidden by a private /tmp."""
    assert "PrivateTmp=no" in service_text(command=("/tmp/venv/bin/credd",))
    assert "PrivateTmp=no" in service_text(command=("/tmp/py/bin/python3", "-m", "credd"))
    assert "PrivateTmp=yes" in service_text(command=("/usr/bin/credd",))
    # Where the script lives (tmp_path) and where its interpreter does, and links resolved.
    script = tmp_path / "credd"
    script.write_text("#!/tmp/venv/bin/python -I\nimport credd\n")
    assert program_locations([str(script), "serve"]) == [
        str(script), str(script), "/tmp/venv/bin/python", "/tmp/venv/bin/python"
    ]  # fmt: skip
    script.write_bytes(b"\x7fELF\x02")
    assert program_locations([str(script)]) == [str(script), str(script)]
    link = tmp_path / "link"
    link.symlink_to("/opt/elsewhere/credd")
    assert program_locations([str(link)]) == [str(link), "/opt/elsewhere/credd"]
    # The package the program imports counts too.
    runtime = Setup(
        command=("/usr/bin/credd",),
        socket="/run/user/501/credd/credd.sock",
        state_dir=Path("/home/ada/.local/share/credd"),
        home=Path("/home/ada"),
        strict=True,
        locations=("/tmp/checkout/daemon/credd",),
    )
    units = SystemdUserService(runtime, env={"XDG_RUNTIME_DIR": "/run/user/501"})
    assert "PrivateTmp=no" in units.files()[1].text
