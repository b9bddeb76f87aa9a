"""An import: many credentials compared with the store and written in one durable commit.

Sans I/O: `ImportCredentials` is a store change (store/core.py, `Change`), planned against
what the file holds at commit time, like every other write. Each credential is compared
with the one the store holds under its name: absent is ``add``, the same kind, secret and
username is ``unchanged``, anything else a ``conflict`` that is kept, or ``replace`` when
asked to overwrite. Comparing reads a stored secret, so a credential restricted to other
programs refuses the whole import (`access.check_reader`), as a `get` of it would.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

from .access import check_reader
from .store.records import Credential, StoreState
from .system.peer import Peer

Action = Literal["add", "replace", "unchanged", "conflict"]


class NothingToImport(Exception):
    """Every credential is unchanged or a kept conflict: the store on disk stays as it is."""


def compare(existing: Credential | None, incoming: Credential, *, overwrite: bool) -> Action:
    if existing is None:
        return "add"
    if (
        existing.kind == incoming.kind
        and existing.secret == incoming.secret
        and (existing.username or None) == (incoming.username or None)
        and _access_key_id(existing) == _access_key_id(incoming)
        and existing.kube == incoming.kube
    ):
        return "unchanged"
    return "replace" if overwrite else "conflict"


def _access_key_id(credential: Credential) -> str | None:
    return None if credential.aws is None else credential.aws.access_key_id


class ImportCredentials:
    """The change an import makes; ``actions`` says what became of each credential, in order."""

    def __init__(self, credentials: Sequence[Credential], overwrite: bool, peer: Peer) -> None:
        self.credentials = credentials
        self.overwrite = overwrite
        self.peer = peer
        self.actions: list[Action] = []

    def plan(self, state: StoreState) -> dict[str, Credential]:
        """Compare every credential with ``state``; returns those to write."""
        self.actions = []
        taken: dict[str, Credential] = {}
        for credential in self.credentials:
            existing = state.credentials.get(credential.name)
            if existing is not None:
                check_reader(existing, self.peer)
            action = compare(existing, credential, overwrite=self.overwrite)
            self.actions.append(action)
            if action == "add":
                taken[credential.name] = credential
            elif action == "replace":
                assert existing is not None
                taken[credential.name] = credential.replace(created_at=existing.created_at)
        return taken

    def apply(self, state: StoreState) -> StoreState:
        taken = self.plan(state)
        if not taken:
            raise NothingToImport
        return dataclasses.replace(state, credentials={**state.credentials, **taken})
