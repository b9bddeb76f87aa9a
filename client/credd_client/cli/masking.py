"""Replace secret values in a byte stream that arrives in chunks (`credd exec --mask`).

Sans I/O: feed chunks in, get bytes out. A secret may be split across chunks, so the tail of
what was fed is held back until it cannot be the start of a secret any more (at most the
length of the longest secret, less one byte, and only what may begin a secret), and
released by `finish` at the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = b"<concealed by credd>"


class Masker:
    def __init__(self, secrets: Iterable[str], mask: bytes = MASK) -> None:
        values = sorted({s.encode() for s in secrets if s}, key=len, reverse=True)
        self.mask = mask
        self._values = values
        self._longest = len(values[0]) if values else 0
        # Longest first: where two secrets start at one place, the longer one is masked.
        self._pattern = re.compile(b"|".join(map(re.escape, values))) if values else None
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        return self._process(self._pending + chunk, final=False)

    def finish(self) -> bytes:
        return self._process(self._pending, final=True)

    def _process(self, data: bytes, *, final: bool) -> bytes:
        self._pending = b""
        if self._pattern is None:
            return data
        # A match can be trusted only where the longest secret fits in what is known.
        limit = len(data) if final else len(data) - (self._longest - 1)
        out: list[bytes] = []
        position = 0
        for match in self._pattern.finditer(data):
            if match.start() >= limit:
                break
            out += (data[position : match.start()], self.mask)
            position = match.end()
        if final:
            out.append(data[position:])
        else:
            cut = self._hold_from(data, max(position, limit))
            out.append(data[position:cut])
            self._pending = data[cut:]
        return b"".join(out)

    def _hold_from(self, data: bytes, start: int) -> int:
        """The first position from ``start`` on where a secret may begin (or the end).

        Only what may still be a secret is held back, so that a prompt without a newline
        reaches the terminal at once.
        """
        for index in range(start, len(data)):
            tail = data[index:]
            if any(value.startswith(tail) or tail.startswith(value) for value in self._values):
                return index
        return len(data)
