"""Latency statistics over nanosecond samples and the plain-text tables the benchmarks print."""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

NS_PER_MS = 1_000_000


def percentile(sorted_samples: Sequence[int], fraction: float) -> int:
    """Nearest-rank percentile of already sorted samples (fraction in (0, 1])."""
    if not sorted_samples:
        raise ValueError("no samples")
    rank = max(1, math.ceil(fraction * len(sorted_samples)))
    return sorted_samples[rank - 1]


@dataclass(frozen=True)
class LatencySummary:
    """p50/p95/p99 and mean of one series of samples, in milliseconds."""

    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float = 0.0

    @classmethod
    def of(cls, samples_ns: Sequence[int]) -> LatencySummary:
        ordered = sorted(samples_ns)
        return cls(
            count=len(ordered),
            p50_ms=percentile(ordered, 0.50) / NS_PER_MS,
            p95_ms=percentile(ordered, 0.95) / NS_PER_MS,
            p99_ms=percentile(ordered, 0.99) / NS_PER_MS,
            mean_ms=statistics.fmean(ordered) / NS_PER_MS,
            max_ms=ordered[-1] / NS_PER_MS,
        )


def median_ms(samples_ns: Sequence[int]) -> float:
    return statistics.median(samples_ns) / NS_PER_MS


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned first column, right-aligned numbers, one space-padded line per row."""
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        return "  ".join(
            [first.ljust(widths[0]), *(cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True))]
        )

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def sample_count(text: str) -> int:
    """A number of samples or runs from the command line: a positive integer."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
