"""Percentiles of an HdrHistogram in C-speed passes.

`HdrHistogram.get_value_at_percentile` walks the counts one Python step at a time: about 1 ms
for a latency histogram, on the event loop, for every percentile threshold every 2 s and for
the capacity monitor's p50/p95/p99. Here the counts up to the largest value are summed with
`itertools.accumulate` and searched with `bisect`; the result is the same value, bucket for
bucket (a unit test compares the two).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from itertools import accumulate
from typing import Any


def values_at_percentiles(hist: Any, percentiles: Iterable[float]) -> list[int]:
    """The value at each percentile (0 to 100), as `get_value_at_percentile` gives it."""
    wanted = list(percentiles)
    total = hist.total_count
    if total <= 0:
        return [0 for _ in wanted]
    readable = min(hist.counts_len, hist.encoder.payload.counts_len)
    end = min(readable, int(hist._counts_index_for(int(hist.max_value))) + 1)
    running = list(accumulate(hist.counts[:end]))
    found: list[int] = []
    for percentile in wanted:
        target = max(int(min(percentile, 100.0) * total / 100 + 0.5), 1)
        index = bisect_left(running, target)
        if index >= len(running):  # max_value understated: walk the rest as hdrh does
            return [int(hist.get_value_at_percentile(p)) for p in wanted]
        value = hist.get_value_from_index(index)
        if percentile:
            found.append(int(hist.get_highest_equivalent_value(value)))
        else:
            found.append(int(hist.get_lowest_equivalent_value(value)))
    return found


def value_at_percentile(hist: Any, percentile: float) -> int:
    """The value at one percentile (0 to 100), as `get_value_at_percentile` gives it."""
    return values_at_percentiles(hist, (percentile,))[0]
