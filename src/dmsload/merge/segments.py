"""Execution segments and sequences as the parts' manifests record them (k6's notation).

A segment is `FROM:TO` (or just `TO`, meaning `0:TO`), each end a fraction (`1/4`), a decimal
(`0.25`) or a percentage (`25%`); a sequence is the comma-separated list of its boundaries,
`0,1/4,2/4,3/4,1`. Fractions are exact, so four quarters cover exactly one whole.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction


class SegmentError(ValueError):
    """A segment or sequence that does not parse or is out of order."""


def parse_fraction(text: str) -> Fraction:
    """One boundary: `1/4`, `0.25` or `25%`, between 0 and 1."""
    raw = text.strip()
    try:
        value = Fraction(raw[:-1]) / 100 if raw.endswith("%") else Fraction(raw)
    except (ValueError, ZeroDivisionError):
        raise SegmentError(f"{raw!r} is not a fraction such as 1/4, 0.25 or 25%") from None
    if not 0 <= value <= 1:
        raise SegmentError(f"{raw!r} is outside 0..1")
    return value


@dataclass(frozen=True, order=True)
class Segment:
    """The part [start, end) of the whole run."""

    start: Fraction
    end: Fraction

    def __str__(self) -> str:
        return f"{_text(self.start)}:{_text(self.end)}"


def _text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else str(value)


def parse_segment(text: str) -> Segment:
    """`FROM:TO` (or `TO`; empty is the whole) into a Segment with FROM < TO."""
    if not text.strip():
        return Segment(Fraction(0), Fraction(1))
    start_text, colon, end_text = text.partition(":")
    start, end = (
        (parse_fraction(start_text), parse_fraction(end_text))
        if colon
        else (Fraction(0), parse_fraction(start_text))
    )
    if start >= end:
        raise SegmentError(f"{text.strip()!r}: the start must be below the end")
    return Segment(start, end)


def parse_sequence(text: str) -> tuple[Fraction, ...]:
    """`0,1/4,...,1` into its strictly increasing boundaries (0 and 1 added when left out)."""
    values = [parse_fraction(item) for item in text.split(",") if item.strip()]
    if not values:
        raise SegmentError("an empty sequence")
    if values[0] != 0:
        values.insert(0, Fraction(0))
    if values[-1] != 1:
        values.append(Fraction(1))
    if any(low >= high for low, high in itertools.pairwise(values)):
        raise SegmentError(f"{text.strip()!r}: the boundaries must increase")
    return tuple(values)


def sequence_segments(boundaries: tuple[Fraction, ...]) -> list[Segment]:
    """The segments a sequence's boundaries delimit, in order."""
    return [Segment(low, high) for low, high in itertools.pairwise(boundaries)]


def gaps(segments: list[Segment]) -> list[Segment]:
    """The parts of [0, 1) no segment covers (segments sorted and not overlapping)."""
    missing: list[Segment] = []
    at = Fraction(0)
    for segment in sorted(segments):
        if segment.start > at:
            missing.append(Segment(at, segment.start))
        at = max(at, segment.end)
    if at < 1:
        missing.append(Segment(at, Fraction(1)))
    return missing
