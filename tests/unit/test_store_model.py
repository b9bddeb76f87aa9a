"""A hypothesis state machine: two vaults on one file against a plain dict.

Any interleaving of set, delete, reload (a daemon restart), a merge (the other vault, as a
second process, writes in between) and a crash (a write that dies midway, leaving a partial
temporary file, and the process gone) must leave the file holding exactly the model.
"""

from __future__ import annotations

import errno
import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from credd.store.core import DeleteCredential, PutCredential
from credd.store.files import StoreFile, _write_error
from credd.store.records import Credential
from credd.store.vault import Vault
from credd_client.errors import NotFound, WriteFailed
from tests.unit.test_vault import MemoryKeys, make_vault

NAMES = st.sampled_from(["a", "b", "c", "d/e", "ünï cödé"])
VALUES = st.text(min_size=1, max_size=12)
WHICH = st.integers(min_value=0, max_value=1)


class CrashingStoreFile(StoreFile):
    """A store file whose next write can be made to die halfway through."""

    fail_next = False

    def write(self, data: bytes) -> object:  # type: ignore[override]
        if self.fail_next:
            self.fail_next = False
            partial = self.path.parent / f".{self.path.name}.crash.tmp"
            partial.write_bytes(data[: len(data) // 2])
            raise _write_error(self.path, OSError(errno.ENOSPC, "No space left on device"))
        return super().write(data)


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="credd-model-"))
        self.keys = MemoryKeys()
        self.model: dict[str, str] = {}
        self.vaults = [self._open(), self._open()]

    def _open(self) -> Vault:
        vault = make_vault(self.folder, self.keys)
        vault.file = CrashingStoreFile(vault.file.path)
        return vault

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    @rule(which=WHICH, name=NAMES, value=VALUES)
    def put(self, which: int, name: str, value: str) -> None:
        self.vaults[which].commit(PutCredential(Credential(name=name, kind="secret", secret=value)))
        self.model[name] = value

    @rule(which=WHICH, name=NAMES)
    def delete(self, which: int, name: str) -> None:
        try:
            self.vaults[which].commit(DeleteCredential(name))
        except NotFound:
            assert name not in self.model
        else:
            del self.model[name]

    @rule(which=WHICH)
    def reload(self, which: int) -> None:
        self.vaults[which] = self._open()

    @rule(which=WHICH, name=NAMES, value=VALUES)
    def failed_write(self, which: int, name: str, value: str) -> None:
        """The disk fills mid-write: the client gets WriteFailed and nothing changes."""
        vault = self.vaults[which]
        assert isinstance(vault.file, CrashingStoreFile)
        vault.file.fail_next = True
        try:
            vault.commit(PutCredential(Credential(name=name, kind="secret", secret=value)))
        except WriteFailed:
            pass
        else:
            raise AssertionError("the failed write was acknowledged")

    @rule(which=WHICH, name=NAMES, value=VALUES)
    def crash(self, which: int, name: str, value: str) -> None:
        """The process dies mid-write (its partial file stays) and is started again."""
        self.failed_write(which, name, value)
        self.vaults[which] = self._open()

    @invariant()
    def file_holds_the_model(self) -> None:
        fresh = make_vault(self.folder, self.keys)
        assert {n: c.secret for n, c in fresh.state().credentials.items()} == self.model
        for vault in self.vaults:
            current = vault.current()
            assert {n: c.secret for n, c in current.credentials.items()} == self.model


TestStoreMachine = StoreMachine.TestCase
TestStoreMachine.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
