"""`credd refresh NAME`: refresh an OAuth credential's access token now."""

from __future__ import annotations

from ..client import Client

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any


def register(commands: Any) -> None:
    refresh = commands.add_parser("refresh", help="refresh an OAuth credential's token now")
    refresh.add_argument("name")
    refresh.set_defaults(run=run_refresh)


def run_refresh(args: argparse.Namespace) -> int:
    # The default timeout: its Prefer: wait bounds the daemon's wait (a hung endpoint is
    # answered "not done" within it while the refresh goes on), as for a get.
    with Client() as client:
        credential = client.refresh(args.name)
    print(f"refreshed {args.name}: valid until {credential.expires_at or 'no expiry given'}")
    return 0
