"""`git-credential-credd`: git's credential helper protocol, answered from credd.

    git config --global credential.helper credd

git runs ``git-credential-credd get|store|erase`` and writes ``key=value`` lines on its
standard input, ended by a blank line (or end of file). Attributes it does not know
(``wwwauth[]``, ``capability[]``, ``oauth_refresh_token``, ...) are ignored, never refused.

A credential matches a request when protocol, host (port included) and path are equal (a
request without ``path`` matches only a credential stored without one) and the request's
username, if any, is the credential's. Credentials are named as `credd_client.names` says:
``git:https://octocat@github.com``. An ``oauth2`` credential answers a fresh access token
with ``password_expiry_utc``.

With no daemon answering, ``get`` answers nothing (git goes on to its other helpers or to a
prompt) and ``store``/``erase`` do nothing, each with a hint on standard error and exit 0.
"""

from __future__ import annotations

import contextlib
import sys

from .client import Client
from .errors import CreddError, DaemonTimeout, DaemonUnavailable, NotFound
from .names import GitTarget

TYPE_CHECKING = False  # see _paths.py: keeps `typing` out of the import
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import TextIO

    from .models import Credential

PROG = "git-credential-credd"
# git sends these to say the password came from elsewhere and will expire: an ephemeral
# token another helper minted, which would be stale if kept as a permanent secret.
_EPHEMERAL = "password_expiry_utc"
_OAUTH_USERNAME = "oauth2"


def read_request(lines: Iterable[str]) -> dict[str, str]:
    """The attributes of one request; a blank line ends it. Multi-valued ``x[]`` keep the last."""
    attributes: dict[str, str] = {}
    for raw in lines:
        line = raw.rstrip("\n")
        if line.endswith("\r"):
            line = line[:-1]
        if not line:
            break
        key, sep, value = line.partition("=")
        if sep:
            attributes[key] = value
    return attributes


def target_of(attributes: dict[str, str]) -> GitTarget | None:
    """The request's target; None when git gave no protocol or host (nothing to match)."""
    protocol = attributes.get("protocol", "")
    host = attributes.get("host", "")
    if not protocol or not host:
        return None
    return GitTarget(protocol, host, attributes.get("path", ""), attributes.get("username", ""))


def matches(request: GitTarget, name: str, username: str | None) -> bool:
    stored = GitTarget.from_name(name)
    if stored is None:
        return False
    owner = username or stored.username
    return (
        stored.protocol == request.protocol
        and stored.host == request.host
        and stored.path == request.path
        and (not request.username or request.username == owner)
    )


def find(client: Client, request: GitTarget) -> list[Credential]:
    """The matching credentials' metadata, the most recently updated first."""
    found = [c for c in client.list() if matches(request, c.name, c.username)]
    found.sort(key=lambda c: c.updated_at or "", reverse=True)
    return found


def answer(credential: Credential, request: GitTarget) -> list[str]:
    """The lines git reads back for one credential (its secret fetched already)."""
    stored = GitTarget.from_name(credential.name)
    username = credential.username or (stored.username if stored else "") or request.username
    if not username and credential.kind == "oauth2":
        username = _OAUTH_USERNAME
    lines = [f"protocol={request.protocol}", f"host={request.host}"]
    if request.path:
        lines.append(f"path={request.path}")
    if username:
        lines.append(f"username={username}")
    lines.append(f"password={credential.secret}")
    if credential.kind == "oauth2" and credential.expires_at:
        expiry = _epoch(credential.expires_at)
        if expiry is not None:
            lines.append(f"password_expiry_utc={expiry}")
    return lines


def _epoch(rfc3339: str) -> int | None:
    from datetime import datetime

    try:
        return int(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def get(client: Client, request: GitTarget) -> list[str]:
    for meta in find(client, request):
        try:
            credential = client.get(meta.name)
        except NotFound:  # deleted since the listing
            continue
        if credential.secret and not _breaks_protocol(credential):
            return answer(credential, request)
    return []


def _breaks_protocol(credential: Credential) -> bool:
    """A value with a newline or NUL cannot be said in git's protocol (it would add lines)."""
    values = (credential.secret or "", credential.username or "")
    if any("\n" in value or "\0" in value for value in values):
        sys.stderr.write(
            f"{PROG}: {credential.name} holds a newline or NUL, which git's protocol cannot "
            "carry; skipped\n"
        )
        return True
    return False


def store(client: Client, request: GitTarget, attributes: dict[str, str]) -> None:
    """Keep the password git says worked, in the matching credential (or a new one).

    The most recent match is updated in place, keeping its name and labels (one made by
    hand, say ``git:https://github.com`` with a username); nothing is written when it already
    holds this password, as after git used what credd answered.
    """
    password = attributes.get("password")
    if not password or not request.username or _EPHEMERAL in attributes:
        return
    found = find(client, request)
    if any(meta.kind == "oauth2" for meta in found):
        return  # credd keeps this one fresh itself: never replace it
    name, labels = request.name(), request.labels()
    if found:
        current = client.get(found[0].name)
        if current.secret == password and current.username == request.username:
            return
        name, labels = current.name, {**current.labels, **labels}
    client.put(
        name,
        {"kind": "secret", "secret": password, "username": request.username, "labels": labels},
    )


def erase(client: Client, request: GitTarget, attributes: dict[str, str]) -> None:
    """Remove every matching credential; with ``password`` given, only one holding it.

    An ``oauth2`` credential is never erased: git rejects a token the server refused, but
    the grant (its refresh token) is credd's to renew or to drop with `credd logout`.
    """
    password = attributes.get("password")
    for meta in find(client, request):
        if meta.kind == "oauth2":
            continue
        if password is not None and client.get(meta.name).secret != password:
            continue
        with contextlib.suppress(NotFound):  # deleted meanwhile
            client.delete(meta.name)


def run(action: str, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    attributes = read_request(stdin)
    request = target_of(attributes)
    if request is None:
        return 0
    try:
        with Client() as client:
            if action == "get":
                lines = get(client, request)
                if lines:
                    stdout.write("\n".join(lines) + "\n")
            elif action == "store":
                store(client, request, attributes)
            else:
                erase(client, request, attributes)
    except (DaemonUnavailable, DaemonTimeout) as exc:
        # No answer (none listening, or one too slow): git goes on to its other helpers or
        # a prompt, as it would without credd.
        stderr.write(f"{PROG}: {exc.message}\n")
        return 0
    except CreddError as exc:
        stderr.write(f"{PROG}: {exc.message}\n")
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) != 1:
        sys.stderr.write(f"usage: {PROG} get|store|erase (git runs it; see gitcredentials(7))\n")
        return 2
    if args[0] not in ("get", "store", "erase"):
        return 0  # git's protocol: ignore actions a helper does not know
    return run(args[0], sys.stdin, sys.stdout, sys.stderr)
