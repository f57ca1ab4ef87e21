"""Cutting a long recording into segments that transcode in parallel, each within one Lambda run.

Boundaries are at multiples of the segment length, moved back to the nearest keyframe of the
source when the keyframe times are known (the decoder then starts exactly there, nothing is
decoded and thrown away); a tail shorter than a quarter segment joins the segment before it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

# A tail shorter than this fraction of a segment is merged into the previous segment.
MIN_TAIL_FRACTION = 0.25


@dataclass(frozen=True)
class Segment:
    index: int
    start: float
    # None for the last segment: it runs to the end of the source, so no rounding loses a tail.
    duration: float | None

    @property
    def name(self) -> str:
        return f"{self.index:04d}"


def plan_segments(duration: float, segment_seconds: float, keyframes: Sequence[float] | None = None) -> list[Segment]:
    """Segments covering ``[0, duration)`` in order, each about ``segment_seconds`` long."""
    if duration <= 0:
        raise ValueError("duration must be positive")
    if segment_seconds <= 0:
        raise ValueError("segment_seconds must be positive")
    count = max(1, math.ceil(duration / segment_seconds))
    tail = duration - (count - 1) * segment_seconds
    if count > 1 and tail < segment_seconds * MIN_TAIL_FRACTION:
        count -= 1
    targets = [index * segment_seconds for index in range(count)]
    starts: list[float] = []
    ordered = sorted(keyframes) if keyframes else []
    for target in targets:
        start = target
        if ordered and target > 0:
            position = bisect.bisect_right(ordered, target) - 1
            if position >= 0:
                start = ordered[position]
        if starts and start <= starts[-1]:
            continue  # no keyframe inside this stretch: the previous segment grows instead
        starts.append(round(start, 6))
    return [
        Segment(index, start, round(starts[index + 1] - start, 6) if index + 1 < len(starts) else None)
        for index, start in enumerate(starts)
    ]
