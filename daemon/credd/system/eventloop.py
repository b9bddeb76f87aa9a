"""The daemon's event loop: uvloop where installed (the `fast` extra), else asyncio's own.

`asyncio.run` always makes asyncio's default loop, and uvicorn picks uvloop (`loop="auto"`)
only when it runs the loop itself, which `credd serve` does not (it binds its own socket
and awaits `Server.serve`): so the loop is chosen here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on the fastest loop available."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
