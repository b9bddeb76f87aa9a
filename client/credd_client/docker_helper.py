"""`docker-credential-credd`: docker's credential helper protocol, answered from credd.

    docker-credential-credd store   reads {"ServerURL", "Username", "Secret"}; prints nothing
    docker-credential-credd get     reads a server URL; prints {"ServerURL", "Username", "Secret"}
    docker-credential-credd erase   reads a server URL; prints nothing
    docker-credential-credd list    prints {"<server URL>": "<username>", ...}

Errors go to standard output with exit 1, as docker reads them there. A missing credential
is exactly ``credentials not found in native keychain``, the text docker recognises, and so
is the answer to ``get`` with no daemon (docker then goes on without credentials), with a
hint on standard error. Credentials are named ``docker:<server URL>``.
"""

from __future__ import annotations

import json
import sys

from .client import Client
from .errors import CreddError, DaemonTimeout, DaemonUnavailable, Forbidden, NotFound
from .names import docker_name, docker_server

TYPE_CHECKING = False  # see _paths.py: keeps `typing` out of the import
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, TextIO

PROG = "docker-credential-credd"
NOT_FOUND = "credentials not found in native keychain"
MISSING_URL = "no credentials server URL"
MISSING_USERNAME = "no credentials username"


class HelperError(Exception):
    """A message for docker, printed on standard output."""


def store(client: Client, text: str) -> str:
    try:
        data: Any = json.loads(text)
    except ValueError:
        # Not the parser's message: it would quote the input, which holds the secret.
        raise HelperError("the input is not a JSON object") from None
    if not isinstance(data, dict):
        raise HelperError("the input is not a JSON object")
    server = data.get("ServerURL")
    username = data.get("Username")
    secret = data.get("Secret")
    if not isinstance(server, str) or not server.strip():
        raise HelperError(MISSING_URL)
    if not isinstance(username, str) or not username:
        raise HelperError(MISSING_USERNAME)
    if not isinstance(secret, str):
        raise HelperError("the input has no Secret")
    client.put(
        docker_name(server.strip()),
        {
            "kind": "secret",
            "secret": secret,
            "username": username,
            "labels": {"registry": server.strip()},
        },
    )
    return ""


def get(client: Client, server: str) -> str:
    credential = client.get(docker_name(server))
    return json.dumps(
        {"ServerURL": server, "Username": credential.username or "", "Secret": credential.secret}
    )


def erase(client: Client, server: str) -> str:
    client.delete(docker_name(server))
    return ""


def list_all(client: Client) -> str:
    listing: dict[str, str] = {}
    for credential in client.list():
        server = docker_server(credential.name)
        if server is not None:
            listing[server] = credential.username or ""
    return json.dumps(listing)


def run(action: str, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    text = stdin.read() if action != "list" else ""
    server = text.strip()
    try:
        if action in ("get", "erase") and not server:
            raise HelperError(MISSING_URL)
        with Client() as client:
            if action == "store":
                out = store(client, text)
            elif action == "get":
                out = get(client, server)
            elif action == "erase":
                out = erase(client, server)
            else:
                out = list_all(client)
    except HelperError as exc:
        stdout.write(f"{exc}\n")
        return 1
    except CreddError as exc:
        return _failed(action, exc, stdout, stderr)
    if out:
        stdout.write(out + "\n")
    return 0


def _failed(action: str, exc: CreddError, stdout: TextIO, stderr: TextIO) -> int:
    """What docker is told when credd said no, and the helper's exit code."""
    if isinstance(exc, NotFound):
        stdout.write(f"{NOT_FOUND}\n")
        return 1
    if isinstance(exc, Forbidden) and action in ("store", "erase"):
        # A read-only view: docker login and logout go on; the laptop's credd keeps its own.
        stderr.write(f"{PROG}: {action} not done: {exc.message}\n")
        return 0
    if isinstance(exc, DaemonUnavailable | DaemonTimeout):  # none listening, or one too slow
        stderr.write(f"{PROG}: {exc.message}\n")
        if action == "list":  # nothing to list: docker goes on without credentials
            stdout.write("{}\n")
            return 0
        # get: docker's not-found text, so a pull goes on anonymously; store and erase
        # cannot be done, and docker shows why.
        stdout.write(f"{NOT_FOUND if action == 'get' else exc.message}\n")
        return 1
    stdout.write(f"{exc.message}\n")
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args in (["version"], ["--version"]):
        from . import __version__

        sys.stdout.write(f"{PROG} {__version__}\n")
        return 0
    if len(args) != 1 or args[0] not in ("store", "get", "erase", "list"):
        sys.stdout.write(f"usage: {PROG} store|get|erase|list|version\n")
        return 1
    return run(args[0], sys.stdin, sys.stdout, sys.stderr)
