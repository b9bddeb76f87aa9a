"""The dotenv syntax of `credd exec --env-file`, as python-dotenv reads it (no interpolation).

    # a comment
    export GITHUB_TOKEN=credd:github.com        # a reference: resolved through credd
    DB_USER="credd:db#username"
    GREETING='hello # not a comment'
    EMPTY=
    PLAIN=passed as written                     # unquoted: trailing comment dropped

Keys are unquoted (no ``=``, ``#`` or space) or single-quoted; values unquoted (ends at the
line's end, a `` #`` starts a comment, trailing space dropped), single-quoted (``\\'`` and
``\\\\`` are escapes) or double-quoted (``\\n``, ``\\t``, ``\\"`` and the other C escapes);
quoted values may span lines; ``KEY= # note`` is empty. A key without ``=`` has no value
(None). A later line sets a key again. Unlike python-dotenv, which skips a line it cannot
read, a bad line is an error that names its line number: a half-read file must not start a
command.

Sans I/O: `parse` takes the file's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPACE = r"[^\S\r\n]*"  # white space within a line
_WITHIN_LINE = re.compile(_SPACE)
_LEADING = re.compile(r"\s*")
_EXPORT = re.compile(r"export[^\S\r\n]+")
_QUOTED_KEY = re.compile(r"'([^']+)'")
_UNQUOTED_KEY = re.compile(r"[^=#\s]+")
_EQUALS = re.compile(rf"={_SPACE}")
# A backslash in quotes always takes the next character with it (which may be the quote).
_SINGLE_QUOTED = re.compile(r"'((?:\\.|[^'\\])*)'", re.DOTALL)
_DOUBLE_QUOTED = re.compile(r'"((?:\\.|[^"\\])*)"', re.DOTALL)
_UNQUOTED = re.compile(r"[^\r\n]*")
_INLINE_COMMENT = re.compile(r"\s+#.*")
_COMMENT = re.compile(rf"{_SPACE}#[^\r\n]*")
_END_OF_LINE = re.compile(rf"{_SPACE}(?:\r\n|\n|\r|$)")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SINGLE_ESCAPES = re.compile(r"\\[\\']")
_DOUBLE_ESCAPES = re.compile(r"\\[\\'\"abfnrtv]")
_C_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
}


class EnvFileError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class Entry:
    key: str
    value: str | None  # None: the key stands alone, without ``=``
    line: int


def parse(text: str) -> list[Entry]:
    """Every entry in file order (a key set twice appears twice; the last one counts)."""
    return list(_Scanner(text).entries())


def values(text: str) -> dict[str, str | None]:
    """Key to value, the last setting of a key winning (python-dotenv's `dotenv_values`)."""
    return {entry.key: entry.value for entry in parse(text)}


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text.removeprefix("\ufeff")  # a byte order mark some editors write
        self.position = 0

    def entries(self) -> list[Entry]:
        found: list[Entry] = []
        while True:
            self._take(_LEADING)
            if self.position >= len(self.text):
                return found
            line = self._line()
            entry = self._entry(line)
            if entry is not None:
                found.append(entry)

    def _entry(self, line: int) -> Entry | None:
        self._take(_EXPORT)
        if self._peek() == "#":
            self._take(_COMMENT)
            self._end_of_line(line, "a comment")
            return None
        key = self._key(line)
        self._take(_WITHIN_LINE)
        value: str | None = None
        if self._peek() == "=":
            equals = self._take(_EQUALS)
            assert equals is not None
            # `KEY= # note` is empty with a comment; `KEY=#x` is the value "#x".
            spaced = len(equals.group(0)) > 1
            value = "" if spaced and self._peek() == "#" else self._value(line, key)
        self._take(_COMMENT)
        self._end_of_line(line, f"the value of {key}")
        return Entry(key, value, line)

    def _key(self, line: int) -> str:
        if self._peek() == "'":
            match = self._take(_QUOTED_KEY)
            if match is None:
                raise EnvFileError(line, "a key opens a quote and does not close it")
            return match.group(1)
        match = self._take(_UNQUOTED_KEY)
        if match is None:
            raise EnvFileError(line, "expected KEY=VALUE")
        return match.group(0)

    def _value(self, line: int, key: str) -> str:
        quote = self._peek()
        if quote in ("'", '"'):
            quoted = _SINGLE_QUOTED if quote == "'" else _DOUBLE_QUOTED
            escapes = _SINGLE_ESCAPES if quote == "'" else _DOUBLE_ESCAPES
            match = self._take(quoted)
            if match is None:
                raise EnvFileError(
                    line, f"the value of {key} opens a {quote} and does not close it"
                )
            return escapes.sub(lambda escape: _C_ESCAPES[escape.group(0)[1]], match.group(1))
        match = self._take(_UNQUOTED)
        assert match is not None  # it matches the empty string too
        return _INLINE_COMMENT.sub("", match.group(0)).rstrip()

    def _end_of_line(self, line: int, what: str) -> None:
        if self._take(_END_OF_LINE) is None:
            # Not shown: the text after a closing quote may be a value's secret tail.
            raise EnvFileError(line, f"unexpected text after {what} on the same line")

    def _peek(self) -> str:
        return self.text[self.position : self.position + 1]

    def _take(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        match = pattern.match(self.text, self.position)
        if match is not None:
            self.position = match.end()
        return match

    def _line(self) -> int:
        return len(_LINE_BREAK.findall(self.text, 0, self.position)) + 1
