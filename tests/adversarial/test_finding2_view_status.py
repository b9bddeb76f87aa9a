"""Finding 2: a view's status told the store's size (which moves with every secret's length)
and the store's and key's paths. Now it carries health, version, the view's own expiry and
the counts of its names: no size, no path."""

from __future__ import annotations

import json
from typing import Any

import pytest

from credd_client import Client
from tests.adversarial.conftest import add_view, through
from tests.support.cli import credd
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.integration

# What changes between two asks whatever the store does.
_MOVING = ("uptime_seconds",)


def strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return []


def test_a_views_status_says_nothing_of_the_store(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    env = headless_credd_env
    with Client(env["CREDD_SOCKET"]) as main:
        main.put("git:in", {"secret": "inside"})
        main.put("aws:out", {"secret": "x"})
    view = add_view(env, "peek", "--allow", "git:*", "--ttl", "1h")
    asked = credd(through(env, view), "status", "--json")
    assert asked.returncode == 0, asked.stderr
    status = json.loads(asked.stdout)
    assert status["running"] is True
    assert status["store"] is None
    assert status["key_backend"] is None
    assert status["socket"] is None
    assert status["view"]["socket"] is None
    assert status["view"]["name"] == "peek"
    assert status["view"]["expires_at"] is not None
    assert status["credentials"]["total"] == 1
    assert status["locked"] is False
    assert "size" not in asked.stdout
    assert [s for s in strings(status) if "/" in s] == []
    for folder in (env["CREDD_HOME"], env["XDG_RUNTIME_DIR"], env["HOME"], str(view.parent)):
        assert folder not in asked.stdout

    # The secret outside the view grows by 1000 characters: the view's status does not move.
    def seen() -> dict[str, Any]:
        with Client(str(view)) as client:
            raw = dict(client.status().raw)
        for key in _MOVING:
            raw.pop(key)
        raw["view"] = {
            k: v for k, v in raw["view"].items() if k not in ("last_used_at", "requests")
        }
        return raw

    first = seen()
    with Client(env["CREDD_SOCKET"]) as main:
        main.put("aws:out", {"secret": "x" * 1001})
    assert seen() == first

    shown = credd(through(env, view), "status")
    assert shown.returncode == 0, shown.stderr
    assert "store:" not in shown.stdout
    assert env["CREDD_HOME"] not in shown.stdout
    # The main socket still tells everything.
    main_status = json.loads(credd(env, "status", "--json").stdout)
    assert main_status["store"]["size"] > 0
    assert main_status["socket"] == env["CREDD_SOCKET"]
