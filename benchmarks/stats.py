"""Samples of durations and sizes, and how they are summarised: median and spread."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which ``fraction`` of the samples fall (nearest rank)."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass(frozen=True)
class Sample:
    """Many measurements of one thing, in seconds (or bytes for memory)."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Sample:
        return cls(tuple(values))

    @property
    def p50(self) -> float:
        return statistics.median(self.values)

    @property
    def p99(self) -> float:
        return percentile(self.values, 0.99)

    @property
    def iqr(self) -> tuple[float, float]:
        return percentile(self.values, 0.25), percentile(self.values, 0.75)

    def __len__(self) -> int:
        return len(self.values)


def seconds(value: float) -> str:
    """A duration with a unit that keeps three significant digits."""
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1e3:.3g} ms"
    return f"{value:.3g} s"


def megabytes(value: float) -> str:
    return f"{value / 2**20:.1f} MB"


def latency(sample: Sample) -> str:
    """Median with its 99th percentile: the spread of a latency distribution."""
    return f"p50 {seconds(sample.p50)}, p99 {seconds(sample.p99)} (n={len(sample)})"


def median_iqr(sample: Sample, unit: str = "s") -> str:
    """Median with the interquartile range: the spread of repeated whole trials."""
    show = seconds if unit == "s" else megabytes
    low, high = sample.iqr
    return f"{show(sample.p50)} (IQR {show(low)} to {show(high)}, n={len(sample)})"
