"""k6's execution segments: the part of a test one process (or machine) runs.

A segment is a rational interval `(from, to]` of the whole test; a sequence is a chain of
segments that covers `0..1`. As k6 (`lib/execution_segment.go`), integer quantities (VUs,
iteration counts) are split by striping: each segment owns a fixed, evenly spread subset of
the indices `0..lcd-1`, repeated every `lcd` (the least common denominator of the segments'
lengths), so that the parts of a sequence always add up to exactly the whole and arrivals of
different parts interleave evenly.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

_ZERO = Fraction(0)
_ONE = Fraction(1)


class SegmentError(ValueError):
    """A segment or sequence that cannot be used; the message names the bad value."""


def parse_fraction(text: str) -> Fraction:
    """A percentage (`25%`), a decimal (`0.25`) or a fraction (`1/4`), as k6 reads them."""
    text = text.strip()
    try:
        if text.endswith("%"):
            number = text[:-1]
            if not number.lstrip("-").isdigit():
                raise ValueError
            return Fraction(int(number), 100)
        if not text or any(c.isspace() or c == "_" for c in text):
            raise ValueError
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise SegmentError(
            f"'{text}' is not a valid percentage, decimal, fraction or interval value"
        ) from None


def _rat(value: Fraction) -> str:
    """k6's RatString: `1/4`, or `1` for whole numbers."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator}"


def _round_half_up(value: Fraction) -> int:
    """k6's roundUp: to the nearest integer, halves away from zero (for non-negatives)."""
    quotient, remainder = divmod(value.numerator, value.denominator)
    return quotient + 1 if 2 * remainder >= value.denominator else quotient


@dataclass(frozen=True)
class ExecutionSegment:
    """The interval `(start, end]` of the whole test, with 0 <= start < end <= 1."""

    start: Fraction
    end: Fraction

    def __post_init__(self) -> None:
        if self.start < 0:
            raise SegmentError(
                f"segment start value must be at least 0 but was {float(self.start):.2f}"
            )
        if self.start >= self.end:
            raise SegmentError(
                f"segment start({float(self.start):.2f}) must be less than its "
                f"end({float(self.end):.2f})"
            )
        if self.end > 1:
            raise SegmentError(
                f"segment end value can't be more than 1 but was {float(self.end):.2f}"
            )

    @classmethod
    def parse(cls, text: str) -> ExecutionSegment:
        """`1/4:2/4`, `25%:50%`, `0.25:0.5`; a single value `v` means `0:v`; empty means `0:1`."""
        start = _ZERO
        end_text = text.strip() or "1"
        if ":" in end_text:
            start_text, end_text = end_text.split(":", 1)
            start = parse_fraction(start_text)
        return cls(start, parse_fraction(end_text))

    @property
    def length(self) -> Fraction:
        """`end - start`."""
        return self.end - self.start

    @property
    def is_whole(self) -> bool:
        """The segment is `0:1`, the whole test."""
        return self.start == 0 and self.end == 1

    def scale(self, value: int) -> int:
        """k6's ExecutionSegment.Scale: `round(value*end) - round(value*start)`, alone."""
        return _round_half_up(value * self.end - _round_half_up(value * self.start))

    def __str__(self) -> str:
        return f"{_rat(self.start)}:{_rat(self.end)}"


def parse_sequence(text: str) -> tuple[ExecutionSegment, ...]:
    """`0,1/4,1/2,3/4,1` → the chained segments; empty text is no sequence."""
    if not text.strip():
        return ()
    points = text.split(",")
    if len(points) < 2:
        raise SegmentError(
            f"at least 2 points are needed for an execution segment sequence, {len(points)} given"
        )
    values = [parse_fraction(point) for point in points]
    return tuple(ExecutionSegment(a, b) for a, b in itertools.pairwise(values))


def sequence_text(sequence: tuple[ExecutionSegment, ...]) -> str:
    """k6's ExecutionSegmentSequence.String: `start,end1,end2,...`."""
    if not sequence:
        return ""
    return ",".join([_rat(sequence[0].start), *(_rat(s.end) for s in sequence)])


def even_sequence(parts: int) -> str:
    """The sequence that splits the test in `parts` equal parts: `0,1/n,...,1`."""
    if parts < 1:
        raise SegmentError(f"the number of parts must be at least 1, {parts} received")
    return ",".join(_rat(Fraction(i, parts)) for i in range(parts + 1))


def filled_sequence(
    sequence: tuple[ExecutionSegment, ...], segment: ExecutionSegment | None
) -> tuple[ExecutionSegment, ...]:
    """k6's GetFilledExecutionSegmentSequence: the sequence (or the segment alone) with the
    gaps before and after filled, so that it covers `0..1`."""
    if not sequence:
        if segment is None or segment.is_whole:
            return (ExecutionSegment(_ZERO, _ONE),)
        sequence = (segment,)
    result = list(sequence)
    if result[0].start != 0:
        result.insert(0, ExecutionSegment(_ZERO, result[0].start))
    if result[-1].end != 1:
        result.append(ExecutionSegment(result[-1].end, _ONE))
    return tuple(result)


@dataclass(frozen=True)
class Stripe:
    """The indices a segment owns: `start`, then `start + offsets[0]`, ..., cycling every `lcd`."""

    start: int
    offsets: tuple[int, ...]
    lcd: int

    def indices(self) -> Iterator[int]:
        """Every index this segment owns, in order, without end (0-based)."""
        index = self.start
        for offset in itertools.cycle(self.offsets):
            yield index
            index += offset

    def share(self) -> float:
        """The fraction of all indices this stripe holds."""
        return len(self.offsets) / self.lcd

    def count_below(self, value: int) -> int:
        """How many of the indices `0..value-1` this segment owns (k6's ScaleInt64)."""
        result = (value // self.lcd) * len(self.offsets)
        remainder = value % self.lcd
        index = self.start
        for offset in self.offsets:
            if index >= remainder:
                break
            result += 1
            index += offset
        return result


NO_INDICES = Stripe(0, (), 1)
"""The stripe of a part that gets no iteration at all."""


def _stripes(sequence: tuple[ExecutionSegment, ...]) -> tuple[int, list[Stripe]]:
    """k6's NewExecutionSegmentSequenceWrapper: the lcd and each segment's stripe."""
    lcd = math.lcm(*(s.length.denominator for s in sequence))
    numerators = [s.length.numerator * (lcd // s.length.denominator) for s in sequence]
    # biggest segments first (stable), so that they get their indices spread the most
    order = sorted(range(len(sequence)), key=lambda i: -numerators[i])
    taken: list[list[int]] = [[] for _ in sequence]
    for i in range(lcd):
        for original in order:
            numerator = numerators[original]
            num = len(taken[original]) * lcd
            if i > num // numerator or (i == num // numerator and num % numerator == 0):
                taken[original].append(i)
                break
    stripes = []
    for indices in taken:
        offsets = [b - a for a, b in itertools.pairwise(indices)]
        offsets.append(indices[0] + lcd - indices[-1])
        stripes.append(Stripe(indices[0], tuple(offsets), lcd))
    return lcd, stripes


@dataclass(frozen=True)
class ExecutionPart:
    """k6's ExecutionTuple: one segment within its (filled) sequence, with its stripe."""

    segment: ExecutionSegment
    sequence: tuple[ExecutionSegment, ...]
    """The filled sequence, covering 0..1."""
    index: int
    """The position of `segment` in `sequence`."""
    stripe: Stripe

    @classmethod
    def create(
        cls, segment: ExecutionSegment | None, sequence: tuple[ExecutionSegment, ...] = ()
    ) -> ExecutionPart:
        """The part `segment` of `sequence` (k6's NewExecutionTuple); errors name the values."""
        for previous, current in itertools.pairwise(sequence):
            if current.start != previous.end:
                raise SegmentError(
                    f"the start value {_rat(current.start)} of segment {current} must be equal "
                    f"to the end value of the previous one, but it is {_rat(previous.end)}"
                )
        filled = filled_sequence(sequence, segment)
        wanted = segment or ExecutionSegment(_ZERO, _ONE)
        if wanted not in filled:
            raise SegmentError(
                f"couldn't find segment {wanted} in sequence {sequence_text(filled)}"
            )
        index = filled.index(wanted)
        _, stripes = _stripes(filled)
        return cls(wanted, filled, index, stripes[index])

    @property
    def parts(self) -> int:
        """How many segments the sequence has."""
        return len(self.sequence)

    def scale(self, value: int) -> int:
        """This part's share of `value`; the shares of every part add up to `value`."""
        if len(self.sequence) == 1:
            return value
        return self.stripe.count_below(value)

    def for_value(self, value: int) -> ExecutionPart | None:
        """k6's GetNewExecutionTupleFromValue: the sequence re-cut so that each part's length is
        its share of `value`, without the parts whose share is 0; None when this part's is."""
        if value < 1:
            return None
        if value % self.stripe.lcd == 0:
            return self
        _, stripes = _stripes(self.sequence)
        cuts: list[ExecutionSegment] = []
        mine: int | None = None
        done = 0
        for i, stripe in enumerate(stripes):
            share = stripe.count_below(value)
            if share == 0:
                continue
            if i == self.index:
                mine = len(cuts)
            cuts.append(ExecutionSegment(Fraction(done, value), Fraction(done + share, value)))
            done += share
        if mine is None:
            return None
        seq = tuple(cuts)
        _, new_stripes = _stripes(seq)
        return ExecutionPart(seq[mine], seq, mine, new_stripes[mine])

    def __str__(self) -> str:
        return f"{self.segment} in {sequence_text(self.sequence)}"


@dataclass(frozen=True)
class SegmentChoice:
    """What the user asked for: `--execution-segment` and `--execution-segment-sequence`, as
    given, and the part they name."""

    segment_text: str
    sequence_text: str | None
    part: ExecutionPart
    given_index: int | None
    """The segment's position in the given sequence; None when no sequence was given."""

    @classmethod
    def parse(cls, segment_text: str, sequence: str | None = None) -> SegmentChoice:
        """Parse both options; a SegmentError names the option and the value at fault."""
        try:
            segment = ExecutionSegment.parse(segment_text)
        except SegmentError as exc:
            raise SegmentError(f"--execution-segment: {exc} (got {segment_text!r})") from None
        try:
            chain = parse_sequence(sequence or "")
        except SegmentError as exc:
            raise SegmentError(f"--execution-segment-sequence: {exc} (got {sequence!r})") from None
        try:
            part = ExecutionPart.create(segment, chain)
        except SegmentError as exc:
            raise SegmentError(f"--execution-segment-sequence: {exc}") from None
        given = chain.index(segment) if segment in chain else None
        return cls(segment_text, sequence, part, given)

    def to_json(self) -> dict[str, object]:
        """The manifest's `execution_segment`: the options as given and the index."""
        return {
            "segment": self.segment_text,
            "sequence": self.sequence_text,
            "index": self.given_index,
        }
