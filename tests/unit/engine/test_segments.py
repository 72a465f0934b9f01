"""Execution segments against k6's published vectors (lib/execution_segment_test.go)."""

import itertools
import random
from fractions import Fraction

import pytest

from dmsload.engine.segments import (
    ExecutionPart,
    ExecutionSegment,
    SegmentChoice,
    SegmentError,
    _stripes,
    even_sequence,
    parse_sequence,
    sequence_text,
)


def seg(text: str) -> ExecutionSegment:
    return ExecutionSegment.parse(text)


def part(segment: str | None, sequence: str = "") -> ExecutionPart:
    return ExecutionPart.create(None if segment is None else seg(segment), parse_sequence(sequence))


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("0:1", Fraction(0), Fraction(1)),
        ("0.5:0.75", Fraction(1, 2), Fraction(3, 4)),
        ("1/2:3/4", Fraction(1, 2), Fraction(3, 4)),
        ("50%:75%", Fraction(1, 2), Fraction(3, 4)),
        ("2/4:75%", Fraction(1, 2), Fraction(3, 4)),
        ("75%", Fraction(0), Fraction(3, 4)),
        ("", Fraction(0), Fraction(1)),
    ],
)
def test_parse_segment(text: str, start: Fraction, end: Fraction) -> None:
    parsed = seg(text)
    assert (parsed.start, parsed.end) == (start, end)
    assert seg(str(parsed)) == parsed  # the string form reads back


@pytest.mark.parametrize(
    "text", ["125%", "1a5%", "1a5", "1a5%:2/3", "125%:250%", "55%:50%", "-1:1", "0:2", "1/2:1/2"]
)
def test_bad_segments_are_refused(text: str) -> None:
    with pytest.raises(SegmentError):
        seg(text)


def test_segment_string_is_k6s() -> None:
    assert str(seg("1/4:2/4")) == "1/4:1/2"
    assert str(seg("0:1")) == "0:1"


def test_segment_scale_alone() -> None:
    # TestExecutionSegmentFailures
    assert (seg("0:0.25").scale(2), seg("0:0.25").scale(3)) == (1, 1)
    assert (seg("0.25:0.5").scale(2), seg("0.25:0.5").scale(3)) == (0, 1)
    assert (seg("0.5:0.75").scale(2), seg("0.5:0.75").scale(3)) == (1, 0)
    assert (seg("0.75:1").scale(2), seg("0.75:1").scale(3)) == (0, 1)


def test_segment_scale_consistency_over_random_sequences() -> None:
    # TestExecutionSegmentScaleConsistency, with a fixed seed
    rng = random.Random(7)
    for _ in range(50):
        n = rng.randrange(2, 11)
        numerators = [rng.randrange(1, n + 1) for _ in range(n)]
        total = sum(numerators)
        points = [Fraction(sum(numerators[:i]), total) for i in range(n + 1)]
        value = rng.randrange(2, 101)
        segments = [ExecutionSegment(a, b) for a, b in itertools.pairwise(points)]
        assert sum(s.scale(value) for s in segments) == value
        # and the striped shares add up too, at every value
        for v in range(value + 1):
            assert sum(ExecutionPart.create(s, tuple(segments)).scale(v) for s in segments) == v


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("0.5,1", ["1/2:1"]),
        ("1/2,1", ["1/2:1"]),
        ("1/3,2/3", ["1/3:2/3"]),
        ("0,1/3,2/3", ["0:1/3", "1/3:2/3"]),
        ("0,1/3,2/3,1", ["0:1/3", "1/3:2/3", "2/3:1"]),
        ("0.5,0.7", ["1/2:7/10"]),
        ("0.5,0.7,1", ["1/2:7/10", "7/10:1"]),
        (
            "0,1/13,2/13,1/3,1/2,3/4,1",
            ["0:1/13", "1/13:2/13", "2/13:1/3", "1/3:1/2", "1/2:3/4", "3/4:1"],
        ),
    ],
)
def test_parse_sequence(text: str, expected: list[str]) -> None:
    result = parse_sequence(text)
    assert [seg(e) for e in expected] == list(result)


@pytest.mark.parametrize("text", ["0.5", "1,1", "-0.5,1", "1/2,1/2", "1/2,1/3", "0,1,1/2"])
def test_bad_sequences_are_refused(text: str) -> None:
    with pytest.raises(SegmentError):
        parse_sequence(text)


@pytest.mark.parametrize(
    "text", ["1/2,1", "1/3,2/3", "0,1/3,2/3", "0,1/3,2/3,1", "0,1/13,2/13,1/3,1/2,3/4,1"]
)
def test_sequence_string_reads_back(text: str) -> None:
    assert sequence_text(parse_sequence(text)) == text


@pytest.mark.parametrize(
    ("sequence", "segment", "start", "offsets", "lcd"),
    [
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0:0.3", 0, (4, 3, 3), 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.3:0.5", 1, (4, 6), 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.5:0.6", 2, (10,), 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.6:0.7", 3, (10,), 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.8:0.9", 8, (10,), 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.9:1", 9, (10,), 10),
        ("0,0.2,0.5,0.6,0.7,0.8,0.9,1", "0.9:1", 9, (10,), 10),
        ("0,0.2,0.5,0.6,0.7,0.8,0.9,1", "0:0.2", 1, (4, 6), 10),
        ("0,0.2,0.5,0.6,0.7,0.8,0.9,1", "0.6:0.7", 3, (10,), 10),
        # not full sequences
        ("0,0.2,0.5", "0:0.2", 3, (6, 4), 10),
        ("0,0.2,0.5", "0.2:0.5", 1, (4, 2, 4), 10),
        ("0,2/5,4/5", "0:2/5", 0, (3, 2), 5),
        ("0,2/5,4/5", "2/5:4/5", 1, (3, 2), 5),
        # no sequence
        ("", "0:0.2", 1, (5,), 5),
        ("", "0:1/5", 1, (5,), 5),
        ("", "0:2/10", 1, (5,), 5),
        ("", "0:0.4", 1, (2, 3), 5),
        ("", "0:2/5", 1, (2, 3), 5),
        ("", "2/5:4/5", 1, (3, 2), 5),
        ("", "0:4/10", 1, (2, 3), 5),
        ("", "1/10:5/10", 1, (2, 2, 4, 2), 10),
    ],
)
def test_striped_offsets(
    sequence: str, segment: str, start: int, offsets: tuple[int, ...], lcd: int
) -> None:
    stripe = part(segment, sequence).stripe
    assert (stripe.start, stripe.offsets, stripe.lcd) == (start, offsets, lcd)


@pytest.mark.parametrize(
    ("sequence", "lcd"),
    [
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", 10),
        ("0,0.1,0.5,0.6,0.7,0.8,0.9,1", 10),
        ("0,0.2,0.5,0.6,0.7,0.8,0.9,1", 10),
        ("0,1/3,5/6", 6),
        ("0,1/3,4/7", 21),
    ],
)
def test_sequence_lcd(sequence: str, lcd: int) -> None:
    assert _stripes(parse_sequence(sequence))[0] == lcd


def test_tuple_scale() -> None:
    # TestExecutionTupleScale
    assert (part("0.5").scale(2), part("0.5").scale(3)) == (1, 2)
    assert (part("0.5:1.0").scale(2), part("0.5:1.0").scale(3)) == (1, 1)
    assert (part("0.5", "0,0.5,1").scale(2), part("0.5", "0,0.5,1").scale(3)) == (1, 2)
    assert (part("0.5:1.0", "0,0.5,1").scale(2), part("0.5:1.0", "0,0.5,1").scale(3)) == (1, 1)


def test_big_scale() -> None:
    assert part("0:7/20", "0,7/20,7/10,1").scale(50) == 18


def test_new_tuple_from_value() -> None:
    # TestGetNewExecutionTupleBesedOnValue
    new = part("0:1/3", "0,1/3,2/3,1").for_value(20)
    assert new is not None
    assert sequence_text(new.sequence) == "0,7/20,7/10,1"


_THIRDS = "0,1/3,2/3,1"


@pytest.mark.parametrize(
    ("segment", "sequence", "scale", "new_scale"),
    [
        (None, "", {50: 50, 1: 1, 0: 0}, {50: {50: 50, 1: 1, 0: 0}, 1: {50: 50, 1: 1, 0: 0}}),
        ("0:1", "", {50: 50, 1: 1, 0: 0}, {50: {50: 50, 1: 1, 0: 0}, 1: {50: 50, 1: 1, 0: 0}}),
        ("0:1", "0,1", {50: 50, 1: 1, 0: 0}, {50: {50: 50, 1: 1, 0: 0}}),
        (
            "0:1/3",
            _THIRDS,
            {50: 17, 3: 1, 2: 1, 1: 1, 0: 0},
            {
                50: {50: 17, 1: 1, 0: 0},
                20: {50: 18, 1: 1, 0: 0},
                3: {50: 17, 1: 1, 0: 0},
                2: {50: 25, 1: 1, 0: 0},
                1: {50: 50, 1: 1, 0: 0},
            },
        ),
        (
            "1/3:2/3",
            _THIRDS,
            {50: 17, 3: 1, 2: 1, 1: 0, 0: 0},
            {
                50: {50: 17, 1: 0, 0: 0},
                20: {50: 17, 1: 0, 0: 0},
                3: {50: 17, 1: 0, 0: 0},
                2: {50: 25, 1: 0, 0: 0},
            },
        ),
        (
            "2/3:1",
            _THIRDS,
            {50: 16, 3: 1, 2: 0, 1: 0, 0: 0},
            {50: {50: 16, 1: 0, 0: 0}, 20: {50: 15, 1: 0, 0: 0}, 3: {50: 16, 1: 0, 0: 0}},
        ),
    ],
)
def test_new_execution_tuple(
    segment: str | None,
    sequence: str,
    scale: dict[int, int],
    new_scale: dict[int, dict[int, int]],
) -> None:
    # TestNewExecutionTuple; k6's "segment not in the new sequence" is our None (share 0)
    tuple_ = part(segment, sequence)
    for value, expected in scale.items():
        assert tuple_.scale(value) == expected, value
    for value, expectations in new_scale.items():
        new = tuple_.for_value(value)
        for scaled, expected in expectations.items():
            assert (0 if new is None else new.scale(scaled)) == expected, (value, scaled)
    assert tuple_.for_value(0) is None


def test_stripes_interleave_and_cover_every_index() -> None:
    sequence = parse_sequence(even_sequence(4))
    owners: dict[int, int] = {}
    for s in sequence:
        p = ExecutionPart.create(s, sequence)
        for i, index in enumerate(p.stripe.indices()):
            if i >= 25:
                break
            assert index not in owners
            owners[index] = p.index
    assert sorted(owners) == list(range(100))
    assert [owners[i] for i in range(8)] == [0, 1, 2, 3, 0, 1, 2, 3]


def test_even_sequence() -> None:
    assert even_sequence(4) == "0,1/4,1/2,3/4,1"
    assert even_sequence(1) == "0,1"
    with pytest.raises(SegmentError):
        even_sequence(0)


def test_choice_keeps_the_options_as_given() -> None:
    choice = SegmentChoice.parse("1/4:2/4", "0,1/4,2/4,3/4,1")
    assert choice.to_json() == {"segment": "1/4:2/4", "sequence": "0,1/4,2/4,3/4,1", "index": 1}
    assert choice.part.index == 1 and choice.part.parts == 4
    alone = SegmentChoice.parse("1/4:2/4")
    assert alone.to_json() == {"segment": "1/4:2/4", "sequence": None, "index": None}
    assert alone.part.parts == 3  # filled around it: 0:1/4, 1/4:1/2, 1/2:1


@pytest.mark.parametrize(
    ("segment", "sequence", "needle"),
    [
        ("1/4:3/4", "0,1/4,2/4,3/4,1", "couldn't find segment 1/4:3/4"),
        ("abc", None, "--execution-segment: 'abc' is not a valid"),
        ("0:1/2", "0,1/2,x", "--execution-segment-sequence: 'x' is not a valid"),
    ],
)
def test_choice_errors_name_the_option(segment: str, sequence: str | None, needle: str) -> None:
    with pytest.raises(SegmentError, match=needle):
        SegmentChoice.parse(segment, sequence)
