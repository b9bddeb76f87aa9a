"""The passphrase prompt of `credd unlock` (and the daemon's `credd rekey`).

A passphrase is read on the terminal without echo (asked twice when it is new), or as one
line of standard input when that is not a terminal; never from the arguments.
"""

from __future__ import annotations

import sys

from ..client import Client
from ..errors import InvalidRequest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def read_passphrase(prompt: str, *, confirm: bool) -> str:
    """A passphrase from the terminal (no echo), or one line of standard input."""
    if sys.stdin.isatty():
        import getpass

        passphrase = getpass.getpass(prompt)
        if confirm and passphrase and getpass.getpass("Repeat it: ") != passphrase:
            raise InvalidRequest("the two passphrases differ; nothing was changed")
    else:
        passphrase = sys.stdin.readline().rstrip("\r\n")
    if not passphrase:
        raise InvalidRequest("no passphrase given: type it at the prompt or pipe it in")
    return passphrase


def unlock_with_passphrase(client: Client, status: dict[str, Any]) -> str:
    """Ask for the passphrase (a new one when there is no store yet) and unlock; says which."""
    if status.get("store", {}).get("exists"):
        client.unlock(read_passphrase("Passphrase for the credd store: ", confirm=False))
        return "credd is unlocked"
    print("No store yet: choose the passphrase that will seal it.", file=sys.stderr)
    client.unlock(read_passphrase("New passphrase: ", confirm=True))
    return "credd is unlocked: a new store is sealed with your passphrase"
