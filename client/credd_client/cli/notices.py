"""Warnings of the client-side commands, on standard error: never a value in them."""

from __future__ import annotations

import sys


def warn(message: str) -> None:
    print(f"credd: {message}", file=sys.stderr, flush=True)
