"""Where one series' samples accumulate: Counter, Gauge, Rate and HDR-backed Trend sinks.

Memory is constant in run length: a Counter, Gauge or Rate keeps a few numbers, a Trend keeps
exact count/sum/min/max plus one HDR histogram (microseconds, 3 significant digits) and a
bounded buffer of samples not yet folded into it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from hdrh.histogram import HdrHistogram

from dmsload.metrics.kinds import MetricError, MetricKind

HDR_LOWEST_US = 1
HDR_HIGHEST_US = 3_600_000_000
"""One hour, in µs: the largest trend value the histograms hold exactly; larger ones clamp."""
HDR_SIGNIFICANT_FIGURES = 3
TREND_SCALE = 1000
"""Trends store value × 1000 as integers: µs for time trends (shown in ms), milli-units else."""
_FLUSH_AT = 2048


def new_histogram() -> Any:
    """An empty histogram with dmsload's range and precision."""
    return HdrHistogram(HDR_LOWEST_US, HDR_HIGHEST_US, HDR_SIGNIFICANT_FIGURES)


class CounterSink:
    """A running sum (k6 Counter)."""

    __slots__ = ("samples", "total")

    def __init__(self) -> None:
        self.total = 0.0
        self.samples = 0

    def add(self, value: float) -> None:
        """Add a sample."""
        self.total += value
        self.samples += 1

    def merge(self, other: CounterSink) -> None:
        """Fold another counter into this one."""
        self.total += other.total
        self.samples += other.samples


class GaugeSink:
    """The last value set, with the smallest and largest seen (k6 Gauge)."""

    __slots__ = ("max", "min", "samples", "set_at_ns", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.min = float("inf")
        self.max = float("-inf")
        self.samples = 0
        self.set_at_ns = 0

    def add(self, value: float) -> None:
        """Set the gauge."""
        self.value = value
        self.samples += 1
        self.set_at_ns = time.monotonic_ns()
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value

    def merge(self, other: GaugeSink) -> None:
        """Fold another gauge in: the later value wins, min and max combine."""
        if other.samples == 0:
            return
        if other.set_at_ns >= self.set_at_ns:
            self.value = other.value
            self.set_at_ns = other.set_at_ns
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        self.samples += other.samples


class RateSink:
    """The share of non-zero samples (k6 Rate)."""

    __slots__ = ("samples", "trues")

    def __init__(self) -> None:
        self.trues = 0
        self.samples = 0

    def add(self, value: float) -> None:
        """Add a sample: non-zero counts as true."""
        self.samples += 1
        if value:
            self.trues += 1

    def merge(self, other: RateSink) -> None:
        """Fold another rate in."""
        self.trues += other.trues
        self.samples += other.samples

    @property
    def rate(self) -> float:
        """trues / samples (0 with no samples)."""
        return self.trues / self.samples if self.samples else 0.0


class TrendSink:
    """Exact count, sum, min and max, and an HDR histogram for percentiles (k6 Trend).

    Samples are integers in scaled units (see TREND_SCALE). Recording one only appends it to
    a buffer; the count, sum, min and max and the histogram take each batch at once (C
    built-ins and one pass), which costs a fraction of folding samples in one at a time.
    """

    __slots__ = ("_clamped", "_flush_at", "_hist", "_max", "_min", "_pending", "_samples", "_sum")

    def __init__(self) -> None:
        # The ten sinks of one request fill at the same pace: each folds at its own batch
        # size (2,048 to 2,944), so that their folds fall on different requests instead of
        # stopping the event loop for all ten at once.
        self._flush_at = _FLUSH_AT + ((id(self) * 2_654_435_761 >> 20) % 8) * 128
        self._samples = 0
        self._sum = 0
        self._min = 0
        self._max = 0
        self._clamped = 0
        self._pending: list[int] = []
        self._hist: Any = None

    @property
    def samples(self) -> int:
        """How many samples were recorded."""
        return self._samples + len(self._pending)

    @samples.setter
    def samples(self, value: int) -> None:
        self._flush()
        self._samples = value

    @property
    def sum(self) -> int:
        """The sum of the samples (negative ones counted as 0)."""
        self._flush()
        return self._sum

    @sum.setter
    def sum(self, value: int) -> None:
        self._flush()
        self._sum = value

    @property
    def min(self) -> int:
        """The smallest sample (0 with none)."""
        self._flush()
        return self._min

    @min.setter
    def min(self, value: int) -> None:
        self._flush()
        self._min = value

    @property
    def max(self) -> int:
        """The largest sample (0 with none)."""
        self._flush()
        return self._max

    @max.setter
    def max(self, value: int) -> None:
        self._flush()
        self._max = value

    @property
    def clamped(self) -> int:
        """How many samples were above the histogram's range (recorded at its top)."""
        self._flush()
        return self._clamped

    @clamped.setter
    def clamped(self, value: int) -> None:
        self._flush()
        self._clamped = value

    def add(self, value: float) -> None:
        """Add a sample in display units (ms for time trends)."""
        if value < 0:
            raise MetricError(f"trend values must be >= 0 (got {value})")
        self.add_scaled(round(value * TREND_SCALE))

    def add_scaled(self, value: int) -> None:
        """Add a sample already in scaled units (µs for time trends; below 0 counts as 0);
        the engine's fast path."""
        pending = self._pending
        pending.append(value)
        if len(pending) >= self._flush_at:
            self._flush()

    def appender(self) -> Callable[[int], None]:
        """The buffer's own `append`, for a writer that adds samples in scaled units (below 0
        counts as 0) without a call per sample and calls `fold_due` itself (the request
        recorder's fast path): the buffer stays the same list for the sink's life."""
        return self._pending.append

    def fold_due(self) -> int:
        """Fold the buffer if it holds a batch; returns how many samples may be appended
        before it holds one again."""
        if len(self._pending) >= self._flush_at:
            self._flush()
        return self._flush_at - len(self._pending)

    def _flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        low = min(pending)
        if low < 0:
            pending[:] = [value if value > 0 else 0 for value in pending]
            low = 0
        high = max(pending)
        if self._samples == 0 or low < self._min:
            self._min = low
        if high > self._max:
            self._max = high
        self._samples += len(pending)
        self._sum += sum(pending)
        hist = self._hist
        if hist is None:
            hist = self._hist = new_histogram()
        if low == high:  # one value throughout (keep-alive connect and TLS phases: all 0)
            self._clamped += record_many(hist, {low: len(pending)})
        else:
            self._clamped += record_many(hist, pending)
        pending.clear()

    def histogram(self) -> Any:
        """The HDR histogram with every sample folded in (shared; do not modify)."""
        self._flush()
        if self._hist is None:
            self._hist = new_histogram()
        return self._hist

    def merge(self, other: TrendSink) -> None:
        """Fold another trend in, losslessly."""
        if other.samples == 0:
            return
        self._flush()
        if self._samples == 0 or other.min < self._min:
            self._min = other.min
        self._max = max(self._max, other.max)
        self._samples += other.samples
        self._sum += other.sum
        self._clamped += other.clamped
        if self._hist is None:
            self._hist = new_histogram()
        self._hist.add(other.histogram())


def record_many(hist: Any, values: Iterable[int] | Mapping[int, int]) -> int:
    """Record values into an HdrHistogram at once; returns how many were clamped to its top.

    `values` are the values, or a mapping of each value to how many times it occurs.

    Computes the same counts index as `HdrHistogram.record_value` (checked by a unit test)
    without its per-call overhead, once per distinct value: a batch of latencies in whole µs
    repeats many values (and the connect and TLS phases of keep-alive requests are all 0), so
    the values are tallied first (`Counter`, in C) and each distinct one is placed once.
    """
    counts = hist.counts
    mask = hist.sub_bucket_mask
    unit = hist.unit_magnitude
    half_magnitude = hist.sub_bucket_half_count_magnitude
    half = hist.sub_bucket_half_count
    shift = unit + half_magnitude + 1
    highest = hist.highest_trackable_value
    clamped = 0
    recorded = 0
    tally = values if isinstance(values, Mapping) else Counter(values)
    if not tally:
        return 0
    low = min(hist.min_value, min(tally), highest)
    high = hist.max_value
    for value, times in tally.items():
        if value > highest:
            value = highest
            clamped += times
        bucket = (value | mask).bit_length() - shift
        counts[((bucket + 1) << half_magnitude) + (value >> (bucket + unit)) - half] += times
        recorded += times
        if value > high:
            high = value
    hist.total_count += recorded
    hist.min_value = low
    hist.max_value = high
    return clamped


Sink = CounterSink | GaugeSink | RateSink | TrendSink

_SINKS: dict[MetricKind, type[CounterSink] | type[GaugeSink] | type[RateSink] | type[TrendSink]] = {
    MetricKind.COUNTER: CounterSink,
    MetricKind.GAUGE: GaugeSink,
    MetricKind.RATE: RateSink,
    MetricKind.TREND: TrendSink,
}


def new_sink(kind: MetricKind) -> Sink:
    """An empty sink for a metric kind."""
    return _SINKS[kind]()
