"""The daemon's JSON answers decoded without importing `json`.

Importing `json` compiles its regular expressions, which imports `re`, and `re` imports
`enum`: about 10 ms at the start of every command on a slow machine, as much as the rest of
a `credd list` or a git helper's `get`. The decoding itself is C (`_json`, which `json.loads`
drives too); this module drives it the same way, with json.loads's defaults except that
NaN and Infinity, which no JSON document holds, are refused.

On a Python without `_json` (not CPython), `json.loads` does the work.
"""

from __future__ import annotations

TYPE_CHECKING = False  # see _paths.py: keeps `typing` out of the import
if TYPE_CHECKING:
    from collections.abc import Callable

_WHITESPACE = " \t\n\r"  # JSON's insignificant whitespace (RFC 8259, section 2)


class _DecoderOptions:
    """The attributes `_json.make_scanner` reads off a `json.JSONDecoder`."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> object:
        raise ValueError(f"{name} is not JSON")


def _scanner() -> Callable[[str, int], tuple[object, int]] | None:
    try:
        from _json import make_scanner
    except ImportError:  # pragma: no cover - CPython has it
        return None
    return make_scanner(_DecoderOptions())  # type: ignore[arg-type]


_scan = _scanner()


def loads(data: bytes) -> object:
    """The value of one UTF-8 JSON document; ValueError (or RecursionError) if it is not one."""
    text = data.decode("utf-8")
    if _scan is None:  # pragma: no cover - CPython has _json
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration:  # no value where one must begin
        raise ValueError("not a JSON document") from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError("more after the JSON document")
    return value
