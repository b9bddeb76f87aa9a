"""`credd rekey`: the store sealed again under another key source."""

from __future__ import annotations

import argparse
from typing import Any

from credd_client import Client
from credd_client.cli.passphrase import read_passphrase

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


def run_rekey(args: argparse.Namespace) -> int:
    passphrase = None
    if args.to == "passphrase":
        passphrase = read_passphrase("New passphrase: ", confirm=True)
    with Client() as client:
        result = client.rekey(args.to, passphrase)
    print(f"the store is now sealed with {result['key_backend']} (was: {result['from']})")
    return 0
