"""An unlock on demand waits for the keyring no longer than the request's client waits
(`Prefer: wait`): past that the request is answered `locked`, and the unlock goes on."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from credd.store.core import PutCredential
from credd.store.records import Credential
from credd_client.errors import Locked
from tests.unit.test_lock_and_refresh import service_for, until
from tests.unit.test_oauth_refresher import Clock, Endpoint, granted, make
from tests.unit.test_vault import MemoryKeys, make_vault

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class SlowKeys(MemoryKeys):
    """A keyring that answers a load only once `answer` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = threading.Event()

    def load(self, params: Mapping[str, Any]) -> bytes:
        self.answer.wait(30)
        return super().load(params)


async def test_a_request_waits_for_the_keyring_as_long_as_its_client(tmp_path: Path) -> None:
    keys = SlowKeys()
    vault = make_vault(tmp_path, keys)
    vault.commit(PutCredential(Credential(name="a", kind="secret", secret="value")))
    vault.lock("idle")  # as the idle lock leaves it: the next request unlocks on demand
    service = service_for(vault, tmp_path, make(vault, Endpoint(granted("x")), Clock()))
    with pytest.raises(Locked, match=r"has not answered within 0\.2 s"):
        await service.get("a", wait=0.2)
    with pytest.raises(Locked, match=r"has not answered within 0\.1 s"):  # joins the same unlock
        await service.list(wait=0.1)
    assert keys.loads == 0  # one call, still out
    keys.answer.set()
    await until(lambda: not vault.locked)
    assert (await service.get("a", wait=0)).secret == "value"
    assert keys.loads == 1
