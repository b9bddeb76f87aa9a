"""References (`credd:NAME#FIELD`) and the templates of `credd render`: pure parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credd_client.cli.references import (
    BadReference,
    Reference,
    is_reference,
    parse_reference,
    percent_decode,
)
from credd_client.cli.template import Slot, TemplateError, parse, render, slots


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("credd:github.com", Reference("github.com")),
        ("credd:db#username", Reference("db", "username")),
        ("credd:db#secret", Reference("db")),
        ("credd:git:https://example.com/a b", Reference("git:https://example.com/a b")),
        ("credd:issue%2342", Reference("issue#42")),
        ("credd:issue%2342#username", Reference("issue#42", "username")),
        ("credd:100%25", Reference("100%")),
        ("credd:%E6%97%A5", Reference("日")),
    ],
)
def test_references_parse(text: str, expected: Reference) -> None:
    assert is_reference(text)
    assert parse_reference(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("credd:", "names no credential"),
        ("credd:#username", "names no credential"),
        ("credd:a#b#username", "%23"),
        ("credd:a#password", "the fields are secret, username"),
        ("credd:a#", "the fields are"),
        ("credd:100%", "%25"),
        ("credd:%zz", "%25"),
        ("credd:%FF", "not UTF-8"),
    ],
)
def test_bad_references_say_why(text: str, says: str) -> None:
    with pytest.raises(BadReference, match=says):
        parse_reference(text)


@given(st.text(min_size=1), st.sampled_from(["secret", "username"]))
def test_every_name_round_trips_through_percent_encoding(name: str, field: str) -> None:
    encoded = "".join(f"%{byte:02X}" for byte in name.encode("utf-8", "surrogatepass"))
    try:
        name.encode()
    except UnicodeEncodeError:
        return  # not a name credd can hold
    assert percent_decode(encoded) == name
    assert parse_reference(f"credd:{encoded}#{field}") == Reference(name, field)


def test_a_template_is_text_and_slots() -> None:
    parts = parse("a={{ credd:one }}\nb={{credd:two#username}} c}}\n")
    assert parts == [
        "a=",
        Slot(Reference("one"), 1, 3),
        "\nb=",
        Slot(Reference("two", "username"), 2, 3),
        " c}}\n",
    ]
    values = {"one": "1", "two": "2"}
    assert render(parts, lambda slot: values[slot.reference.name]) == "a=1\nb=2 c}}\n"


def test_four_braces_are_two_literal_ones() -> None:
    parts = parse("{{{{ not a reference }} and {{{{{{ credd:x }}")
    assert slots(parts) == [Slot(Reference("x"), 1, 33)]
    assert render(parts, lambda _slot: "X") == "{{ not a reference }} and {{X"


def test_a_template_without_references_is_its_text() -> None:
    assert parse("plain } text {\n") == ["plain } text {\n"]
    assert parse("") == []


@pytest.mark.parametrize(
    ("text", "line", "column", "says"),
    [
        ("ok\n  x={{ credd:never closed\n}}", 2, 5, "not closed on its line"),
        ("{{ credd:x }} {{ credd:y", 1, 15, "not closed"),
        ("{{ .Values.token }}", 1, 1, "else than a credd: reference"),
        ("a\nb\n{{ credd:x#password }}", 3, 1, "the fields are"),
    ],
)
def test_template_errors_name_the_place(text: str, line: int, column: int, says: str) -> None:
    with pytest.raises(TemplateError, match=says) as caught:
        parse(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert f"line {line}, column {column}" in str(caught.value)


_LITERAL = st.text(st.sampled_from(list("ab {}\n#%:")), max_size=8).filter(
    lambda text: "{{" not in text and not text.endswith("{")
)


@given(st.lists(st.tuples(_LITERAL, st.text(min_size=1, max_size=6)), max_size=5), _LITERAL)
def test_any_text_and_names_render_back(pieces: list[tuple[str, str]], tail: str) -> None:
    """Literal text with its `{{` written `{{{{`, and any names percent-encoded: the
    rendering is the text with each reference's value in its place."""
    try:
        for _, name in pieces:
            name.encode()
    except UnicodeEncodeError:
        return  # not a name credd can hold
    source, expected = [], []
    for literal, name in pieces:
        encoded = "".join(f"%{byte:02X}" for byte in name.encode())
        source.append(literal.replace("{{", "{{{{") + "{{{{" + "{{ credd:" + encoded + " }}")
        expected.append(literal + "{{" + f"<{name}>")
    source.append(tail)
    expected.append(tail)
    parts = parse("".join(source))
    assert render(parts, lambda slot: f"<{slot.reference.name}>") == "".join(expected)
