"""Arrival-rate schedules against k6's formulas (peers.md §1.4)."""

import math

import pytest

from dmsload.engine.executors.base import Stage
from dmsload.engine.executors.constant_arrival_rate import (
    ConstantArrivalRateConfig,
    due_offset_ns,
    planned_iterations,
)
from dmsload.engine.executors.ramping_arrival_rate import (
    due_offsets_ns,
)
from dmsload.engine.executors.ramping_arrival_rate import (
    planned_iterations as ramping_planned,
)

S = 1_000_000_000


def test_constant_rate_iteration_zero_is_due_at_zero() -> None:
    assert [due_offset_ns(i, 50, S) for i in range(4)] == [0, 20_000_000, 40_000_000, 60_000_000]


@pytest.mark.parametrize(
    ("rate", "unit", "duration", "count"),
    [
        (50, S, 4 * S, 200),
        (10, S, S, 10),
        (1, 60 * S, 90 * S, 2),
        (3, S, S, 3),
        (7, 2 * S, 3 * S, 11),
    ],
)
def test_constant_rate_planned_iterations(rate: int, unit: int, duration: int, count: int) -> None:
    assert planned_iterations(rate, unit, duration) == count
    config = ConstantArrivalRateConfig.model_validate(
        {
            "executor": "constant-arrival-rate",
            "rate": rate,
            "time_unit": f"{unit // S}s",
            "duration": f"{duration // S}s",
            "pre_allocated_vus": 1,
        }
    )
    offsets = list(config.due_offsets())
    assert len(offsets) == count
    assert all(o < duration for o in offsets)
    assert offsets == [i * unit // rate for i in range(count)]


def _stages(*pairs: tuple[int, str]) -> list[Stage]:
    return [Stage(duration=d, target=t) for t, d in pairs]


def test_flat_stage_first_iteration_is_at_area_one_not_zero() -> None:
    offsets = list(due_offsets_ns(5, _stages((5, "2s")), S))
    assert offsets == [n * S // 5 for n in range(1, 11)]


def test_linear_ramp_solves_the_area_equation() -> None:
    # rate(t) = t iterations/s from 0 to 10/s over 10s: area t^2/2 = n → t = sqrt(2n)
    offsets = list(due_offsets_ns(0, _stages((10, "10s")), S))
    assert len(offsets) == 50
    for n, offset in enumerate(offsets, start=1):
        assert offset == pytest.approx(math.sqrt(2 * n) * S, abs=2)


def test_ramp_down_solves_the_area_equation() -> None:
    # rate(t) = 10 - t from 10/s to 0 over 10s: area 10t - t^2/2 = n
    offsets = list(due_offsets_ns(10, _stages((0, "10s")), S))
    assert len(offsets) == 50
    for n, offset in enumerate(offsets, start=1):
        expected = 10 - math.sqrt(100 - 2 * n)
        assert offset == pytest.approx(expected * S, abs=2)


def test_fractions_carry_into_the_next_stage() -> None:
    # 3/s for 1.5s is 4.5 iterations: 4 in the flat stage; the 5th needs 0.5 more in the ramp
    # from 3/s to 2/s, where the area is 3x - x^2/2: x = 3 - sqrt(9 - 2*0.5)
    offsets = list(due_offsets_ns(3, _stages((3, "1500ms"), (2, "1s")), S))
    assert offsets[:4] == [333_333_333, 666_666_666, 1_000_000_000, 1_333_333_333]
    assert offsets[4] == 1_500_000_000 + int((3 - math.sqrt(8)) * S)
    assert offsets[5] == 1_500_000_000 + int((3 - math.sqrt(6)) * S)
    assert offsets[6] == 2_500_000_000  # the ramp adds 2.5: 4.5 + 2.5 = 7 iterations
    assert len(offsets) == 7


def test_mixed_stages_total() -> None:
    stages = _stages((10, "1s"), (20, "1s"), (20, "2s"), (0, "4s"))
    offsets = list(due_offsets_ns(10, stages, S))
    assert len(offsets) == ramping_planned(10, stages, S) == 10 + 15 + 40 + 40
    assert offsets == sorted(offsets)
    assert offsets[-1] == 8 * S  # the area reaches 105 exactly at the end


def test_time_unit_scales_the_rate() -> None:
    # 60 per minute = 1/s
    offsets = list(due_offsets_ns(60, _stages((60, "3s")), 60 * S))
    assert offsets == [S, 2 * S, 3 * S]
