"""`credd`, the one command line, from the standard-library client distribution.

The client-side commands are modules of this package; the daemon's commands (`serve`,
`login`, `import`, ...) are modules of `credd.cli`, handed over to when the daemon's
distribution is installed, and named with how to install it when it is not (exit 2).

`credd get NAME` and `credd list`, exactly these, are the hot paths: they are recognised
here, before argparse (and with it `re` and `gettext`) is imported, and run the same code
the full parser would (`credentials.print_secret`, `credentials.print_list`).
Everything else goes through the parser (`parser.py`), which imports only the module of the
command it runs.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # `typing` costs milliseconds at every `credd get` start
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

# The client-side commands: the module of this package registering them, and the commands
# each registers, in help order. A module exposes `register(commands)`, adding subparsers
# whose `run(args) -> int` does the work (as credd.cli's modules do).
COMMANDS: dict[str, tuple[str, ...]] = {
    "credentials": ("get", "set", "delete", "list"),
    "admin": ("status", "lock", "unlock"),
    "refresh": ("refresh",),
    "exec": ("exec",),
    "render": ("render",),
    "aws": ("aws",),
    "kube": ("kube",),
    "completion": ("completion",),
}

# The daemon's commands (credd.cli.COMMAND_GROUPS registers them), with their one-line help,
# for `credd --help` on a machine without the daemon. tests/unit/test_cli_groups.py holds
# the two to the same names. A command moving to the client moves from here to COMMANDS.
DAEMON_COMMANDS: dict[str, str] = {
    "serve": "run the daemon in the foreground",
    "login": "log in with OAuth 2.0 and keep the tokens fresh in the daemon",
    "logout": "revoke an OAuth credential's tokens (RFC 7009) and delete it",
    "import": "move plaintext credentials into credd",
    "rekey": "re-encrypt the store under another key source",
    "service": "start credd at login (systemd, launchd, Windows task)",
    "audit": "show the audit log: who read or changed what",
    "backup": "write every credential to a passphrase-encrypted file",
    "restore": "read a backup file back into the store",
    "reset": "move an unreadable store aside and start an empty one",
    "view": "views: a second socket exposing only chosen credentials",
    "ssh": "ssh with a view forwarded onto the remote user's socket",
    "ssh-key": "SSH keys held by credd: import, generate, list, delete, order, offer",
    "ssh-agent": "print the lines that point SSH_AUTH_SOCK at credd's agent",
}

EXIT_NO_DAEMON_PACKAGE = 2
DAEMON_INSTALL_HINT = (
    "it comes with the daemon's distribution, which is not installed here (only "
    "credd-client is): install `credd` beside it (`pip install credd`, or from a checkout "
    "`uv tool install --with . ./client`)"
)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if is_hot_get(argv):
        from .credentials import print_secret

        return run_guarded(print_secret, argv[1])
    if is_hot_list(argv):
        from .credentials import print_list

        return run_guarded(print_list)
    from .parser import run

    return run(argv)


def entry_point() -> int:
    """`credd` as installed: `main`, and a hot command ends without the interpreter's
    teardown (`_exit.py`)."""
    argv = sys.argv[1:]
    code = main(argv)
    if is_hot_get(argv) or is_hot_list(argv):
        from .._exit import exit_now

        return exit_now(code)
    return code


def is_hot_get(argv: Sequence[str]) -> bool:
    """`get NAME` and nothing else, NAME not an option: what the hot path answers."""
    return len(argv) == 2 and argv[0] == "get" and not argv[1].startswith("-")


def is_hot_list(argv: Sequence[str]) -> bool:
    """`list` and nothing else: what the other hot path answers."""
    return list(argv) == ["list"]


def run_guarded(command: Callable[..., int], *args: object) -> int:
    """Run a command; a credd error becomes its message on standard error and its exit code."""
    from ..errors import CreddError

    try:
        code: int = command(*args)
    except CreddError as exc:
        print(f"credd: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return code
