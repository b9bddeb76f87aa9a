"""`credd get|set|delete|list`: the everyday commands, through the client only.

`print_secret` is all `credd get NAME` runs and `print_list` all `credd list` runs (the hot
paths, see `__init__`): nothing here imports `json` or `argparse` before a command needs it.
"""

from __future__ import annotations

import sys

from ..client import Client
from ..errors import InvalidRequest

TYPE_CHECKING = False  # `typing` costs milliseconds at every `credd get` start
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from ..models import Credential


# What `credd list` prints of each credential, tab-separated.
LIST_COLUMNS = ("name", "kind", "username", "status")


def register(commands: Any) -> None:
    get = commands.add_parser("get", help="print a credential's secret")
    get.add_argument("name")
    get.add_argument("--json", action="store_true", help="print the whole credential as JSON")
    get.set_defaults(run=run_get)

    put = commands.add_parser(
        "set",
        help="store a secret read from standard input (or a prompt without echo)",
        description="The secret is never taken from the arguments: pipe it in, or type it at "
        "the prompt. One trailing newline is dropped.",
    )
    put.add_argument("name")
    put.add_argument("--username", help="the account the secret belongs to")
    put.add_argument(
        "--label", action="append", default=[], metavar="KEY=VALUE", help="a label (repeatable)"
    )
    put.add_argument(
        "--allow-program",
        action="append",
        default=[],
        metavar="PROGRAM",
        help="only this executable may read the secret (repeatable; a path, or a name on PATH)",
    )
    put.add_argument(
        "--json", action="store_true", help="read the whole credential (the PUT body) as JSON"
    )
    put.set_defaults(run=run_set)

    delete = commands.add_parser("delete", help="remove a credential")
    delete.add_argument("name")
    delete.set_defaults(run=run_delete)

    listing = commands.add_parser("list", help="list credentials (names and metadata, no secrets)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=run_list)


def run_get(args: argparse.Namespace) -> int:
    if not args.json:
        return print_secret(args.name)
    import json

    with Client() as client:
        credential = client.get(args.name)
    print(json.dumps(_as_json(credential), indent=2, ensure_ascii=False))
    return 0


def print_secret(name: str) -> int:
    """`credd get NAME`: the secret and a newline, asked of the daemon as plain text."""
    with Client() as client:
        secret = client.get_secret(name)
    print(secret)
    return 0


def run_set(args: argparse.Namespace) -> int:
    labels = dict(_parse_label(item) for item in args.label)
    if args.json:
        body = _read_json_body(args)
    else:
        body = {"kind": "secret", "secret": read_secret(f"Secret for {args.name}: ")}
        if args.username is not None:
            body["username"] = args.username
        if labels:
            body["labels"] = labels
        if args.allow_program:
            body["allowed_programs"] = [program_path(p) for p in args.allow_program]
    with Client() as client:
        if body.get("allowed_programs"):
            _check_programs_identifiable(client)
        client.put(args.name, body)
    return 0


def _check_programs_identifiable(client: Client) -> None:
    """Refuse a restriction the daemon cannot check: it would lock the secret away from all."""
    programs = client.status().raw.get("programs")  # absent from an older daemon
    if isinstance(programs, dict) and programs.get("identifiable") is False:
        raise InvalidRequest(
            "--allow-program: credd cannot identify the programs that call it, so the "
            "credential would be refused to every program; nothing was stored. "
            f"Reason: {programs.get('reason')}"
        )


def run_delete(args: argparse.Namespace) -> int:
    with Client() as client:
        client.delete(args.name)
    return 0


def run_list(args: argparse.Namespace) -> int:
    if args.json:
        import json

        with Client() as client:
            document = {"credentials": [_as_json(c) for c in client.list()]}
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    return print_list()


def print_list() -> int:
    """`credd list`: one line per credential, its `LIST_COLUMNS` tab-separated."""
    with Client() as client:
        rows = client.list_fields(*LIST_COLUMNS)
    # One f-string per line: for 10,000 credentials, a nested join costs twice as much.
    sys.stdout.write("".join(f"{n}\t{k or ''}\t{u or ''}\t{s or ''}\n" for n, k, u, s in rows))
    return 0


def read_secret(prompt: str) -> str:
    """The secret from standard input, or from a prompt without echo on a terminal."""
    if sys.stdin.isatty():
        import getpass

        secret = getpass.getpass(prompt)
    else:
        secret = sys.stdin.read()
        if secret.endswith("\n"):
            secret = secret[:-1]
            if secret.endswith("\r"):
                secret = secret[:-1]
    if not secret:
        raise InvalidRequest("no secret given: pipe it on standard input or type it at the prompt")
    return secret


def _read_json_body(args: argparse.Namespace) -> dict[str, Any]:
    if args.username is not None or args.label or args.allow_program:
        raise InvalidRequest(
            "with --json, put username, labels and allowed_programs in the JSON body"
        )
    import json

    try:
        body = json.loads(sys.stdin.read())
    except ValueError:
        # Not the parser's message: it quotes the text, which holds a secret.
        raise InvalidRequest("standard input is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the JSON body must be an object")
    return body


def program_path(program: str) -> str:
    """The executable's resolved absolute path, as the kernel reports a running program's."""
    import os
    import shutil

    separators = (os.sep, os.altsep or os.sep)  # on Windows also "/"
    found = program if any(s in program for s in separators) else shutil.which(program)
    if found is None or not os.path.isfile(found):
        raise InvalidRequest(f"--allow-program: no executable {program!r}")
    return os.path.realpath(found)


def _parse_label(item: str) -> tuple[str, str]:
    key, equals, value = item.partition("=")
    if not equals or not key:
        raise InvalidRequest(f"--label takes KEY=VALUE, not {item!r}")
    return key, value


def _as_json(credential: Credential) -> dict[str, Any]:
    return credential.to_json()
