"""`git-credential-credd`: git's credential helper protocol, answered from credd.

    git config --global credential.helper credd

git runs ``git-credential-credd get|store|erase`` and writes ``key=value`` lines on its
standard input, ended by a blank line (or end of file). Attributes it does not know
(``wwwauth[]``, ``capability[]``, ...) are ignored, never refused.

A credential matches a request when protocol, host (port included) and path are equal (a
request without ``path`` matches only a credential stored without one) and the request's
username, if any, is the credential's. Credentials are named as `credd_client.names` says:
``git:https://octocat@github.com``. An ``oauth2`` credential answers a fresh access token
with ``password_expiry_utc``.

Expiring passwords, as git's own storage helpers keep them: ``store`` with
``password_expiry_utc`` (a password another helper minted, git-credential-oauth say) keeps
that instant as the credential's ``expires_at`` and an ``oauth_refresh_token`` as its
``refresh_token``; ``get`` answers both back, and never answers a password whose expiry is
not in the future (skipped as if absent, so git asks the helper that mints a new one).

With no daemon answering, ``get`` answers nothing (git goes on to its other helpers or to a
prompt) and ``store``/``erase`` do nothing, each with a hint on standard error and exit 0.
"""

from __future__ import annotations

import sys
import time

from .client import Client
from .errors import CreddError, DaemonTimeout, DaemonUnavailable, Forbidden, NotFound
from .names import GitTarget

TYPE_CHECKING = False  # see _paths.py: keeps `typing` out of the import
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import TextIO

    from .models import Credential

PROG = "git-credential-credd"
_EXPIRY = "password_expiry_utc"
_REFRESH_TOKEN = "oauth_refresh_token"  # noqa: S105 - an attribute's name
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
    if credential.expires_at:
        expiry = _epoch(credential.expires_at)
        if expiry is not None:
            lines.append(f"{_EXPIRY}={expiry}")
    if credential.kind == "secret" and credential.refresh_token:
        lines.append(f"{_REFRESH_TOKEN}={credential.refresh_token}")
    return lines


def _epoch(rfc3339: str) -> int | None:
    from datetime import datetime

    try:
        return int(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def _expired(credential: Credential) -> bool:
    """A password whose expiry is not in the future (an unreadable one counts as past)."""
    if credential.kind != "secret" or not credential.expires_at:
        return False  # credd keeps an oauth2 credential's token fresh itself
    expiry = _epoch(credential.expires_at)
    return expiry is None or expiry <= time.time()


def get(client: Client, request: GitTarget) -> list[str]:
    for meta in find(client, request):
        if _expired(meta):
            continue
        try:
            credential = _read(client, meta)
        except NotFound:  # deleted since the listing
            continue
        if credential.secret and not _expired(credential) and not _breaks_protocol(credential):
            return answer(credential, request)
    return []


def _read(client: Client, meta: Credential) -> Credential:
    """The credential with its secret, and the refresh token git gave with an expiring password.

    Only such a password carries one (an oauth2 credential's stays in credd). A view answers
    no refresh token (`forbidden`): the password is then answered without it.
    """
    if meta.kind != "secret" or not meta.expires_at:
        return client.get(meta.name)
    try:
        return client.get(meta.name, include=("refresh_token",))
    except Forbidden:
        return client.get(meta.name)


def _breaks_protocol(credential: Credential) -> bool:
    """A value with a newline or NUL cannot be said in git's protocol (it would add lines)."""
    values: tuple[str, ...] = (credential.secret or "", credential.username or "")
    if credential.kind == "secret":
        values += (credential.refresh_token or "",)
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
    holds this password (and expiry and refresh token), as after git used what credd answered.
    A password with an expiry keeps it, and the refresh token that came with it.
    """
    password = attributes.get("password")
    if not password or not request.username:
        return
    body: dict[str, object] = {
        "kind": "secret",
        "secret": password,
        "username": request.username,
    }
    if _EXPIRY in attributes:
        expires_at = _rfc3339(attributes[_EXPIRY])
        if expires_at is None:
            return  # an expiry we cannot read: never keep it as a permanent password
        if int(attributes[_EXPIRY]) <= time.time():
            return  # already expired: it would never be answered
        body["expires_at"] = expires_at
        if attributes.get(_REFRESH_TOKEN):
            body["refresh_token"] = attributes[_REFRESH_TOKEN]
    found = find(client, request)
    if any(meta.kind == "oauth2" for meta in found):
        return  # credd keeps this one fresh itself: never replace it
    name, labels = request.name(), request.labels()
    if found:
        current = _read(client, found[0])
        if (
            current.secret == password
            and current.username == request.username
            and _epoch(current.expires_at or "") == _epoch(str(body.get("expires_at", "")))
            and current.refresh_token == body.get("refresh_token")
        ):
            return
        name, labels = current.name, {**current.labels, **labels}
    client.put(name, {**body, "labels": labels})


def _rfc3339(epoch: str) -> str | None:
    """git's ``password_expiry_utc`` (seconds since the epoch) as RFC 3339 in UTC."""
    from datetime import UTC, datetime

    if not epoch.isdigit():
        return None
    try:
        moment = datetime.fromtimestamp(int(epoch), UTC)
    except (OverflowError, ValueError, OSError):
        return None
    return moment.isoformat().replace("+00:00", "Z")


def erase(client: Client, request: GitTarget, attributes: dict[str, str]) -> None:
    """Remove every matching credential; with ``password`` given, only one holding it.

    An ``oauth2`` credential is never erased: git rejects a token the server refused, but
    the grant (its refresh token) is credd's to renew or to drop with `credd logout`.
    """
    import contextlib  # not at the top: every `get` would pay for it

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
    except Forbidden as exc:
        if action == "get":
            stderr.write(f"{PROG}: {exc.message}\n")
            return 1
        # A read-only view (a forwarded or container socket): nothing to keep or remove here,
        # and git must go on as if the helper had done its part.
        stderr.write(f"{PROG}: {action} not done: {exc.message}\n")
        return 0
    except CreddError as exc:
        stderr.write(f"{PROG}: {exc.message}\n")
        return 1
    return 0


def entry_point() -> int:
    """`git-credential-credd` as installed: `main`, and a `get` ends without the
    interpreter's teardown (`_exit.py`)."""
    code = main()
    if sys.argv[1:] == ["get"]:
        from ._exit import exit_now

        return exit_now(code)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:
        from . import __version__

        sys.stdout.write(f"{PROG} {__version__}\n")
        return 0
    if len(args) != 1:
        sys.stderr.write(f"usage: {PROG} get|store|erase (git runs it; see gitcredentials(7))\n")
        return 2
    if args[0] not in ("get", "store", "erase"):
        return 0  # git's protocol: ignore actions a helper does not know
    return run(args[0], sys.stdin, sys.stdout, sys.stderr)
