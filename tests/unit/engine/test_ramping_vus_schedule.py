"""ramping-vus schedules pinned to k6's own test vectors (lib/executor/ramping_vus_test.go)."""

from dmsload.engine.executors.base import Stage
from dmsload.engine.executors.ramping_vus import (
    Step,
    execution_requirements,
    raw_execution_steps,
)

S = 1_000_000_000


def _stages(*pairs: tuple[int, int]) -> list[Stage]:
    return [Stage(duration=f"{seconds}s", target=target) for target, seconds in pairs]


# k6's TestRampingVUsConfigExecutionPlanExample: (target, seconds)
EXAMPLE = _stages((6, 2), (1, 5), (5, 4), (1, 4), (4, 3), (4, 2), (1, 0), (1, 3))
EXAMPLE_RAW = [
    (0, 4),
    (1, 5),
    (2, 6),
    (3, 5),
    (4, 4),
    (5, 3),
    (6, 2),
    (7, 1),
    (8, 2),
    (9, 3),
    (10, 4),
    (11, 5),
    (12, 4),
    (13, 3),
    (14, 2),
    (15, 1),
    (16, 2),
    (17, 3),
    (18, 4),
    (20, 1),
]


def _steps(pairs: list[tuple[int, int]]) -> list[Step]:
    return [Step(seconds * S, vus) for seconds, vus in pairs]


def test_raw_steps_match_k6_example() -> None:
    assert raw_execution_steps(4, EXAMPLE, zero_end=False) == _steps(EXAMPLE_RAW)


def test_raw_steps_with_zero_end_add_the_final_drop() -> None:
    assert raw_execution_steps(4, EXAMPLE, zero_end=True) == _steps([*EXAMPLE_RAW, (23, 0)])


def test_requirements_with_default_graceful_periods() -> None:
    expected = [(0, 4), (1, 5), (2, 6), (33, 5), (42, 4), (50, 1), (53, 0)]
    assert execution_requirements(4, EXAMPLE, 30 * S, 30 * S) == _steps(expected)


def test_requirements_with_a_longer_graceful_stop() -> None:
    expected = [(0, 4), (1, 5), (2, 6), (33, 5), (42, 4), (50, 1), (103, 0)]
    assert execution_requirements(4, EXAMPLE, 30 * S, 80 * S) == _steps(expected)


def test_requirements_with_a_short_graceful_stop_cut_ramp_downs() -> None:
    assert execution_requirements(4, EXAMPLE, 30 * S, 3 * S) == _steps(
        [(0, 4), (1, 5), (2, 6), (26, 0)]
    )
    assert execution_requirements(4, EXAMPLE, 30 * S, 0) == _steps(
        [(0, 4), (1, 5), (2, 6), (23, 0)]
    )


def test_requirements_without_graceful_periods_are_the_raw_steps() -> None:
    assert execution_requirements(4, EXAMPLE, 0, 0) == raw_execution_steps(4, EXAMPLE, True)


def test_longer_k6_vector_with_instant_jumps() -> None:
    # k6's TestRampingVUsExecutionTupleTests, full execution segment
    stages = [
        *EXAMPLE,
        *_stages((5, 0), (5, 3), (0, 0), (2, 2), (0, 2), (4, 4)),
    ]
    expected = [
        *EXAMPLE_RAW,
        (23, 5),
        (26, 0),
        (27, 1),
        (28, 2),
        (29, 1),
        (30, 0),
        (31, 1),
        (32, 2),
        (33, 3),
        (34, 4),
    ]
    assert raw_execution_steps(4, stages, zero_end=False) == _steps(expected)


def test_each_vu_starts_on_the_straight_line() -> None:
    # from 0 to 10 VUs over 10s: VU n starts at n seconds; back down over 10s
    steps = raw_execution_steps(0, _stages((10, 10), (0, 10)), zero_end=True)
    ups = [s for s in steps if s.offset_ns <= 10 * S]
    assert ups == [Step(0, 0)] + [Step(n * S, n) for n in range(1, 11)]
    downs = [s for s in steps if s.offset_ns > 10 * S]
    assert downs == [Step((10 + k) * S, 10 - k) for k in range(1, 11)]


def test_fractional_offsets_truncate_like_go() -> None:
    # 3 VUs over 1s: k6 computes end - D*(t-n)/(t-f) with Go's truncating int64 division,
    # so the truncated part is subtracted: 1s - 666_666_666ns and 1s - 333_333_333ns
    steps = raw_execution_steps(0, _stages((3, 1)), zero_end=False)
    assert steps == [Step(0, 0), Step(333_333_334, 1), Step(666_666_667, 2), Step(S, 3)]
