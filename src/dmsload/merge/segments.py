"""What a set of parts covers of the whole run: the gaps between their segments.

Segments and sequences are parsed by `dmsload.engine.segments`, as `run` parses them.
"""

from __future__ import annotations

from fractions import Fraction

from dmsload.engine.segments import ExecutionSegment


def segment_key(segment: ExecutionSegment) -> tuple[Fraction, Fraction]:
    """The order of segments: by start, then end."""
    return segment.start, segment.end


def gaps(segments: list[ExecutionSegment]) -> list[ExecutionSegment]:
    """The parts of 0..1 no segment covers (segments not overlapping)."""
    missing: list[ExecutionSegment] = []
    at = Fraction(0)
    for segment in sorted(segments, key=segment_key):
        if segment.start > at:
            missing.append(ExecutionSegment(at, segment.start))
        at = max(at, segment.end)
    if at < 1:
        missing.append(ExecutionSegment(at, Fraction(1)))
    return missing
