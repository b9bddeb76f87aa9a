"""`credd rekey`, and the passphrase prompt `credd unlock` uses.

A passphrase is read on the terminal without echo (asked twice when it is new), or as one
line of standard input when that is not a terminal; never from the arguments.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from credd_client import Client
from credd_client.errors import InvalidRequest

KEY_SOURCES = ("keyring", "keyfile", "passphrase")


def register(commands: Any) -> None:
    rekey = commands.add_parser(
        "rekey",
        help="re-encrypt the store under another key source",
        description="The store is sealed again under a new key, written durably, and only then "
        "is the old key removed: no moment where it is lost. `--to passphrase` on a "
        "passphrase store changes the passphrase.",
    )
    rekey.add_argument("--to", required=True, choices=KEY_SOURCES, help="the new key source")
    rekey.set_defaults(run=run_rekey)


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


def run_rekey(args: argparse.Namespace) -> int:
    passphrase = None
    if args.to == "passphrase":
        passphrase = read_passphrase("New passphrase: ", confirm=True)
    with Client() as client:
        result = client.rekey(args.to, passphrase)
    print(f"the store is now sealed with {result['key_backend']} (was: {result['from']})")
    return 0
