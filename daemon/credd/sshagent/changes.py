"""The store changes made to `ssh-key` credentials, sans I/O (each a `store.core.Change`).

Naming: a key is `ssh:<stem>` (the file's stem, or the comment's last path part); a name
held by another credential gets the fingerprint's start appended. A key the store holds
already (the same fingerprint, under any name) is not added twice: adding it again offers it
again (what `ssh-add` of a key removed with `ssh-add -d` means).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from credd_client.errors import InvalidRequest, NotFound

from ..store.records import Credential, SSHKeyFields, StoreState, check_name, utc_now
from .keys import HeldKey

NAME_PREFIX = "ssh:"
KeyAction = Literal["add", "unchanged", "offered"]


def name_for(stem: str, fingerprint: str) -> str:
    """``ssh:<stem>``; the stem is the last part of a path, and the fingerprint's start when
    there is no usable stem."""
    stem = stem.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not stem or not stem.isprintable():
        stem = fingerprint_start(fingerprint)
    return check_name(NAME_PREFIX + stem[:200])


def fingerprint_start(fingerprint: str) -> str:
    return fingerprint.removeprefix("SHA256:")[:8]


def ssh_keys(state: StoreState) -> list[Credential]:
    """Every ssh-key credential, in the order the agent offers them."""
    held = [c for c in state.credentials.values() if c.ssh is not None]
    return sorted(held, key=lambda c: (c.ssh.position if c.ssh else 0, c.name))


@dataclass(frozen=True)
class NewKey:
    """A key to store: its preferred name, and how it may be used."""

    stem: str
    key: HeldKey = field(repr=False)
    allowed_programs: tuple[str, ...] = ()
    offered_until: datetime | None = None


@dataclass
class AddKeys:
    """Store keys (an import, `ssh-add`, `generate`); `results` says what became of each."""

    keys: Sequence[NewKey]
    # `generate` names its key exactly: a taken name is an error, not a new name.
    exact_names: bool = False
    results: list[tuple[str, KeyAction, str]] = dataclasses.field(default_factory=list)

    def apply(self, state: StoreState) -> StoreState:
        credentials = dict(state.credentials)
        by_fingerprint = {c.ssh.fingerprint: c for c in credentials.values() if c.ssh}
        position = max((c.ssh.position for c in by_fingerprint.values() if c.ssh), default=-1)
        self.results = []
        now = utc_now()
        for new in self.keys:
            fingerprint = new.key.fingerprint
            existing = by_fingerprint.get(fingerprint)
            if existing is not None and existing.ssh is not None:
                action: KeyAction = "unchanged"
                if not existing.ssh.offered or existing.ssh.offered_until != new.offered_until:
                    ssh = dataclasses.replace(
                        existing.ssh, offered=True, offered_until=new.offered_until
                    )
                    existing = existing.replace(ssh=ssh, updated_at=now)
                    credentials[existing.name] = existing
                    by_fingerprint[fingerprint] = existing
                    action = "offered"
                self.results.append((existing.name, action, fingerprint))
                continue
            name = self._free_name(credentials, new.stem, fingerprint)
            position += 1
            ssh = SSHKeyFields(
                private_key=new.key.private_text(),
                public_key=new.key.public_line,
                key_type=new.key.key_type,
                fingerprint=fingerprint,
                comment=new.key.comment,
                position=position,
                offered_until=new.offered_until,
            )
            credential = Credential(
                name=name,
                kind="ssh-key",
                secret=ssh.public_key,
                allowed_programs=new.allowed_programs,
                ssh=ssh,
                created_at=now,
                updated_at=now,
            )
            credentials[name] = credential
            by_fingerprint[fingerprint] = credential
            self.results.append((name, "add", fingerprint))
        return dataclasses.replace(state, credentials=credentials)

    def _free_name(self, credentials: Mapping[str, Credential], stem: str, fp: str) -> str:
        if self.exact_names:
            name = check_name(stem)
            if name in credentials:
                raise InvalidRequest(f"a credential named {name!r} exists already")
            return name
        name = name_for(stem, fp)
        if name in credentials:
            name = check_name(f"{name}-{fingerprint_start(fp)}")
        if name in credentials:
            raise InvalidRequest(f"a credential named {name!r} exists already")
        return name


@dataclass(frozen=True)
class SetOffered:
    """Offer keys again (`credd ssh-key offer`) or stop offering them (`ssh-add -d/-D`).

    ``fingerprints`` None: every key. Names and fingerprints not held are ignored by the
    agent's removal (as ssh-agent answers a key it lacks) but refused by name.
    """

    offered: bool
    fingerprints: frozenset[str] | None = None
    names: frozenset[str] = frozenset()

    def apply(self, state: StoreState) -> StoreState:
        credentials = dict(state.credentials)
        for name in self.names:
            found = credentials.get(name)
            if found is None or found.ssh is None:
                raise NotFound(f"no ssh-key named {name!r}")
        now = utc_now()
        for credential in ssh_keys(state):
            assert credential.ssh is not None
            chosen = (
                credential.name in self.names
                if self.names
                else self.fingerprints is None or credential.ssh.fingerprint in self.fingerprints
            )
            if chosen and (credential.ssh.offered != self.offered or credential.ssh.offered_until):
                ssh = dataclasses.replace(credential.ssh, offered=self.offered, offered_until=None)
                credentials[credential.name] = credential.replace(ssh=ssh, updated_at=now)
        return dataclasses.replace(state, credentials=credentials)


@dataclass(frozen=True)
class OrderKeys:
    """Offer the named keys first, in this order; the others keep theirs, after them."""

    names: Sequence[str]

    def apply(self, state: StoreState) -> StoreState:
        if len(set(self.names)) != len(self.names):
            raise InvalidRequest("a key is named twice in the order")
        held = ssh_keys(state)
        by_name = {c.name: c for c in held}
        missing = [n for n in self.names if n not in by_name]
        if missing:
            raise NotFound(f"no ssh-key named {missing[0]!r}")
        ordered = [by_name[n] for n in self.names] + [c for c in held if c.name not in self.names]
        credentials = dict(state.credentials)
        for position, credential in enumerate(ordered):
            assert credential.ssh is not None
            if credential.ssh.position != position:
                ssh = dataclasses.replace(credential.ssh, position=position)
                credentials[credential.name] = credential.replace(ssh=ssh)
        return dataclasses.replace(state, credentials=credentials)
