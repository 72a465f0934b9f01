"""`--summary-json FILE`: dmsload's own summary, the input of `dmsload report` and `compare`.

Unlike k6's export it keeps everything needed to recompute any figure later: every series of
every metric with its exact state (trends as encoded HDR histograms), so summaries can be
merged and re-aggregated losslessly; plus the per-second time series, the run manifest, the
thresholds with their results, the checks and the outputs' accounts. The shape is documented
in docs/summary-json.md; `schema` names its version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from dmsload.jsonfiles import JsonFileError, read_json, write_json_atomically
from dmsload.metrics.checks import check_totals
from dmsload.metrics.export import metric_values
from dmsload.metrics.kinds import MetricKind, ValueType, make_tags
from dmsload.metrics.numbers import k6_numbers
from dmsload.metrics.registry import Registry
from dmsload.metrics.sinks import (
    CounterSink,
    GaugeSink,
    RateSink,
    Sink,
    TrendSink,
    new_histogram,
)
from dmsload.metrics.thresholds import ThresholdResult

SCHEMA = "dmsload-summary/1"


class SummaryFileError(ValueError):
    """A file that is not a readable dmsload summary JSON."""


def _series_state(sink: Sink) -> dict[str, Any]:
    if isinstance(sink, TrendSink):
        state: dict[str, Any] = {
            "count": sink.samples,
            "sum": sink.sum,
            "min": sink.min,
            "max": sink.max,
        }
        if sink.clamped:
            state["clamped"] = sink.clamped
        state["hdr"] = sink.histogram().encode().decode() if sink.samples else None
        return state
    if isinstance(sink, CounterSink):
        return {"count": sink.samples, "total": sink.total}
    if isinstance(sink, RateSink):
        return {"count": sink.samples, "trues": sink.trues}
    return {
        "count": sink.samples,
        "value": sink.value,
        "min": sink.min if sink.samples else None,
        "max": sink.max if sink.samples else None,
    }


def metrics_document(
    registry: Registry, elapsed_s: float, trend_stats: Sequence[str]
) -> dict[str, Any]:
    """Every metric: its kind, its whole-metric values (k6's names, ms) and each series' state."""
    document: dict[str, Any] = {}
    for metric in registry.metrics():
        if not metric.series:
            continue
        view = registry.view(metric.name)
        assert view is not None
        document[metric.name] = {
            "type": metric.kind.value,
            "contains": metric.contains.value,
            "values": metric_values(view, elapsed_s, trend_stats),
            "series": [
                {"tags": dict(tags), **_series_state(sink)} for tags, sink in metric.series.items()
            ],
        }
    return document


def thresholds_document(results: Sequence[ThresholdResult]) -> list[dict[str, Any]]:
    """Each threshold with its verdict: `ok` true, false, or null for no data."""
    return [
        {
            "metric": result.selector,
            "expression": result.threshold.source,
            "ok": result.ok,
            "observed": result.observed,
            "abort_on_fail": result.threshold.abort_on_fail,
        }
        for result in results
    ]


def checks_document(registry: Registry) -> list[dict[str, Any]]:
    """Each named check with its passes and fails, in name order."""
    return [
        {"name": name, "passes": passes, "fails": fails}
        for name, (passes, fails) in check_totals(registry).items()
    ]


def write_summary_json(path: Path, document: Mapping[str, Any]) -> None:
    """Write the summary atomically, whole numbers as integers (as k6 writes them)."""
    write_json_atomically(path, k6_numbers(dict(document)))


# ---- reading ---------------------------------------------------------------------------


def _sink_from(kind: MetricKind, state: Mapping[str, Any]) -> Sink:
    sink: Sink
    if kind is MetricKind.TREND:
        sink = TrendSink()
        sink.samples = int(state["count"])
        sink.sum = int(state["sum"])
        sink.min = int(state["min"])
        sink.max = int(state["max"])
        sink.clamped = int(state.get("clamped", 0))
        encoded = state.get("hdr")
        histogram = new_histogram()
        if encoded:
            histogram.add(HdrHistogram.decode(encoded))
        sink._hist = histogram
        return sink
    if kind is MetricKind.COUNTER:
        sink = CounterSink()
        sink.samples = int(state["count"])
        sink.total = float(state["total"])
        return sink
    if kind is MetricKind.RATE:
        sink = RateSink()
        sink.samples = int(state["count"])
        sink.trues = int(state["trues"])
        return sink
    sink = GaugeSink()
    sink.samples = int(state["count"])
    sink.value = float(state["value"])
    if sink.samples:
        sink.min = float(state["min"])
        sink.max = float(state["max"])
    return sink


def registry_from(metrics: Mapping[str, Any]) -> Registry:
    """Rebuild the registry a summary's `metrics` describe (exactly, series by series)."""
    registry = Registry()
    for name, entry in metrics.items():
        kind = MetricKind(entry["type"])
        metric = registry.define(name, kind, ValueType(entry.get("contains", "default")))
        for series in entry["series"]:
            tags = make_tags(series.get("tags", {}))
            metric.series[tags] = _sink_from(kind, series)
    return registry


@dataclass
class LoadedSummary:
    """A summary JSON read back: its document and its metrics as a registry."""

    path: Path
    document: dict[str, Any]
    registry: Registry
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def elapsed_s(self) -> float:
        """How long the run lasted."""
        return float(self.document["state"]["elapsed_s"])

    @property
    def name(self) -> str:
        """The profile's name."""
        return str(self.document["manifest"]["profile"].get("name") or self.path.stem)

    @property
    def timeseries(self) -> dict[str, Any] | None:
        """The per-second series, if the run kept them."""
        series = self.document.get("timeseries")
        return series if isinstance(series, dict) else None


def json_kind(value: Any) -> str:
    """What a JSON value is, in JSON's words: object, array, string, number, boolean, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "a string" if isinstance(value, str) else "a value"


def load_summary(path: Path) -> LoadedSummary:
    """Read a summary JSON; SummaryFileError (naming the file) when it is not one."""
    try:
        document = read_json(path)
    except JsonFileError as exc:
        raise SummaryFileError(str(exc)) from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        got = repr(document.get("schema")) if isinstance(document, dict) else json_kind(document)
        hint = ""
        if isinstance(document, dict) and "root_group" in document:
            hint = " (this is a k6 --summary-export file; write --summary-json for dmsload)"
        raise SummaryFileError(f"{path}: schema: expected {SCHEMA!r} (got {got}){hint}")
    if not isinstance(document.get("metrics"), dict):
        got = json_kind(document.get("metrics"))
        raise SummaryFileError(f"{path}: metrics: malformed: expected an object (got {got})")
    try:
        registry = registry_from(document["metrics"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SummaryFileError(f"{path}: metrics: malformed series ({exc})") from None
    return LoadedSummary(path=path, document=document, registry=registry)
