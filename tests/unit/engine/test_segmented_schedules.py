"""Each executor's share of an execution segment: the parts of a sequence add up to the whole."""

from typing import Any

import pytest

from dmsload.engine.executors import (
    EXECUTORS,
    ConstantArrivalRateConfig,
    ExecutorConfig,
    PerVUIterationsConfig,
    RampingArrivalRateConfig,
    RampingVUsConfig,
    SharedIterationsConfig,
)
from dmsload.engine.segments import ExecutionPart, even_sequence, parse_sequence

SEQUENCES = [
    even_sequence(2),
    even_sequence(3),
    even_sequence(4),
    "0,1/3,1/2,1",
    "0,0.3,0.5,0.6,0.7,0.8,0.9,1",
]


def parts(sequence: str) -> list[ExecutionPart]:
    chain = parse_sequence(sequence)
    return [ExecutionPart.create(s, chain) for s in chain]


def config(data: dict[str, Any]) -> ExecutorConfig:
    return EXECUTORS[data["executor"]].model_validate(data)


def vus_at(plan: list[tuple[int, int]], t: int) -> int:
    return [v for o, v in plan if o <= t][-1]


@pytest.mark.parametrize("sequence", SEQUENCES)
@pytest.mark.parametrize(("vus", "iterations"), [(1, 10), (3, 10), (4, 4), (7, 100), (10, 1001)])
def test_shared_iterations_parts_add_up(sequence: str, vus: int, iterations: int) -> None:
    whole = config({"executor": "shared-iterations", "vus": vus, "iterations": iterations})
    shares = [whole.for_part(p) for p in parts(sequence)]
    assert all(isinstance(s, SharedIterationsConfig) for s in shares)
    assert sum(s.vus for s in shares if isinstance(s, SharedIterationsConfig)) == vus
    assert sum(s.progress_total() for s in shares if isinstance(s, SharedIterationsConfig)) == (
        iterations
    )
    for share in shares:  # a part without VUs gets no iteration (nothing would be dropped)
        assert isinstance(share, SharedIterationsConfig)
        assert (share.vus == 0) == (share.iterations == 0)


@pytest.mark.parametrize("sequence", SEQUENCES)
@pytest.mark.parametrize("vus", [1, 2, 5, 13])
def test_vu_count_executors_parts_add_up(sequence: str, vus: int) -> None:
    for data in (
        {"executor": "constant-vus", "vus": vus, "duration": "10s"},
        {"executor": "per-vu-iterations", "vus": vus, "iterations": 3},
    ):
        whole = config(data)
        shares = [whole.for_part(p) for p in parts(sequence)]
        assert sum(s.peak_vus() for s in shares) == vus
        for t in (0, 5_000_000_000):
            assert sum(vus_at(s.vu_plan(), t) for s in shares) == vus_at(whole.vu_plan(), t)
        if isinstance(whole, PerVUIterationsConfig):
            assert sum(s.progress_total() or 0 for s in shares) == 3 * vus


RAMPS = [
    {
        "start_vus": 0,
        "stages": [{"duration": "10s", "target": 10}, {"duration": "5s", "target": 0}],
    },
    {
        "start_vus": 3,
        "stages": [
            {"duration": "7s", "target": 17},
            {"duration": "0s", "target": 5},
            {"duration": "3s", "target": 5},
            {"duration": "9s", "target": 12},
            {"duration": "4s", "target": 1},
        ],
    },
]


@pytest.mark.parametrize("sequence", SEQUENCES)
@pytest.mark.parametrize("ramp", RAMPS)
def test_ramping_vus_parts_add_up_at_every_instant(sequence: str, ramp: dict[str, Any]) -> None:
    whole = config({"executor": "ramping-vus", **ramp})
    assert isinstance(whole, RampingVUsConfig)
    shares = [whole.for_part(p) for p in parts(sequence)]
    instants = sorted({o for s in [whole, *shares] for o, _ in s.vu_plan()})
    for t in instants:
        assert sum(vus_at(s.vu_plan(), t) for s in shares) == vus_at(whole.vu_plan(), t), t
    # each part's VU changes happen exactly when the whole's VU it owns starts or stops
    whole_changes = {o for o, _ in whole.vu_plan()}
    assert all(o in whole_changes for s in shares for o, _ in s.vu_plan())


def test_ramping_vus_interleaves_vus_between_parts() -> None:
    # k6's ramping_vus.go: with 3 equal parts, VUs 1,4,7 go to the first, 2,5,8 to the second
    whole = config(
        {"executor": "ramping-vus", "start_vus": 0, "stages": [{"duration": "9s", "target": 9}]}
    )
    first, second, _ = (whole.for_part(p) for p in parts(even_sequence(3)))
    s = 1_000_000_000
    assert first.vu_plan()[:4] == [(0, 0), (1 * s, 1), (4 * s, 2), (7 * s, 3)]
    assert second.vu_plan()[:4] == [(0, 0), (2 * s, 1), (5 * s, 2), (8 * s, 3)]


ARRIVALS = [
    {"executor": "constant-arrival-rate", "rate": 50, "duration": "4s", "pre_allocated_vus": 8},
    {
        "executor": "constant-arrival-rate",
        "rate": 7,
        "time_unit": "2s",
        "duration": "3s",
        "pre_allocated_vus": 3,
        "max_vus": 10,
    },
    {
        "executor": "ramping-arrival-rate",
        "start_rate": 5,
        "pre_allocated_vus": 6,
        "max_vus": 12,
        "stages": [
            {"duration": "3s", "target": 40},
            {"duration": "2s", "target": 40},
            {"duration": "4s", "target": 3},
        ],
    },
]


def _due(cfg: ExecutorConfig) -> list[int]:
    if isinstance(cfg, ConstantArrivalRateConfig):
        return list(cfg.due_offsets())
    assert isinstance(cfg, RampingArrivalRateConfig)
    from dmsload.engine.executors.ramping_arrival_rate import due_offsets_ns

    return list(due_offsets_ns(cfg.start_rate, cfg.stages, cfg.time_unit, cfg.iteration_indices()))


@pytest.mark.parametrize("sequence", SEQUENCES)
@pytest.mark.parametrize("data", ARRIVALS)
def test_arrival_rate_parts_start_exactly_the_whole_iterations(
    sequence: str, data: dict[str, Any]
) -> None:
    whole = config(data)
    shares = [whole.for_part(p) for p in parts(sequence)]
    merged = sorted(o for s in shares for o in _due(s))
    assert merged == _due(whole)
    assert sum(s.progress_total() or 0 for s in shares) == whole.progress_total()
    assert sum(s.peak_vus() for s in shares) == whole.peak_vus()
    pre = [s.pre_allocated_vus for s in shares if isinstance(s, ConstantArrivalRateConfig)]
    if pre:
        assert sum(pre) == data["pre_allocated_vus"]


def test_arrival_rate_parts_interleave_evenly() -> None:
    whole = config(ARRIVALS[0])
    first, second = (_due(whole.for_part(p)) for p in parts(even_sequence(2)))
    every = _due(whole)
    assert first == every[0::2]
    assert second == every[1::2]


def test_a_part_without_vus_starts_no_arrival() -> None:
    whole = config(
        {"executor": "constant-arrival-rate", "rate": 10, "duration": "2s", "pre_allocated_vus": 1}
    )
    shares = [whole.for_part(p) for p in parts(even_sequence(2))]
    assert [s.peak_vus() for s in shares] == [1, 0]
    assert [s.progress_total() for s in shares] == [20, 0]
    assert _due(shares[1]) == []
