"""Where credd keeps its state, as the contract places it.

`CREDD_HOME` puts everything (store, lock, key file, logs, config.toml) in one folder;
otherwise the store lives in the platform's data folder and the config in its config folder.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from credd_client import socket_path
from credd_client._paths import agent_pipe_name, agent_socket_path, views_folder_name

APP_NAME = "credd"


@dataclass(frozen=True)
class StatePaths:
    state_dir: Path
    config_file: Path
    socket: Path
    # The views' sockets: beside the socket, one folder per home (see views_folder_name).
    views: Path
    # The SSH agent's socket beside it (None on Windows: a named pipe, see agent_pipe).
    agent_socket: Path | None = None

    @property
    def store(self) -> Path:
        return self.state_dir / "store.credd"

    @property
    def key_file(self) -> Path:
        return self.state_dir / "store.key"

    @property
    def audit_log(self) -> Path:
        return self.state_dir / "audit.log"

    @property
    def keyring_account(self) -> str:
        """One keyring entry per store, so two CREDD_HOMEs never share or clobber a key."""
        return f"store-key:{self.store}"


def resolve_paths(env: Mapping[str, str] | None = None) -> StatePaths:
    env = os.environ if env is None else env
    home = env.get("CREDD_HOME")
    if home:
        state_dir = Path(os.path.abspath(os.path.expanduser(home)))
        config_file = state_dir / "config.toml"
    else:
        state_dir = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        config_file = Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"
    socket = Path(socket_path(env))
    return StatePaths(
        state_dir=state_dir,
        config_file=config_file,
        socket=socket,
        views=socket.parent / views_folder_name(env),
        agent_socket=None if sys.platform == "win32" else Path(agent_socket_path(env)),
    )


def agent_pipe(configured: str | None, env: Mapping[str, str]) -> str:
    """Windows: the pipe the SSH agent serves: ``ssh_agent_pipe`` from config.toml, else the
    default for this home (OpenSSH for Windows' own pipe, or one per ``CREDD_HOME``)."""
    return configured or agent_pipe_name(env)
