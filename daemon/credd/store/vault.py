"""The unlocked store in memory, and every change committed through the file lock.

A commit takes the cross-process lock, reads the file again if another process changed it,
applies only this request's change to what is there, seals and writes it durably, and only
then updates memory. Blocking: call it from a worker thread, not the event loop.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Set
from dataclasses import dataclass
from pathlib import Path

from credd_client.errors import InvalidRequest, Locked, StoreUnreadable

from .core import (
    Change,
    Header,
    StoreFormatError,
    read_header,
    refreshed_names,
    seal,
    stamp_versions,
    unseal,
)
from .files import FileVersion, StoreFile
from .keys import KeyPolicy, KeySource
from .records import StoreState

log = logging.getLogger(__name__)

# Told of every transition once it is durable: (before, after, names an OAuth refresh
# renewed); before is None at an unlock, after is None at a lock. Called with the vault's
# mutex held, in whatever thread made the change: it must only hand the news on.
Observer = Callable[[StoreState | None, StoreState | None, Set[str]], None]


@dataclass(frozen=True)
class _Unlocked:
    key: bytes
    header: Header
    source: KeySource


class Vault:
    def __init__(self, file: StoreFile, keys: KeyPolicy) -> None:
        self.file = file
        self.keys = keys
        self._mutex = threading.RLock()
        self._state: StoreState | None = None
        self._unlocked: _Unlocked | None = None
        self._version: FileVersion | None = None
        self.locked_reason: str | None = "not unlocked yet"
        self.unreadable_reason: str | None = None
        self.observer: Observer | None = None

    def _tell(
        self, before: StoreState | None, after: StoreState | None, refreshed: Set[str] = frozenset()
    ) -> None:
        if self.observer is not None and before is not after:
            self.observer(before, after, refreshed)

    # --- reading -------------------------------------------------------------------------

    @property
    def locked(self) -> bool:
        return self._state is None

    def state(self) -> StoreState:
        """What memory holds; served even while the file on disk cannot be read."""
        state = self._state
        if state is None:
            if self.unreadable_reason is not None:
                raise StoreUnreadable(self.unreadable_reason)
            raise Locked(f"credd is locked: {self.locked_reason}")
        return state

    def key_source(self) -> KeySource:
        """The source that sealed the store, or that will seal a new one."""
        if self._unlocked is not None:
            return self._unlocked.source
        loaded = self.file.read()
        if loaded is not None:
            try:
                return self.keys.for_existing(read_header(loaded[0])[0].key_source)
            except (StoreFormatError, Locked):
                pass
        try:
            return self.keys.for_new_store()
        except Locked:
            return self.keys.keyfile

    # --- lock and unlock -----------------------------------------------------------------

    def unlock(self) -> None:
        """Fetch the key and load the store; Locked or StoreUnreadable say why not."""
        with self._mutex:
            if self._state is not None:
                return
            try:
                self._load()
            except Locked as exc:
                self.locked_reason = exc.message
                raise
            except StoreUnreadable as exc:
                self.unreadable_reason = self.locked_reason = exc.message
                raise
            self.locked_reason = None
            self.unreadable_reason = None
            self._tell(None, self._state)

    def lock(self, reason: str) -> None:
        """Drop the key and every plaintext; the next unlock reads them again."""
        with self._mutex:
            self._tell(self._state, None)
            self._state = None
            self._unlocked = None
            self._version = None
            self.locked_reason = reason

    def _load(self) -> None:
        if self.file.path.parent.exists():
            self.file.discard_partial_writes()
        loaded = self.file.read()
        if loaded is None and self.keys.for_new_store().interactive:
            loaded = self._create_empty_store()
        if loaded is None:  # no store yet: its key is made with the first write
            self._state, self._unlocked, self._version = StoreState(), None, None
            return
        blob, version = loaded
        header = self._header_of(blob)
        source = self.keys.for_existing(header.key_source)
        key = source.load(header.key_params)
        self._state = self._open(blob, key)
        self._unlocked = _Unlocked(key, header, source)
        self._version = version

    def _create_empty_store(self) -> tuple[bytes, FileVersion] | None:
        """A key that needs the user (a passphrase) is set at the first unlock, with the store."""
        with self.file.locked():
            loaded = self.file.read()
            if loaded is not None:  # another process made it meanwhile
                return loaded
            unlocked = self._new_key()
            blob = seal(StoreState(), unlocked.header, unlocked.key)
            return blob, self.file.write(blob)

    def _header_of(self, blob: bytes) -> Header:
        try:
            return read_header(blob)[0]
        except StoreFormatError as exc:
            raise StoreUnreadable(self._unreadable_message(exc)) from None

    def _open(self, blob: bytes, key: bytes) -> StoreState:
        try:
            return unseal(blob, key)[1]
        except StoreFormatError as exc:
            raise StoreUnreadable(self._unreadable_message(exc)) from None

    def _unreadable_message(self, exc: StoreFormatError) -> str:
        return (
            f"{self.file.path} cannot be read: {exc}. credd will not overwrite it; "
            "see `credd status`, then restore a backup or move it aside with `credd reset`"
        )

    # --- writing -------------------------------------------------------------------------

    def commit(self, change: Change) -> StoreState:
        """Apply one change to the store on disk; returns the new state once durable."""
        with self._mutex:
            self.state()  # locked or unreadable: refuse before touching anything
            with self.file.locked():
                base = self._current_on_disk()
                updated = stamp_versions(base, change.apply(base))
                unlocked = self._unlocked or self._new_key()
                version = self.file.write(seal(updated, unlocked.header, unlocked.key))
                before = self._state
                self._state, self._unlocked, self._version = updated, unlocked, version
                self._tell(before, updated, refreshed_names(change))
                return updated

    def _current_on_disk(self) -> StoreState:
        """Under the file lock: the state to apply a change to (reloaded if changed)."""
        version = self.file.version()
        if version is not None and version == self._version and self._state is not None:
            return self._state
        loaded = self.file.read()
        if loaded is None:
            if self._version is not None and self._state is not None:
                log.warning(
                    "the store file %s vanished under the daemon; writing it again from memory",
                    self.file.path,
                )
                return self._state
            return StoreState()
        blob, _ = loaded
        try:
            header = self._header_of(blob)
            if self._unlocked is None or header.key_source != self._unlocked.source.name:
                source = self.keys.for_existing(header.key_source)
                key = source.load(header.key_params)
                self._unlocked = _Unlocked(key, header, source)
            state = self._open(blob, self._unlocked.key)
        except StoreUnreadable as exc:
            self.unreadable_reason = exc.message
            raise
        self.unreadable_reason = None
        return state

    def current(self) -> StoreState:
        """Under the file lock: what the file holds now (another process's changes included)."""
        with self._mutex:
            self.state()
            with self.file.locked():
                return self._current_on_disk()

    # --- reset -----------------------------------------------------------------------------

    def reset(self, stamp: str) -> Path | None:
        """Move a store this vault cannot open aside (never delete it) and start a new one.

        Returns where it went (None when there was no store). The caller checks first that
        the store cannot be opened; this only moves.
        """
        with self._mutex, self.file.locked():
            moved: Path | None = None
            if self.file.path.exists():
                moved = self.file.path.with_name(f"{self.file.path.name}.unreadable-{stamp}")
                n = 1
                while moved.exists():
                    n += 1
                    moved = self.file.path.with_name(
                        f"{self.file.path.name}.unreadable-{stamp}-{n}"
                    )
                os.rename(self.file.path, moved)
            self._state, self._unlocked, self._version = StoreState(), None, None
            self.locked_reason = None
            self.unreadable_reason = None
            self._tell(None, self._state)
            return moved

    def _new_key(self) -> _Unlocked:
        source = self.keys.for_new_store()
        key, params = source.create()
        if source.insecure:
            log.warning("sealing a new store with an INSECURE key file: %s", source.reason)
        return _Unlocked(key, Header(key_source=source.name, key_params=params), source)

    # --- moving to another key source ----------------------------------------------------

    def rekey(self, target: KeySource) -> KeySource:
        """Seal the store under a new key from ``target``; returns the source it left.

        The new key is kept by its source, then the store sealed with it is written durably,
        and only then is the old key removed: at every instant one of the two opens the file
        on disk. A failure to remove the old key is logged; the store is already safe.
        """
        with self._mutex:
            self.state()
            with self.file.locked():
                base = self._current_on_disk()
                old = self._unlocked
                if old is None:  # nothing on disk yet: the next write seals with target
                    raise InvalidRequest("there is no store yet: nothing to re-encrypt")
                if old.source.name == target.name and not target.interactive:
                    raise InvalidRequest(f"the store is already sealed with {target.describe()}")
                key, params = target.create()
                header = Header(key_source=target.name, key_params=params)
                version = self.file.write(seal(base, header, key))
                self._state, self._version = base, version
                self._unlocked = _Unlocked(key, header, target)
            if old.source is not target:
                try:
                    old.source.discard(old.header.key_params)
                except Exception as exc:  # the store is safe; the stale key is only clutter
                    log.warning("re-encrypted, but the old key was not removed: %s", exc)
            return old.source
