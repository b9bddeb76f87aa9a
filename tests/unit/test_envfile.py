"""`credd exec --env-file`'s dotenv parser, with python-dotenv as the oracle.

python-dotenv is what most tools read `.env` files with; where it reads a file, ours must
read the same values, and where it skips a line as unreadable, ours must refuse the file.
"""

from __future__ import annotations

import io

import pytest
from dotenv import dotenv_values
from dotenv.parser import parse_stream
from hypothesis import given, settings
from hypothesis import strategies as st

from credd_client.cli.envfile import EnvFileError, parse, values

SAMPLES = [
    "A=1\nB=2\n",
    "export A=1\nexport\tB = two words \n",
    "# a comment\n\n  # indented comment\nA=x # trailing comment\nB=x#not a comment\n",
    "A=\nB=''\nC=\"\"\nD\nexport E\n",
    "A='single # kept' # comment\nB=\"double # kept\"\t# comment\n",
    "A='it\\'s'\nB='back\\\\slash'\nC='no \\n escape'\n",
    'A="line\\nbreak\\ttab\\"quote\\\\back\\x41"\n',
    "A=\"multi\nline\"\nB='also\nmulti'\n",
    "'quoted key'=1\nA =  spaced\n",
    "A=1\r\nB=2\rC=3",
    'A=credd:github.com\nB=credd:db#username\nC="credd:with space"\n',
    "A= #a comment\nB=#not one\nC=\t# comment\n",
    "\ufeffA=after a byte order mark\n",
    "A=x\nA=y\n",
    "export=1\nexportX=2\n",
    "A=é ü 日本\n",
    "\n\n\n",
    "",
]

BAD = [
    'A="unterminated\n',
    "A='unterminated\nB=2\n",
    "=no key\n",
    'A="x"y\n',
    "A='x' y\n",
    "'unterminated key=1\n",
]


def oracle(text: str) -> dict[str, str | None]:
    return dict(dotenv_values(stream=io.StringIO(text), interpolate=False))


def oracle_refuses(text: str) -> bool:
    return any(binding.error for binding in parse_stream(io.StringIO(text)))


@pytest.mark.parametrize("text", SAMPLES)
def test_reads_what_python_dotenv_reads(text: str) -> None:
    assert not oracle_refuses(text)
    assert values(text) == oracle(text)


@pytest.mark.parametrize("text", BAD)
def test_refuses_what_python_dotenv_skips(text: str) -> None:
    assert oracle_refuses(text)
    with pytest.raises(EnvFileError):
        parse(text)


def test_entries_carry_their_line_numbers() -> None:
    entries = parse("# head\nA=1\n\nB='two\nlines'\nC=3\n")
    assert [(entry.key, entry.line) for entry in entries] == [("A", 2), ("B", 4), ("C", 6)]


def test_an_error_names_the_line_and_not_the_value() -> None:
    with pytest.raises(EnvFileError) as caught:
        parse('A=1\nB="hunter2"tail-of-secret\n')
    assert caught.value.line == 2
    assert "line 2" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert "tail-of-secret" not in str(caught.value)


def test_no_interpolation() -> None:
    assert values('A=1\nB=${A}\nC="$A"\n') == {"A": "1", "B": "${A}", "C": "$A"}


# Lines built from the pieces the syntax is made of, so that most of them parse.
_KEY = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,8}", fullmatch=True)
_TEXT = st.lists(
    st.sampled_from([*"ab xyz#'\"\\=:$%{}", "\\n", "\\'", '\\"', "é", "\t"]), max_size=12
).map("".join)
_VALUE = st.one_of(
    _TEXT,
    _TEXT.map(lambda text: f"'{text}'"),
    _TEXT.map(lambda text: f'"{text}"'),
    _TEXT.map(lambda text: f"credd:{text}"),
)
_LINE = st.one_of(
    st.builds(
        lambda export, key, space, value, comment: f"{export}{key}{space}={space}{value}{comment}",
        st.sampled_from(["", "export ", "  "]),
        _KEY,
        st.sampled_from(["", " "]),
        _VALUE,
        st.sampled_from(["", " # note", "# note", "\t#"]),
    ),
    _KEY,
    st.sampled_from(["", "# comment", "   "]),
)
_FILE = st.lists(_LINE, max_size=6).flatmap(
    lambda lines: st.sampled_from(["\n", "\r\n"]).map(lambda end: end.join(lines))
)


@settings(max_examples=300, deadline=None)
@given(_FILE)
def test_agrees_with_python_dotenv_on_generated_files(text: str) -> None:
    if oracle_refuses(text):
        with pytest.raises(EnvFileError):
            parse(text)
    else:
        assert values(text) == oracle(text)
