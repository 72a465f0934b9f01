"""Where one series' samples accumulate: Counter, Gauge, Rate and HDR-backed Trend sinks.

Memory is constant in run length: a Counter, Gauge or Rate keeps a few numbers, a Trend keeps
exact count/sum/min/max plus one HDR histogram (microseconds, 3 significant digits) and a
bounded buffer of samples not yet folded into it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
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
_TALLY_SLICE = 1024
_PLACE_SLICE = 256
"""While a trend folds a full batch, each recorded sample does one step of the fold: tally
`_TALLY_SLICE` of its values or place `_PLACE_SLICE` distinct ones into the histogram (about
0.1 ms each). Folded at once, a batch of 2,000-odd distinct latencies took about 1.3 ms, a
stall of the event loop that started open-model iterations late."""


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
    a buffer. When the buffer reaches its batch size, its count, sum, min and max are folded at
    once (C built-ins) and its values tallied (`Counter`); the tally is then placed into the
    histogram a slice per recorded sample, so that no one request stops the event loop for
    the whole batch. Every read (stats, histogram, merge) folds whatever is left first.
    """

    __slots__ = (
        "_clamped",
        "_flush_at",
        "_hist",
        "_left",
        "_max",
        "_min",
        "_pending",
        "_placing",
        "_raw",
        "_samples",
        "_sum",
        "_tally",
        "_trigger",
    )

    def __init__(self) -> None:
        # The ten sinks of one request fill at the same pace: each folds at its own batch
        # size (2,048 to 2,944), so that their folds fall on different requests.
        self._flush_at = _FLUSH_AT + ((id(self) * 2_654_435_761 >> 20) % 8) * 128
        self._trigger = self._flush_at  # 0 while a batch is being folded: each add helps
        self._samples = 0
        self._sum = 0
        self._min = 0
        self._max = 0
        self._clamped = 0
        self._pending: list[int] = []
        # a batch being folded: its values still to tally, then its tally still to place
        self._raw: list[int] = []
        self._tally: Counter[int] = Counter()
        self._placing: Iterator[tuple[int, int]] | None = None
        self._left = 0
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
        if len(pending) >= self._trigger:
            self._fold_step()

    def appender(self) -> Callable[[int], None]:
        """The buffer's own `append`, for a writer that adds samples in scaled units (below 0
        counts as 0) without a call per sample and calls `fold_due` itself (the request
        recorder's fast path): the buffer stays the same list for the sink's life."""
        return self._pending.append

    def fold_due(self) -> int:
        """What `add_scaled` does after its append, for a writer using `appender`: a step of
        folding when one is due; returns how many samples may be appended before the next
        step (1 while a batch is being folded: a step per sample)."""
        pending = self._pending
        if len(pending) >= self._trigger:
            self._fold_step()
        if self._trigger == 0:
            return 1
        return max(1, self._trigger - len(pending))

    def fold_pending(self) -> bool:
        """Begin folding what is recorded, or take one more step of a fold in progress; True
        while the fold has steps left. For a caller that yields between steps (before the
        thresholds are evaluated) instead of folding a whole batch at once when it reads."""
        if self._trigger != 0 and not self._pending:
            return False
        self._fold_step()  # a new batch's stats now, its values placed by the next steps
        return self._trigger == 0

    def _fold_step(self) -> None:
        """One bounded step of folding a batch: start it (its count, sum, min and max, with C
        built-ins), tally a slice of its values, or place a slice of its tally."""
        raw = self._raw
        if raw:
            self._tally.update(raw[-_TALLY_SLICE:])
            del raw[-_TALLY_SLICE:]
            if not raw:
                self._left = len(self._tally)
                self._placing = iter(self._tally.items())
        elif self._placing is not None:
            step = min(self._left, _PLACE_SLICE)
            self._place(islice(self._placing, step))
            self._left -= step
            if not self._left:
                self._placing = None
                self._tally = Counter()
                self._trigger = self._flush_at
        elif self._pending:
            pending = self._pending  # the same list for the sink's life: it is only emptied
            batch = pending[:]
            pending.clear()
            low, high = self._fold_stats(batch)
            if low == high:  # one value throughout (keep-alive connect and TLS phases: all
                self._place(((low, len(batch)),))  # 0): placed at once, nothing to tally
            else:
                self._raw = batch
                self._trigger = 0
        else:
            self._trigger = self._flush_at

    def _place(self, tally: Iterable[tuple[int, int]]) -> None:
        hist = self._hist
        if hist is None:
            hist = self._hist = new_histogram()
        self._clamped += place_tally(hist, tally)

    def _fold_stats(self, values: list[int]) -> tuple[int, int]:
        """Fold a batch's count, sum, min and max (negatives made 0 in place); its min and
        max."""
        low = min(values)
        if low < 0:
            values[:] = [value if value > 0 else 0 for value in values]
            low = 0
        high = max(values)
        if self._samples == 0 or low < self._min:
            self._min = low
        if high > self._max:
            self._max = high
        self._samples += len(values)
        self._sum += sum(values)
        return low, high

    def _flush(self) -> None:
        """Fold everything recorded so far: the batch in progress, then the rest."""
        while self._trigger == 0 or self._pending:
            self._fold_step()

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

    `values` are the values, or a mapping of each value to how many times it occurs. A batch
    of latencies in whole µs repeats many values (and the connect and TLS phases of keep-alive
    requests are all 0), so the values are tallied first (`Counter`, in C) and each distinct
    one is placed once.
    """
    tally = values if isinstance(values, Mapping) else Counter(values)
    return place_tally(hist, tally.items())


def place_tally(hist: Any, tally: Iterable[tuple[int, int]]) -> int:
    """Record (value, times) pairs into an HdrHistogram; returns how many were clamped to its
    top. Computes the same counts index as `HdrHistogram.record_value` (checked by a unit
    test) without its per-call overhead."""
    counts = hist.counts
    mask = hist.sub_bucket_mask
    unit = hist.unit_magnitude
    half_magnitude = hist.sub_bucket_half_count_magnitude
    half = hist.sub_bucket_half_count
    shift = unit + half_magnitude + 1
    highest = hist.highest_trackable_value
    clamped = 0
    recorded = 0
    low = min(hist.min_value, highest)
    high = hist.max_value
    for value, times in tally:
        if value > highest:
            value = highest
            clamped += times
        bucket = (value | mask).bit_length() - shift
        counts[((bucket + 1) << half_magnitude) + (value >> (bucket + unit)) - half] += times
        recorded += times
        if value > high:
            high = value
        if value < low:
            low = value
    if not recorded:
        return 0
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
