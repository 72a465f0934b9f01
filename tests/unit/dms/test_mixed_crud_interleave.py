"""The mixed-crud operation schedule: smooth weighted round-robin."""

from __future__ import annotations

from collections import Counter

import pytest

from dmsload.dms.workloads.mixed_crud import WeightedInterleave

STRATEGY = {"create": 20.0, "read": 40.0, "update": 20.0, "delete": 5.0, "query": 15.0}


def test_every_window_of_sum_weights_picks_holds_the_exact_mix() -> None:
    mix = WeightedInterleave(STRATEGY)
    picks = [mix.next() for _ in range(300)]
    for start in range(0, 200):
        window = Counter(picks[start : start + 100])
        assert window == {op: int(w) for op, w in STRATEGY.items()}, start


def test_the_first_twenty_picks_already_contain_a_delete() -> None:
    mix = WeightedInterleave(STRATEGY)
    first = Counter(mix.next() for _ in range(20))
    assert first == {"create": 4, "read": 8, "update": 4, "delete": 1, "query": 3}


def test_zero_weights_are_never_picked_and_fractions_stay_within_one() -> None:
    weights = {"create": 1.5, "read": 0.0, "update": 0.0, "delete": 0.0, "query": 2.25}
    mix = WeightedInterleave(weights)
    counts: Counter[str] = Counter()
    for n in range(1, 1001):
        counts[mix.next()] += 1
        for op in ("create", "query"):
            assert abs(counts[op] - n * weights[op] / 3.75) <= 1, (n, op, counts)
    assert set(counts) == {"create", "query"}


@pytest.mark.parametrize("only", ["create", "delete"])
def test_a_single_operation_is_picked_every_time(only: str) -> None:
    mix = WeightedInterleave({op: (1.0 if op == only else 0.0) for op in STRATEGY})
    assert {mix.next() for _ in range(10)} == {only}
