"""`credd login|logout|refresh`: OAuth credentials from the command line.

`login` and `logout` import httpx and the flows (credd.oauth.login) only when they run;
`refresh` goes through the client only.
"""

from __future__ import annotations

import argparse
from typing import Any

from credd_client import Client

DEFAULT_LOGIN_TIMEOUT = 300.0


def register(commands: Any) -> None:
    login = commands.add_parser(
        "login",
        help="log in with OAuth 2.0 and keep the tokens fresh in the daemon",
        description="Authorization code with PKCE through a loopback redirect on 127.0.0.1, "
        "or the device grant with --device. Without --client-id, credd registers itself with "
        "the issuer (RFC 7591) once and reuses that registration.",
    )
    login.add_argument("name", help="the credential's name")
    login.add_argument("--issuer", required=True, help="the authorization server's issuer URL")
    login.add_argument("--client-id", help="a public client id registered for credd")
    login.add_argument("--scope", help="the scope to ask for (space-separated)")
    login.add_argument(
        "--device", action="store_true", help="the device grant (RFC 8628): no local browser"
    )
    login.add_argument(
        "--no-browser", action="store_true", help="print the address instead of opening it"
    )
    login.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_LOGIN_TIMEOUT,
        help=f"seconds to wait for the browser's redirect (default {DEFAULT_LOGIN_TIMEOUT:g})",
    )
    login.set_defaults(run=run_login)

    logout = commands.add_parser(
        "logout", help="revoke an OAuth credential's tokens (RFC 7009) and delete it"
    )
    logout.add_argument("name")
    logout.set_defaults(run=run_logout)

    refresh = commands.add_parser("refresh", help="refresh an OAuth credential's token now")
    refresh.add_argument("name")
    refresh.set_defaults(run=run_refresh)


def run_login(args: argparse.Namespace) -> int:
    from ..oauth.login import login

    body = login(
        args.name,
        args.issuer,
        client_id=args.client_id,
        scope=args.scope,
        device=args.device,
        open_browser=not args.no_browser,
        timeout=args.timeout,
    )
    expiry = f", access token valid until {body['expires_at']}" if "expires_at" in body else ""
    print(f"logged in: {args.name}{expiry}")
    return 0


def run_logout(args: argparse.Namespace) -> int:
    from ..oauth.login import logout

    logout(args.name)
    print(f"logged out: {args.name}")
    return 0


def run_refresh(args: argparse.Namespace) -> int:
    # The default timeout: its Prefer: wait bounds the daemon's wait (a hung endpoint is
    # answered "not done" within it while the refresh goes on), as for a get.
    with Client() as client:
        credential = client.refresh(args.name)
    print(f"refreshed {args.name}: valid until {credential.expires_at or 'no expiry given'}")
    return 0
