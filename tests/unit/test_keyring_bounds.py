"""A keyring that hangs: each call is bounded, and a hung call is not piled on by new ones."""

from __future__ import annotations

import threading
import time

import pytest

from credd.store.keys import KeyringKeySource
from credd_client.errors import Locked


class HangingBackend:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def get_password(self, service: str, account: str) -> str | None:
        self.calls += 1
        self.release.wait(30)
        return None


def bounded_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("bounded:"))


def test_a_hung_keyring_call_is_not_repeated_while_it_hangs() -> None:
    backend = HangingBackend()
    source = KeyringKeySource(backend, "acct", timeout=0.2)
    before = bounded_threads()
    with pytest.raises(Locked, match="did not answer within"):
        source.load({})
    for _ in range(5):
        with pytest.raises(Locked, match="has not answered an earlier call"):
            source.load({})
    assert backend.calls == 1
    assert bounded_threads() == before + 1
    backend.release.set()
    deadline = time.monotonic() + 10
    while bounded_threads() > before:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    # Answering again: calls go through (here: no key, which is its own clear error).
    with pytest.raises(Locked, match="is missing from"):
        source.load({})
    assert backend.calls == 2
