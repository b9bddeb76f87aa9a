"""References to credentials, safe to commit: ``credd:NAME`` and ``credd:NAME#FIELD``.

The same syntax serves `credd exec --env-file` (a whole value) and `credd render` (inside
``{{ }}``). A trailing ``#FIELD`` is always the field (``secret`` when absent, or
``username``); the name is percent-encoded where it holds a ``#`` or a ``%`` (``%23``,
``%25``), and any other character may be encoded the same way. There is no ``${VAR}``
interpolation: a reference names a credential, nothing else.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from credd_client import Client, names
from credd_client.errors import CreddError, InvalidRequest, NotFound

from .notices import warn

PREFIX = "credd:"
FIELDS = ("secret", "username")


class BadReference(ValueError):
    """A reference that does not parse; the message says why, the caller says where."""


@dataclass(frozen=True)
class Reference:
    name: str
    field: str = "secret"


def is_reference(value: str) -> bool:
    return value.startswith(PREFIX)


def parse_reference(text: str) -> Reference:
    """``credd:NAME`` or ``credd:NAME#FIELD`` (the caller checked the prefix)."""
    body = text.removeprefix(PREFIX)
    if body.count("#") > 1:
        raise BadReference(f"{text!r} has more than one '#' (a '#' inside a name is written %23)")
    encoded, hash_sign, field = body.partition("#")
    if hash_sign and field not in FIELDS:
        raise BadReference(
            f"{text!r} asks for the field {field!r}; the fields are secret, username"
        )
    name = percent_decode(encoded)
    if not name:
        raise BadReference(f"{text!r} names no credential")
    return Reference(name, field or "secret")


def read_text(path: str, what: str) -> str:
    """A file of references the user named (``~`` expanded), as UTF-8 text."""
    try:
        with open(os.path.expanduser(path), "rb") as handle:
            return handle.read().decode()
    except OSError as exc:
        raise InvalidRequest(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InvalidRequest(f"{what} {path} is not UTF-8 text") from None


def percent_decode(text: str) -> str:
    """``%XX`` escapes as UTF-8 bytes; a ``%`` not followed by two hex digits is an error."""
    try:
        return names.percent_decode(text, strict=True)
    except ValueError as exc:
        raise BadReference(f"{text!r}: {exc}") from None


class Values:
    """The values references name, read through one client.

    `load` reads each credential once, before anything runs; `reload` reads again those an
    event names, from the watching thread, and says which changed; `current` is safe from
    any thread.
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._read: dict[str, dict[str, str | None]] = {}  # name -> field -> value
        self._versions: dict[str, int] = {}  # name -> the version read

    def load(self, reference: Reference, place: str) -> str:
        """The value; `NotFound` and `InvalidRequest` name ``place`` and the credential."""
        if reference.name not in self._read:
            try:
                fields = self._fetch(reference.name)
            except NotFound:
                raise NotFound(f"{place}: no credential named {reference.name!r}") from None
            with self._lock:
                self._read[reference.name] = fields
        value = self.current(reference)
        if value is None:
            raise InvalidRequest(
                f"{place}: the credential {reference.name!r} has no {reference.field}"
            )
        return value

    def current(self, reference: Reference) -> str | None:
        with self._lock:
            return self._read.get(reference.name, {}).get(reference.field)

    def versions(self) -> dict[str, int]:
        """The version of each credential as read (for a watch to catch up from)."""
        with self._lock:
            return dict(self._versions)

    def reload(self, names: Iterable[str]) -> set[str]:
        """The names among ``names`` whose values changed; one that cannot be read now (gone,
        locked, needing a login) keeps its last value, with a warning."""
        changed = set()
        for name in names:
            try:
                fields = self._fetch(name)
            except CreddError as exc:
                warn(f"cannot read {name!r} now, so its last value stays: {exc.message}")
                continue
            with self._lock:
                if self._read.get(name) != fields:
                    self._read[name] = fields
                    changed.add(name)
        return changed

    def _fetch(self, name: str) -> dict[str, str | None]:
        credential = self.client.get(name)
        if credential.version is not None:  # None: a daemon older than versions
            with self._lock:
                self._versions[name] = credential.version
        return {"secret": credential.secret, "username": credential.username}
