"""The registry: every metric, its series (one sink per tag set) and sub-metric views."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from dmsload.metrics.hdr_percentile import value_at_percentile
from dmsload.metrics.kinds import (
    METRIC_NAME,
    MetricError,
    MetricKind,
    TagSet,
    ValueType,
    make_tags,
    tags_match,
)
from dmsload.metrics.sinks import (
    TREND_SCALE,
    CounterSink,
    GaugeSink,
    RateSink,
    Sink,
    TrendSink,
    new_histogram,
    new_sink,
)

MAX_SERIES_PER_METRIC = 10_000
"""Beyond this many tag sets, a metric's new tag sets share one overflow series."""
OVERFLOW_TAGS: TagSet = (("dmsload_overflow", "true"),)


class Metric:
    """A named metric of one kind; its samples live in one sink per tag set."""

    __slots__ = ("contains", "kind", "name", "overflowed", "series")

    def __init__(self, name: str, kind: MetricKind, contains: ValueType) -> None:
        self.name = name
        self.kind = kind
        self.contains = contains
        self.series: dict[TagSet, Sink] = {}
        self.overflowed = 0

    def sink(self, tags: TagSet) -> Sink:
        """The sink of one tag set, created on first use."""
        sink = self.series.get(tags)
        if sink is None:
            if len(self.series) >= MAX_SERIES_PER_METRIC:
                self.overflowed += 1
                tags = OVERFLOW_TAGS
                sink = self.series.get(tags)
                if sink is not None:
                    return sink
            sink = self.series[tags] = new_sink(self.kind)
        return sink

    def __repr__(self) -> str:
        return f"Metric({self.name!r}, {self.kind.value}, {self.contains.value})"


class MetricView:
    """A metric, or a sub-metric (the series whose tags match a filter), aggregated."""

    def __init__(self, metric: Metric, sinks: list[Sink]) -> None:
        self.metric = metric
        self._sinks = sinks
        self._trend: TrendSink | None = None

    @property
    def kind(self) -> MetricKind:
        """The metric's kind."""
        return self.metric.kind

    @property
    def count(self) -> int:
        """How many samples the view holds."""
        return sum(sink.samples for sink in self._sinks)

    def trend(self) -> TrendSink:
        """The view's trend series merged into one sink (trend metrics only)."""
        if self._trend is None:
            merged = TrendSink()
            for sink in self._sinks:
                assert isinstance(sink, TrendSink)
                merged.merge(sink)
            self._trend = merged
        return self._trend

    def histogram(self) -> Any:
        """The merged HDR histogram (µs for time trends)."""
        return self.trend().histogram() if self._sinks else new_histogram()

    def counter_total(self) -> float:
        """The sum of a counter's samples."""
        return sum(sink.total for sink in self._sinks if isinstance(sink, CounterSink))

    def rate_parts(self) -> tuple[int, int]:
        """(trues, samples) of a rate."""
        trues = samples = 0
        for sink in self._sinks:
            if isinstance(sink, RateSink):
                trues += sink.trues
                samples += sink.samples
        return trues, samples

    def gauge(self) -> GaugeSink:
        """The gauge series merged: the most recent value, the overall min and max."""
        merged = GaugeSink()
        for sink in self._sinks:
            if isinstance(sink, GaugeSink):
                merged.merge(sink)
        return merged

    def percentile(self, pct: float) -> float:
        """The trend's pct-th percentile in display units, kept within [min, max]."""
        trend = self.trend()
        if trend.samples == 0:
            return 0.0
        if pct <= 0:
            return trend.min / TREND_SCALE
        if pct >= 100:
            return trend.max / TREND_SCALE
        raw = value_at_percentile(trend.histogram(), pct)
        return min(max(raw, trend.min), trend.max) / TREND_SCALE

    def value(self, aggregation: str, elapsed_s: float) -> float | None:
        """One aggregation (`avg`, `p(95)`, `count`, `rate`, `value`, `min`, ...); None if empty.

        Time trends are in milliseconds, a counter's `rate` is per second of `elapsed_s`.
        """
        if self.count == 0:
            return None
        kind = self.metric.kind
        if kind is MetricKind.TREND:
            trend = self.trend()
            if aggregation == "count":
                return float(trend.samples)
            if aggregation == "avg":
                return trend.sum / trend.samples / TREND_SCALE
            if aggregation == "min":
                return trend.min / TREND_SCALE
            if aggregation == "max":
                return trend.max / TREND_SCALE
            if aggregation == "med":
                return self.percentile(50.0)
            if aggregation.startswith("p(") and aggregation.endswith(")"):
                return self.percentile(float(aggregation[2:-1]))
        elif kind is MetricKind.COUNTER:
            total = self.counter_total()
            if aggregation == "count":
                return total
            if aggregation == "rate":
                return total / elapsed_s if elapsed_s > 0 else 0.0
        elif kind is MetricKind.RATE:
            trues, samples = self.rate_parts()
            if aggregation in ("rate", "value"):
                return trues / samples
        else:
            gauge = self.gauge()
            if aggregation == "value":
                return gauge.value
            if aggregation == "min":
                return gauge.min
            if aggregation == "max":
                return gauge.max
        raise MetricError(
            f"{aggregation!r} does not apply to {kind.value} metric {self.metric.name}"
        )


class SampleHook(Protocol):
    """Receives every sample as it is recorded (the outputs' tap)."""

    def put(self, metric: Metric, tags: TagSet, value: float) -> None:
        """One sample, value in display units (ms for time trends)."""


class Registry:
    """Every metric of a run."""

    def __init__(self) -> None:
        self._metrics: dict[str, Metric] = {}
        self.tap: SampleHook | None = None
        """Set by an output session: sees every sample after it is recorded."""
        self.epoch = 0
        """Bumped whenever series are moved out of the registry (a worker's `drain`): whoever
        keeps sinks to skip lookups must drop them when it changes."""

    def define(
        self, name: str, kind: MetricKind, contains: ValueType = ValueType.DEFAULT
    ) -> Metric:
        """Define a metric, or return the existing one if it has the same kind."""
        existing = self._metrics.get(name)
        if existing is not None:
            if existing.kind is not kind or existing.contains is not contains:
                raise MetricError(
                    f"metric {name!r} is already a {existing.kind.value} "
                    f"({existing.contains.value}); cannot redefine it as a "
                    f"{kind.value} ({contains.value})"
                )
            return existing
        if not METRIC_NAME.match(name):
            raise MetricError(
                f"metric name {name!r} must be letters, digits and _, not starting with a digit"
            )
        metric = self._metrics[name] = Metric(name, kind, contains)
        return metric

    def get(self, name: str) -> Metric | None:
        """A metric by name."""
        return self._metrics.get(name)

    def metrics(self) -> list[Metric]:
        """Every defined metric, by name."""
        return [self._metrics[name] for name in sorted(self._metrics)]

    def add(self, metric: Metric, value: float, tags: TagSet) -> None:
        """Add one sample (time trends take milliseconds)."""
        metric.sink(tags).add(value)
        if self.tap is not None:
            self.tap.put(metric, tags, value)

    def add_trend_us(self, metric: Metric, value_us: int, tags: TagSet) -> None:
        """Add one time-trend sample in whole microseconds (the engine's fast path)."""
        sink = metric.series.get(tags)
        if sink is None:
            sink = metric.sink(tags)
        assert isinstance(sink, TrendSink)
        sink.add_scaled(value_us)
        if self.tap is not None:
            self.tap.put(metric, tags, value_us / TREND_SCALE)

    def add_trend_ns(self, metric: Metric, value_ns: int, tags: TagSet) -> None:
        """Add one time-trend sample in nanoseconds: the histogram keeps whole µs, the tap (and
        so NDJSON and CSV) sees the exact value, as k6 writes it."""
        sink = metric.series.get(tags)
        if sink is None:
            sink = metric.sink(tags)
        assert isinstance(sink, TrendSink)
        sink.add_scaled(value_ns // 1000)
        if self.tap is not None:
            self.tap.put(metric, tags, value_ns / 1e6)

    def series(self) -> Iterator[tuple[Metric, TagSet, Sink]]:
        """Every (metric, tags, sink), metrics by name."""
        for metric in self.metrics():
            for tags, sink in metric.series.items():
                yield metric, tags, sink

    def view(
        self,
        name: str,
        tag_filter: TagSet | Mapping[str, str] | None = None,
        keep: Callable[[TagSet], bool] | None = None,
    ) -> MetricView | None:
        """The metric or sub-metric `name{tag_filter}`, over the series `keep` accepts (all by
        default); None if nothing matched yet."""
        metric = self._metrics.get(name)
        if metric is None:
            return None
        if tag_filter is None:
            tag_filter = ()
        elif isinstance(tag_filter, Mapping):
            tag_filter = make_tags(tag_filter)
        sinks = [
            sink
            for tags, sink in metric.series.items()
            if tags_match(tags, tag_filter) and (keep is None or keep(tags))
        ]
        if not sinks:
            return None
        return MetricView(metric, sinks)

    def merge(self, other: Registry) -> None:
        """Fold another registry in (another process's results), series by series."""
        for theirs in other.metrics():
            mine = self.define(theirs.name, theirs.kind, theirs.contains)
            for tags, sink in theirs.series.items():
                target = mine.sink(tags)
                _merge_sink(target, sink)


def _merge_sink(target: Sink, source: Sink) -> None:
    if type(target) is not type(source):  # pragma: no cover - define() refused a kind change
        raise MetricError("cannot merge sinks of different kinds")
    target.merge(source)  # type: ignore[arg-type]
