"""The templates of `credd render`: text where ``{{ credd:NAME }}`` stands for a value.

    //registry.npmjs.org/:_authToken={{ credd:npm }}
    user={{ credd:db#username }}  literal braces: {{{{ and }}

Every ``{{`` opens a reference, except ``{{{{``, which is a literal ``{{``; a reference ends
at the first ``}}`` on the same line, and spaces inside the braces are ignored. The reference
syntax is `references`'. A ``{{`` that opens anything else, or is not closed on its line, is
an error naming its line and column: `parse` reads the whole template before anything is
fetched or written.

Sans I/O: text in, parts out; `render` joins them with the values it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .references import PREFIX, BadReference, Reference, parse_reference

OPEN = "{{"
CLOSE = "}}"
LITERAL_OPEN = "{{{{"


class TemplateError(ValueError):
    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Slot:
    """A reference and where it stands (1-based line and column of its ``{{``)."""

    reference: Reference
    line: int
    column: int


Part = str | Slot


def parse(text: str) -> list[Part]:
    parts: list[Part] = []
    literal: list[str] = []
    position = 0
    while (start := text.find(OPEN, position)) >= 0:
        literal.append(text[position:start])
        if text.startswith(LITERAL_OPEN, start):
            literal.append(OPEN)
            position = start + len(LITERAL_OPEN)
            continue
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        end = text.find(CLOSE, start + len(OPEN))
        line_end = text.find("\n", start)
        if end < 0 or 0 <= line_end < end:
            raise TemplateError(
                line, column, "a reference opened with {{ is not closed on its line"
            )
        inside = text[start + len(OPEN) : end].strip()
        if not inside.startswith(PREFIX):
            raise TemplateError(
                line,
                column,
                "{{ opens something else than a credd: reference (write {{{{ for {{)",
            )
        try:
            reference = parse_reference(inside)
        except BadReference as exc:
            raise TemplateError(line, column, str(exc)) from None
        parts += ("".join(literal), Slot(reference, line, column))
        literal = []
        position = end + len(CLOSE)
    literal.append(text[position:])
    parts.append("".join(literal))
    return [part for part in parts if part != ""]


def slots(parts: list[Part]) -> list[Slot]:
    return [part for part in parts if isinstance(part, Slot)]


def render(parts: list[Part], value: Callable[[Slot], str]) -> str:
    return "".join(part if isinstance(part, str) else value(part) for part in parts)
