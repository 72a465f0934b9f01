"""Registry state in flight between processes: what a worker recorded since its last report.

A worker drains its registry (moves every series out, leaving it empty), encodes the drained
state compactly (trends as encoded HDR histograms, never as points), and the parent folds it
into its own registry with the same exact merge as `Registry.merge`.
"""

from __future__ import annotations

from typing import Any

from hdrh.histogram import HdrHistogram

from dmsload.metrics.kinds import MetricKind, TagSet, ValueType
from dmsload.metrics.registry import Registry
from dmsload.metrics.sinks import CounterSink, GaugeSink, RateSink, Sink, TrendSink, new_histogram

Payload = list[tuple[str, str, str, list[tuple[TagSet, tuple[Any, ...]]]]]
"""[(metric name, kind, contains, [(tags, state)])]: plain data that pickles small."""


def drain(registry: Registry) -> Registry:
    """Move every series of `registry` into a new registry (which is returned); `registry`
    keeps its metrics, with no series, and goes on recording from zero."""
    drained = Registry()
    for metric in registry.metrics():
        if not metric.series:
            continue
        target = drained.define(metric.name, metric.kind, metric.contains)
        target.series = metric.series
        metric.series = {}
    registry.epoch += 1  # sinks cached by recorders now belong to `drained`
    return drained


def _state(sink: Sink) -> tuple[Any, ...]:
    if isinstance(sink, TrendSink):
        encoded = sink.histogram().encode() if sink.samples else b""
        return (sink.samples, sink.sum, sink.min, sink.max, sink.clamped, encoded)
    if isinstance(sink, CounterSink):
        return (sink.samples, sink.total)
    if isinstance(sink, RateSink):
        return (sink.samples, sink.trues)
    return (sink.samples, sink.value, sink.min, sink.max, sink.set_at_ns)


def _sink(kind: MetricKind, state: tuple[Any, ...]) -> Sink:
    if kind is MetricKind.TREND:
        trend = TrendSink()
        trend.samples, trend.sum, trend.min, trend.max, trend.clamped, encoded = state
        histogram = new_histogram()
        if encoded:
            histogram.add(HdrHistogram.decode(encoded))
        trend._hist = histogram
        return trend
    if kind is MetricKind.COUNTER:
        counter = CounterSink()
        counter.samples, counter.total = state
        return counter
    if kind is MetricKind.RATE:
        rate = RateSink()
        rate.samples, rate.trues = state
        return rate
    gauge = GaugeSink()
    gauge.samples, gauge.value, gauge.min, gauge.max, gauge.set_at_ns = state
    return gauge


def encode(registry: Registry) -> Payload:
    """Every series of `registry` as plain data."""
    return [
        (
            metric.name,
            metric.kind.value,
            metric.contains.value,
            [(tags, _state(sink)) for tags, sink in metric.series.items()],
        )
        for metric in registry.metrics()
        if metric.series
    ]


def merge_payload(registry: Registry, payload: Payload, skip: frozenset[str] = frozenset()) -> None:
    """Fold an encoded state into `registry`, series by series, exactly; metrics named in
    `skip` are left out."""
    for name, kind_text, contains, series in payload:
        if name in skip:
            continue
        kind = MetricKind(kind_text)
        metric = registry.define(name, kind, ValueType(contains))
        for tags, state in series:
            metric.sink(tags).merge(_sink(kind, state))  # type: ignore[arg-type]
