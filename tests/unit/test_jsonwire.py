"""The client's JSON decoding without the `json` module decodes what `json.loads` decodes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credd_client._jsonwire import loads

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values, st.sampled_from([None, 2]), st.booleans())
def test_it_decodes_what_json_encodes(value: object, indent: int | None, ascii_only: bool) -> None:
    document = json.dumps(value, indent=indent, ensure_ascii=ascii_only).encode()
    assert loads(document) == json.loads(document)
    assert loads(b" \n\t" + document + b"\r\n ") == json.loads(document)


@pytest.mark.parametrize(
    "document",
    [
        b"",
        b"   ",
        b"{",
        b'{"a": 1} {}',
        b'{"a": 1},',
        b"NaN",
        b"[Infinity]",
        b"[-Infinity]",
        b"\xff",
        b"'single'",
        b"[1,]",
        b"{'a': 1}",
        b'"\x01"',
    ],
)
def test_anything_but_one_json_document_is_a_value_error(document: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the one error the client catches
        loads(document)


def test_deep_nesting_is_a_recursion_error_not_a_crash() -> None:
    with pytest.raises(RecursionError):
        loads(b"[" * 100_000)
