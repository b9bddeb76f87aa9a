"""The SSH agent on Windows' named pipe: the parts that run anywhere (which pipe, which
listener, what `credd ssh-agent` and `credd status` print). The Win32 calls do not run here."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import cast

import pytest

from credd.cli.sshkeys import agent_lines
from credd.config import Config, ConfigError, load_config
from credd.paths import StatePaths, agent_pipe
from credd.sshagent.agent import Agent
from credd.sshagent.listener import AgentPipeServer, AgentServer, AgentSocketError, daemon_agent
from credd_client import _paths
from credd_client._paths import OPENSSH_AGENT_PIPE, agent_pipe_name
from credd_client.cli.admin import agent_state, format_agent

# Only stored by the listeners these tests make, never called.
AGENT = cast(Agent, object())


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")


@pytest.mark.usefixtures("windows")
def test_the_default_pipe_is_the_one_openssh_for_windows_opens() -> None:
    assert OPENSSH_AGENT_PIPE == r"\\.\pipe\openssh-ssh-agent"
    assert _paths.agent_socket_path({"USERNAME": "ada"}) == OPENSSH_AGENT_PIPE
    # CREDD_SOCKET moves the daemon's pipe, not the agent's: ssh looks where it always does.
    assert _paths.agent_socket_path({"USERNAME": "ada", "CREDD_SOCKET": r"\\.\pipe\x"}) == (
        OPENSSH_AGENT_PIPE
    )


@pytest.mark.usefixtures("windows")
def test_a_home_of_its_own_gets_an_agent_pipe_of_its_own(tmp_path: Path) -> None:
    """Two daemons never claim one pipe: a CREDD_HOME's agent is named after its daemon's pipe."""
    env = {"USERNAME": "ada", "CREDD_HOME": str(tmp_path / "home")}
    pipe = _paths.agent_socket_path(env)
    assert pipe == _paths.pipe_name(env) + "-ssh-agent"
    assert pipe.startswith(r"\\.\pipe\credd-ada-")
    other = _paths.agent_socket_path({**env, "CREDD_HOME": str(tmp_path / "other")})
    assert len({pipe, other, OPENSSH_AGENT_PIPE}) == 3


def test_config_names_the_pipe_else_the_default_for_the_home(tmp_path: Path) -> None:
    home = {"USERNAME": "ada", "CREDD_HOME": str(tmp_path)}
    assert agent_pipe(r"\\.\pipe\mine", home) == r"\\.\pipe\mine"
    assert agent_pipe(None, {"USERNAME": "ada"}) == OPENSSH_AGENT_PIPE
    assert agent_pipe(None, home) == _paths.pipe_name(home) + "-ssh-agent"


@pytest.mark.parametrize(
    "pipe", [r"\\.\pipe\mine", r"\\.\pipe\with space.and-dots", "\\\\.\\pipe\\" + "x" * 247]
)
def test_a_local_pipe_name_is_accepted(pipe: str) -> None:
    assert Config.model_validate({"ssh_agent_pipe": pipe}).ssh_agent_pipe == pipe


@pytest.mark.parametrize(
    "pipe",
    [
        "",
        "/tmp/agent.sock",
        "\\\\.\\pipe\\",  # no name
        r"\\.\pipe\a\b",  # a backslash in the name
        r"\\server\pipe\x",  # a remote pipe
        r"\\.\pipe\x" + "\n",
        "\\\\.\\pipe\\" + "x" * 248,  # longer than the 256 characters a pipe's name may have
    ],
)
def test_anything_but_a_local_pipe_is_refused_with_the_form_it_must_have(
    pipe: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"log_level = 'info'\nssh_agent_pipe = '''{pipe}'''\n")
    with pytest.raises(ConfigError, match=r"line 2, option 'ssh_agent_pipe'.*\\\\.\\pipe\\NAME"):
        load_config(config)


def paths(tmp_path: Path, agent_socket: Path | None) -> StatePaths:
    return StatePaths(
        state_dir=tmp_path,
        config_file=tmp_path / "config.toml",
        socket=tmp_path / "credd.sock",
        views=tmp_path / "views",
        agent_socket=agent_socket,
    )


def test_windows_serves_the_agent_on_its_pipe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    configured = Config.model_validate({"ssh_agent_pipe": r"\\.\pipe\mine"})
    listener = daemon_agent(AGENT, paths(tmp_path, None), configured, {"USERNAME": "ada"})
    assert isinstance(listener, AgentPipeServer)
    assert listener.where == r"\\.\pipe\mine"
    default = daemon_agent(
        AGENT, paths(tmp_path, None), Config.model_validate({}), {"USERNAME": "ada"}
    )
    assert isinstance(default, AgentPipeServer)
    assert default.where == OPENSSH_AGENT_PIPE


def test_unix_serves_the_agent_on_its_socket(tmp_path: Path) -> None:
    socket = tmp_path / "ssh-agent.sock"
    configured = Config.model_validate({"ssh_agent_pipe": r"\\.\pipe\mine"})  # Windows only
    listener = daemon_agent(AGENT, paths(tmp_path, socket), configured, {})
    assert isinstance(listener, AgentServer)
    assert listener.where == str(socket)
    assert daemon_agent(AGENT, paths(tmp_path, None), Config.model_validate({}), {}) is None


def test_a_pipe_is_refused_off_windows_with_a_reason() -> None:
    with pytest.raises(AgentSocketError, match="Windows only"):
        asyncio.run(AgentPipeServer(AGENT, OPENSSH_AGENT_PIPE).start())


def test_credd_ssh_agent_on_windows_says_the_default_pipe_needs_no_setting() -> None:
    lines = agent_lines(OPENSSH_AGENT_PIPE, "powershell").splitlines()
    assert lines[-1] == r"$env:SSH_AUTH_SOCK = '\\.\pipe\openssh-ssh-agent'"
    notes = "\n".join(lines[:-1])
    assert all(line.startswith("#") for line in lines[:-1])
    assert "when SSH_AUTH_SOCK is unset" in notes
    assert "Stop-Service ssh-agent; Set-Service ssh-agent -StartupType Disabled" in notes
    cmd = agent_lines(OPENSSH_AGENT_PIPE, "cmd").splitlines()
    assert all(line.startswith("REM ") for line in cmd[:-1])
    assert cmd[-1] == r"set SSH_AUTH_SOCK=\\.\pipe\openssh-ssh-agent"


def test_credd_ssh_agent_on_windows_sets_a_pipe_of_credds_own() -> None:
    assert agent_lines(r"\\.\pipe\it's mine", "powershell") == (
        "$env:SSH_AUTH_SOCK = '\\\\.\\pipe\\it''s mine'\n"  # PowerShell doubles a quote
    )
    assert agent_lines(r"\\.\pipe\mine", "cmd") == "set SSH_AUTH_SOCK=\\\\.\\pipe\\mine\n"


@pytest.mark.usefixtures("windows")
def test_credd_status_on_windows_names_the_pipe_and_another_agent() -> None:
    """The pipe is compared by name (resolving it would open it) and no systemd unit is read."""
    same = agent_state({"USERNAME": "ada", "SSH_AUTH_SOCK": r"\\.\PIPE\OpenSSH-SSH-Agent"})
    assert same["socket"] == OPENSSH_AGENT_PIPE
    assert same["other_agent"] is False
    assert same["units_outdated"] is False
    unset = agent_state({"USERNAME": "ada"})  # OpenSSH for Windows' default: credd's pipe
    assert unset["other_agent"] is False
    other = agent_state({"USERNAME": "ada", "SSH_AUTH_SOCK": r"\\.\pipe\pageant.ada"})
    assert other["other_agent"] is True
    shown = "\n".join(format_agent(other))
    assert r"SSH_AUTH_SOCK points at another agent (\\.\pipe\pageant.ada)" in shown
    assert "`credd ssh-agent | Invoke-Expression`" in shown


@pytest.mark.usefixtures("windows")
def test_credd_status_on_windows_names_the_pipe_config_toml_names(tmp_path: Path) -> None:
    env = {"USERNAME": "ada", "CREDD_HOME": str(tmp_path)}
    (tmp_path / "config.toml").write_text("ssh_agent_pipe = '\\\\.\\pipe\\mine'\n")
    assert agent_state(env)["socket"] == r"\\.\pipe\mine"
    (tmp_path / "config.toml").write_text("ssh_agent_pipe = [broken\n")  # the daemon says why
    assert agent_state(env)["socket"] == agent_pipe_name(env)
