"""The one events connection a `credd exec` or `credd render` holds, declaring its names.

`Client.watch` reconnects after a daemon restart and catches up by versions; this module
decides what an event means to a holder of values: a `changed` or `refreshed` name it holds
is read again, a `deleted` one keeps its last value (with a warning), `locked` leaves
everything as it is, and `unlocked` reads every name again, as changes may have come while
the daemon was locked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping

from credd_client import Client
from credd_client.errors import CreddError

from .notices import warn

REREAD = frozenset({"changed", "refreshed"})


class Keeper:
    """Calls ``reread(names)`` with the held names that may have changed."""

    def __init__(
        self,
        names: Iterable[str],
        holder: str,
        reread: Callable[[set[str]], None],
        versions: Mapping[str, int],
    ) -> None:
        """``versions``: those of the values read before, so that a change between that
        read and the watch's first connection is caught up, not lost."""
        self.names = frozenset(names)
        self.reread = reread
        self._client = Client()
        self._watch = self._client.watch(sorted(self.names), holder=holder, versions=versions)
        self._thread = threading.Thread(target=self._run, name=f"{holder} watch", daemon=True)

    def start(self) -> None:
        """Watch from a thread of its own, until `stop`; an error there is a warning."""
        self._thread.start()

    def stop(self) -> None:
        self._watch.close()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._client.close()

    def run(self) -> None:
        """Watch in this thread, until `stop`; a `CreddError` that retrying cannot mend (a
        daemon without events, a view that forbids them) ends it."""
        for event in self._watch:
            if event.type == "unlocked":
                self.reread(set(self.names))
            elif event.name in self.names and event.type in REREAD:
                self.reread({event.name})
            elif event.name in self.names and event.type == "deleted":
                warn(f"{event.name!r} was deleted; what was made from it keeps its last value")

    def _run(self) -> None:
        try:
            self.run()
        except CreddError as exc:
            warn(f"no longer watching for changes ({exc.message}); the values stay as they are")
