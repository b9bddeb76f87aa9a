"""Replace secret values in a byte stream that arrives in chunks (`credd exec --mask`).

Sans I/O: feed chunks in, get bytes out. A secret may be split across chunks, so the tail of
what was fed is held back until it cannot be the start of a secret any more (at most the
length of the longest secret, less one byte, and only what may begin a secret), and
released by `finish` at the end. `learn` adds a secret while the stream flows (a refreshed
token), from any thread: the old ones stay masked too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = b"<concealed by credd>"


class _Table:
    """The secrets to mask, compiled; replaced whole, so a reader never sees half of one."""

    def __init__(self, values: set[bytes]) -> None:
        self.values = sorted(values, key=len, reverse=True)
        self.longest = len(self.values[0]) if self.values else 0
        # Longest first: where two secrets start at one place, the longer one is masked.
        self.pattern = re.compile(b"|".join(map(re.escape, self.values))) if values else None


class Masker:
    def __init__(self, secrets: Iterable[str], mask: bytes = MASK) -> None:
        self.mask = mask
        self._table = _Table({s.encode() for s in secrets if s})
        self._pending = b""

    def learn(self, secret: str) -> None:
        """Mask ``secret`` too from the next chunk on."""
        if secret:
            self._table = _Table({*self._table.values, secret.encode()})

    def feed(self, chunk: bytes) -> bytes:
        return self._process(self._pending + chunk, final=False)

    def finish(self) -> bytes:
        return self._process(self._pending, final=True)

    def _process(self, data: bytes, *, final: bool) -> bytes:
        self._pending = b""
        table = self._table
        if table.pattern is None:
            return data
        # A match can be trusted only where the longest secret fits in what is known.
        limit = len(data) if final else len(data) - (table.longest - 1)
        out: list[bytes] = []
        position = 0
        for match in table.pattern.finditer(data):
            if match.start() >= limit:
                break
            out += (data[position : match.start()], self.mask)
            position = match.end()
        if final:
            out.append(data[position:])
        else:
            cut = self._hold_from(table, data, max(position, limit))
            out.append(data[position:cut])
            self._pending = data[cut:]
        return b"".join(out)

    @staticmethod
    def _hold_from(table: _Table, data: bytes, start: int) -> int:
        """The first position from ``start`` on where a secret may begin (or the end).

        Only what may still be a secret is held back, so that a prompt without a newline
        reaches the terminal at once.
        """
        for index in range(start, len(data)):
            tail = data[index:]
            if any(value.startswith(tail) or tail.startswith(value) for value in table.values):
                return index
        return len(data)
