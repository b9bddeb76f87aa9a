"""`credd aws`: AWS's `credential_process`, an MFA session's login, an aws credential by hand.

    credd aws NAME                 the credential_process JSON on standard output, nothing else
    credd aws login NAME           asks the MFA code once, starts the session
    credd aws add NAME --access-key-id ID [--region R] [--mfa-serial ARN] [--role-arn ARN]
                  [--no-session] [--session-duration SECONDS]
                                   the secret key from standard input (or a prompt)

Errors go to standard error with credd's exit codes and never carry a key. A tool calling
`credd aws` cannot prompt, so a locked credd is an error that says to run `credd unlock`.
Standard library and `credd_client` only: a machine with the client alone runs it.
"""

from __future__ import annotations

import argparse
import json
import sys

from credd_client import Client
from credd_client.errors import InvalidRequest, Locked

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ACTIONS = ("login", "add")
LOCKED_MESSAGE = "credd is locked: run `credd unlock`"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "aws",
        help="AWS credential_process: print an aws credential's keys as JSON",
        description="`credd aws NAME` prints the credential_process JSON (for "
        "`credential_process = /path/to/credd aws NAME` in ~/.aws/config); "
        "`credd aws login NAME` starts an MFA session; `credd aws add NAME --access-key-id ID` "
        "stores keys, the secret key read from standard input.",
        usage="credd aws [login|add] NAME [options]",
    )
    parser.add_argument("words", nargs="+", metavar="NAME", help="[login|add] NAME")
    parser.add_argument("--access-key-id", help="add: the access key id")
    parser.add_argument("--region", help="add: the profile's region (kept with the keys)")
    parser.add_argument("--mfa-serial", help="add: the MFA device's serial number or ARN")
    parser.add_argument("--role-arn", help="add: a role to assume (AssumeRole)")
    parser.add_argument(
        "--no-session",
        action="store_true",
        help="add: hand out the stored keys, not STS session keys",
    )
    parser.add_argument(
        "--session-duration", type=int, metavar="SECONDS", help="add: how long a session lasts"
    )
    parser.set_defaults(run=run_aws)


def run_aws(args: argparse.Namespace) -> int:
    action, name = _action(args.words)
    try:
        if action == "add":
            return _add(name, args)
        _no_add_options(args)
        if action == "login":
            return _login(name)
        with Client() as client:
            document = client.aws_credentials(name)
    except Locked:
        print(LOCKED_MESSAGE, file=sys.stderr)
        return Locked.exit_code
    sys.stdout.write(json.dumps(document) + "\n")
    return 0


def _action(words: list[str]) -> tuple[str | None, str]:
    if len(words) == 1:
        return None, words[0]
    if len(words) == 2 and words[0] in ACTIONS:
        return words[0], words[1]
    raise InvalidRequest("usage: credd aws NAME | credd aws login NAME | credd aws add NAME ...")


def _no_add_options(args: argparse.Namespace) -> None:
    given = [
        option
        for option, value in (
            ("--access-key-id", args.access_key_id),
            ("--region", args.region),
            ("--mfa-serial", args.mfa_serial),
            ("--role-arn", args.role_arn),
            ("--no-session", args.no_session or None),
            ("--session-duration", args.session_duration),
        )
        if value is not None
    ]
    if given:
        raise InvalidRequest(f"{', '.join(given)} go with `credd aws add NAME`")


def _login(name: str) -> int:
    code = _read_line(f"MFA code for {name}: ")
    if not (len(code) == 6 and code.isdigit()):
        raise InvalidRequest("an MFA code is the six digits the device shows")
    with Client() as client:
        document = client.aws_login(name, code)
    expires = document.get("Expiration") or "its expiry"
    print(f"MFA session for {name} until {expires}", file=sys.stderr)
    return 0


def _add(name: str, args: argparse.Namespace) -> int:
    if not args.access_key_id:
        raise InvalidRequest("`credd aws add NAME` needs --access-key-id")
    body: dict[str, Any] = {
        "kind": "aws",
        "access_key_id": args.access_key_id,
        "secret": _read_secret(f"Secret access key for {name}: "),
        "session": not args.no_session,
    }
    for field in ("region", "mfa_serial", "role_arn", "session_duration"):
        value = getattr(args, field)
        if value is not None:
            body[field] = value
    with Client() as client:
        client.put(name, body)
    return 0


def _read_secret(prompt: str) -> str:
    """From standard input (one trailing newline dropped), or a prompt without echo."""
    if sys.stdin.isatty():
        import getpass

        secret = getpass.getpass(prompt)
    else:
        secret = sys.stdin.read().removesuffix("\n").removesuffix("\r")
    if not secret:
        raise InvalidRequest("no secret key given: pipe it on standard input or type it")
    return secret


def _read_line(prompt: str) -> str:
    if sys.stdin.isatty():
        sys.stderr.write(prompt)
        sys.stderr.flush()
    return sys.stdin.readline().strip()
