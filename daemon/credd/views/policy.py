"""Views: what one is, and what a request through it may do (sans-I/O).

A view exposes the credentials whose names match its glob patterns, read-only unless made
with ``write``, until it expires. Two checks, and nothing else decides:

- `decide`, on method and path: the `ViewPolicy` middleware calls it for every request that
  came in on a view's socket, before the fast path and before any route. It looks the route
  up in `POLICY`, a table with a row for every route of the app (a test holds the table to
  the OpenAPI document), and refuses what has no row: `forbidden` by default.
- `check_write`, on what a PUT or DELETE would change: called by the store change itself
  with the stored record as the file holds it at commit time. A view writes plain secrets
  only: neither the stored kind (if any) nor the new one may be anything but `secret`, so no
  token endpoint, client or grant is ever made, replaced or deleted through a view.

A query string is refused (but the events' `?name=&holder=` and the list's `?fields=`, which
only narrow what is answered):
`?include=refresh_token,client_secret` would hand a long-lived grant to a machine the view
is meant to trust for a while only.
"""

from __future__ import annotations

import enum
import fnmatch
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from credd_client.errors import Forbidden, InvalidRequest, NotFound

from ..apipaths import (
    AWS_LOGIN_SUFFIX,
    AWS_PREFIX,
    CREDENTIALS_PREFIX,
    KUBE_PREFIX,
    REFRESH_SUFFIX,
    name_from_raw,
)
from ..store.records import Credential, format_time, parse_time

VIEW_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
MAX_PATTERNS = 64
MAX_PATTERN_LENGTH = 512
MAX_UIDS = 64
_DURATION = re.compile(r"(\d{1,9})([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_TTL = timedelta(days=366)


class Answer(enum.Enum):
    ON = "on"  # on to the fast path and the routes, as on the main socket
    STATUS = "status"  # the view's own status, answered by the policy layer
    LIST = "list"  # the matching credentials' metadata, answered by the policy layer


@dataclass(frozen=True)
class View:
    name: str
    patterns: tuple[str, ...]
    socket: str
    write: bool = False
    uids: tuple[int, ...] = ()
    created_at: datetime | None = None
    expires_at: datetime | None = None
    # SSH keys (issue 20): the names of the keys its agent socket lists and signs with.
    ssh_keys: tuple[str, ...] = ()
    agent_socket: str | None = None

    def matches(self, credential_name: str) -> bool:
        return any(fnmatch.fnmatchcase(credential_name, p) for p in self.patterns)

    def matches_key(self, credential_name: str) -> bool:
        return any(fnmatch.fnmatchcase(credential_name, p) for p in self.ssh_keys)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "patterns": list(self.patterns),
            "write": self.write,
            "uids": list(self.uids),
            "socket": self.socket,
            "created_at": None if self.created_at is None else format_time(self.created_at),
            "expires_at": None if self.expires_at is None else format_time(self.expires_at),
            "ssh_keys": list(self.ssh_keys),
            "agent_socket": self.agent_socket,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> View:
        created, expires = data.get("created_at"), data.get("expires_at")
        return cls(
            name=check_view_name(data["name"]),
            patterns=tuple(check_pattern(p) for p in data["patterns"]),
            socket=str(data["socket"]),
            write=bool(data.get("write", False)),
            uids=tuple(check_uid(u) for u in data.get("uids", ())),
            created_at=None if created is None else parse_time(created),
            expires_at=None if expires is None else parse_time(expires),
            ssh_keys=tuple(check_pattern(p) for p in data.get("ssh_keys", ())),
            agent_socket=data.get("agent_socket"),
        )


@dataclass
class Usage:
    """What a view served since the daemon started (not persisted)."""

    requests: int = 0
    last_used_at: datetime | None = None


# --- checks of what a user types ------------------------------------------------------------


def check_view_name(name: object) -> str:
    if not isinstance(name, str) or not VIEW_NAME.fullmatch(name):
        raise InvalidRequest(
            "a view's name is a plain word: letters, digits, '-' and '_', 1 to 64 characters, "
            "starting with a letter or digit"
        )
    return name


def check_pattern(pattern: object) -> str:
    """A glob on credential names: not empty, printable, brackets closed."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise InvalidRequest(
            "a view's pattern cannot be empty (example: 'git:https://github.com/*')"
        )
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidRequest(f"a view's pattern is at most {MAX_PATTERN_LENGTH} characters")
    if not pattern.isprintable():
        raise InvalidRequest(f"the pattern {pattern!r} holds control characters")
    if _unclosed_bracket(pattern):
        raise InvalidRequest(
            f"the pattern {pattern!r} has a '[' without its ']' (write '[[]' for a literal '[')"
        )
    return pattern


def _unclosed_bracket(pattern: str) -> bool:
    i = 0
    while i < len(pattern):
        if pattern[i] == "[":
            j = i + 1
            if j < len(pattern) and pattern[j] in "!^":
                j += 1
            if j < len(pattern) and pattern[j] == "]":
                j += 1
            close = pattern.find("]", j)
            if close < 0:
                return True
            i = close
        i += 1
    return False


def check_uid(uid: object) -> int:
    if isinstance(uid, bool) or not isinstance(uid, int) or not 0 <= uid < 2**32 - 1:
        raise InvalidRequest("a uid is a whole number from 0 to 4294967294")
    return uid


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``8h``, ``2d``: a positive number and one unit."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise InvalidRequest(
            f"the duration {text!r} does not parse: a positive number and a unit, "
            "s, m, h or d (90s, 15m, 8h, 2d)"
        )
    duration = timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if duration > MAX_TTL:
        raise InvalidRequest(f"the duration {text!r} is over the limit of {MAX_TTL.days} days")
    return duration


# --- the table ------------------------------------------------------------------------------


class Rule(enum.Enum):
    STATUS = "the view's own status: health, version, expiry, counts of its names"
    LIST = "the matching credentials' metadata"
    READ = "a matching name; not_found outside the patterns"
    WRITE = "with write, a matching name, plain secrets only (check_write)"
    EVENTS = "the change events of its names only (filtered in api/events.py)"
    FORBIDDEN = "forbidden"


CREDENTIAL_ROUTE = "/v1/credentials/{name}"
REFRESH_ROUTE = "/v1/credentials/{name}/refresh"
AWS_ROUTE = "/v1/aws/{name}"
AWS_LOGIN_ROUTE = "/v1/aws/{name}/login"
KUBE_ROUTE = "/v1/kube/{name}"
# The routes that carry a credential name: (raw prefix, route, POST suffix, that POST's route).
NAMED_ROUTES = (
    (CREDENTIALS_PREFIX, CREDENTIAL_ROUTE, REFRESH_SUFFIX, REFRESH_ROUTE),
    (AWS_PREFIX, AWS_ROUTE, AWS_LOGIN_SUFFIX, AWS_LOGIN_ROUTE),
    (KUBE_PREFIX, KUBE_ROUTE, b"", KUBE_ROUTE),
)

# Every route of the app, by method and OpenAPI path; a route missing here is forbidden, and
# tests/unit/test_view_policy.py fails until it has its row.
POLICY: dict[tuple[str, str], Rule] = {
    ("GET", "/v1/status"): Rule.STATUS,
    ("GET", "/v1/credentials"): Rule.LIST,
    ("GET", CREDENTIAL_ROUTE): Rule.READ,
    ("POST", REFRESH_ROUTE): Rule.READ,
    ("PUT", CREDENTIAL_ROUTE): Rule.WRITE,
    ("DELETE", CREDENTIAL_ROUTE): Rule.WRITE,
    ("GET", "/v1/events"): Rule.EVENTS,
    ("POST", "/v1/import"): Rule.FORBIDDEN,
    ("GET", "/v1/registration"): Rule.FORBIDDEN,
    ("PUT", "/v1/registration"): Rule.FORBIDDEN,
    ("DELETE", "/v1/registration"): Rule.FORBIDDEN,
    ("POST", "/v1/lock"): Rule.FORBIDDEN,
    ("POST", "/v1/unlock"): Rule.FORBIDDEN,
    ("POST", "/v1/rekey"): Rule.FORBIDDEN,
    ("POST", "/v1/backup"): Rule.FORBIDDEN,
    ("POST", "/v1/restore"): Rule.FORBIDDEN,
    ("POST", "/v1/reset"): Rule.FORBIDDEN,
    ("GET", "/v1/views"): Rule.FORBIDDEN,
    ("PUT", "/v1/views/{name}"): Rule.FORBIDDEN,
    ("DELETE", "/v1/views/{name}"): Rule.FORBIDDEN,
    # SSH keys: a view's agent socket (views/NAME.agent.sock) serves its keys, never HTTP.
    ("GET", "/v1/ssh-keys"): Rule.FORBIDDEN,
    ("POST", "/v1/ssh-keys"): Rule.FORBIDDEN,
    ("POST", "/v1/ssh-keys/generate"): Rule.FORBIDDEN,
    ("PUT", "/v1/ssh-keys/order"): Rule.FORBIDDEN,
    ("POST", "/v1/ssh-keys/offer"): Rule.FORBIDDEN,
    # AWS (issue 21): the credential_process keys of a matching name, like a GET; an MFA
    # login only on the main socket.
    ("GET", AWS_ROUTE): Rule.READ,
    ("POST", AWS_LOGIN_ROUTE): Rule.FORBIDDEN,
    # Kubernetes (issue 21): what `credd kube` answers kubectl, for a matching name.
    ("GET", KUBE_ROUTE): Rule.READ,
    ("GET", "/openapi.json"): Rule.FORBIDDEN,  # the app's own, outside the document's paths
}


# --- the decisions ---------------------------------------------------------------------------


def decide(view: View, method: str, raw_path: bytes, query: bytes) -> Answer:
    """What a request through ``view`` gets; raises the refusal (forbidden, not_found)."""
    path = raw_path.split(b"?", 1)[0]
    route, name = _route_of(method, path)
    rule = POLICY.get((method, route), Rule.FORBIDDEN)
    if rule is Rule.EVENTS:
        return Answer.ON  # its query (names, holder) only narrows the stream
    if rule is Rule.LIST:
        return Answer.LIST  # its query (fields) only narrows each item; api/listing.py reads it
    if query:
        raise Forbidden(f"the view {view.name!r} takes no query parameters")
    if rule is Rule.STATUS:
        return Answer.STATUS
    if rule is Rule.READ and name is not None:
        _must_match(view, name)
        return Answer.ON
    if rule is Rule.WRITE and name is not None:
        if not view.write:
            raise Forbidden(f"the view {view.name!r} is read-only")
        if method == "DELETE":
            _must_match(view, name)
        elif not view.matches(name):
            raise Forbidden(f"the view {view.name!r} cannot write {name!r}")
        return Answer.ON
    if name is not None:
        raise Forbidden(f"the view {view.name!r} does not allow {method} on a credential")
    raise Forbidden(f"the view {view.name!r} does not allow this call")


def _route_of(method: str, path: bytes) -> tuple[str, str | None]:
    """The table's route of a raw path, and the credential name in it (checked), if any."""
    for prefix, route, suffix, suffixed_route in NAMED_ROUTES:
        if path.startswith(prefix):
            rest = path[len(prefix) :]
            if method == "POST" and rest.endswith(suffix):
                return suffixed_route, name_from_raw(rest[: -len(suffix)])
            return route, name_from_raw(rest)
    return path.decode("latin-1"), None


def check_write(view: View, stored: Credential | None, new: Credential | None) -> None:
    """A PUT (``new``) or DELETE (``new`` None) through ``view``, against the stored record:
    forbidden unless every kind involved is a plain secret."""
    for credential, verb in ((stored, "replace or delete"), (new, "make")):
        if credential is not None and credential.kind != "secret":
            raise Forbidden(
                f"the view {view.name!r} writes plain secrets only; it cannot {verb} "
                f"{credential.name!r}, a credential of kind {credential.kind!r} "
                "(do that on the main socket)"
            )


def _must_match(view: View, name: str) -> None:
    if not view.matches(name):
        # The same answer as for a name that does not exist: a view says nothing of the rest.
        raise NotFound(f"no credential named {name!r}")
