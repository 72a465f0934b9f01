"""Percentiles in C-speed passes give hdrhistogram's own value, bucket for bucket."""

from __future__ import annotations

import random

import pytest
from hdrh.histogram import HdrHistogram

from dmsload.metrics.hdr_percentile import value_at_percentile, values_at_percentiles
from dmsload.metrics.sinks import HDR_HIGHEST_US, TrendSink, new_histogram, record_many

PERCENTILES = [0, 0.1, 1, 25, 50, 90, 95, 99, 99.9, 99.99, 100]


@pytest.mark.parametrize("seed", range(4))
def test_every_percentile_matches_hdrhistogram(seed: int) -> None:
    rng = random.Random(seed)
    for trial in range(60):
        hist = new_histogram()
        highest = rng.choice([10, 2_000, 100_000, 10**7, HDR_HIGHEST_US])
        for _ in range(rng.choice([1, 2, 5, 100, 3_000])):
            hist.record_value(rng.randint(0, highest))
        if trial % 3 == 0:  # a histogram read back from its encoding (merge, hdrlog)
            hist = HdrHistogram.decode(hist.encode())
        expected = [hist.get_value_at_percentile(p) for p in PERCENTILES]
        assert values_at_percentiles(hist, PERCENTILES) == expected
        assert value_at_percentile(hist, 99.0) == hist.get_value_at_percentile(99.0)


def test_an_empty_histogram_and_a_merged_one() -> None:
    assert values_at_percentiles(new_histogram(), [50, 99]) == [0, 0]
    left, right = TrendSink(), TrendSink()
    for value in range(1, 5_000):
        (left if value % 3 else right).add_scaled(value * 7)
    left.merge(right)
    hist = left.histogram()
    assert values_at_percentiles(hist, PERCENTILES) == [
        hist.get_value_at_percentile(p) for p in PERCENTILES
    ]


def test_a_value_above_the_range_is_at_the_top() -> None:
    hist = new_histogram()
    assert record_many(hist, [5, HDR_HIGHEST_US * 3]) == 1
    assert values_at_percentiles(hist, [50, 100]) == [
        hist.get_value_at_percentile(50),
        hist.get_value_at_percentile(100),
    ]
