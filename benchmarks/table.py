"""The result table: one row per metric, credd beside the baseline measured in the same run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

COLUMNS = ("metric", "credd", "baseline (same run)", "ratio", "goal", "met?")


@dataclass(frozen=True)
class Row:
    metric: str
    credd: str
    baseline: str = ""
    ratio: str = ""
    goal: str = ""
    met: bool | None = None  # None: no goal, or not measured
    note: str = ""

    @classmethod
    def pending(cls, metric: str, goal: str, reason: str) -> Row:
        """A row that cannot be measured yet: the reason stands in its credd column."""
        return cls(metric, f"not measured: {reason}", goal=goal, met=None)

    def cells(self) -> tuple[str, ...]:
        met = {True: "yes", False: "NO", None: "-"}[self.met]
        return (self.metric, self.credd, self.baseline, self.ratio, self.goal, met)


def ratio(numerator: float, denominator: float) -> str:
    if denominator <= 0:
        return "n/a"
    return f"{numerator / denominator:.2f}x"


def render(rows: Sequence[Row]) -> str:
    """A Markdown table (readable in a terminal, pasteable into the README)."""
    lines = [_line(COLUMNS), _line(tuple("---" for _ in COLUMNS))]
    lines.extend(_line(row.cells()) for row in rows)
    notes = [f"- {row.metric}: {row.note}" for row in rows if row.note]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def _line(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |"
