"""The daemon's commands of `credd`: those that need the daemon's distribution.

`credd` itself is the client's (credd_client.cli): it runs the client-side commands (`get`,
`set`, `list`, ...) on its own and hands the commands below to these modules when this
package is installed. Each module registers its own subcommands (`register(commands)`);
a command returns its exit code. Heavy imports wait until a command runs.
"""

from __future__ import annotations

from credd_client.cli import main

# The modules of this package that register commands, in help order, with the commands each
# registers. tests/unit/test_cli_groups.py checks this table against what the modules
# register, and against the client's list of the daemon's commands (DAEMON_COMMANDS).
COMMAND_GROUPS: dict[str, tuple[str, ...]] = {
    "daemon": ("serve",),
    "oauth": ("login", "logout"),
    "importer": ("import",),
    "keys": ("rekey",),
    "service": ("service",),
    "audit": ("audit",),
    "recovery": ("backup", "restore", "reset"),
    "views": ("view", "ssh"),
    "sshkeys": ("ssh-key", "ssh-agent"),
}

__all__ = ["COMMAND_GROUPS", "main"]
