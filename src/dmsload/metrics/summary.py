"""The end-of-test summary, laid out as k6 v1+ prints it (compact and full modes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.console import Console
from rich.text import Text

from dmsload.metrics.checks import check_totals
from dmsload.metrics.formatting import (
    format_aggregation,
    format_bytes,
    format_number,
    format_percent,
    format_value,
)
from dmsload.metrics.kinds import MetricKind, TagSet, ValueType, make_tags
from dmsload.metrics.registry import Metric, MetricView, Registry
from dmsload.metrics.thresholds import ThresholdResult, parse_metric_selector

GROUPS = ("CUSTOM", "HTTP", "EXECUTION", "NETWORK")
_EXECUTION = (
    "dropped_iterations",
    "iteration_duration",
    "iteration_start_lateness",
    "iterations",
    "vus",
    "vus_max",
)
_FULL_ONLY = ("iteration_start_lateness",)
_NETWORK = ("data_received", "data_sent")
_COMPACT_HTTP = ("http_req_duration", "http_req_failed", "http_reqs", "http_req_latency_intended")
EXPECTED_SUBMETRIC: TagSet = (("expected_response", "true"),)
_INDENT = "    "
_OK, _BAD, _NODATA = "green", "red", "yellow"


@dataclass
class SummaryContext:
    """What the summary needs besides the metrics."""

    elapsed_s: float
    trend_stats: Sequence[str]
    scenarios: Sequence[str]
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)
    mode: str = "compact"
    """`compact` (k6's default) or `full`: every metric, and a section per scenario."""


def group_of(name: str) -> str:
    """The summary group a metric belongs to."""
    if name.startswith("http_"):
        return "HTTP"
    if name in _EXECUTION:
        return "EXECUTION"
    if name in _NETWORK:
        return "NETWORK"
    return "CUSTOM"


def metric_line(view: MetricView, elapsed_s: float, trend_stats: Sequence[str]) -> str:
    """A metric's values as k6 prints them after the dotted name."""
    metric = view.metric
    kind, contains = metric.kind, metric.contains
    if kind is MetricKind.TREND:
        parts = []
        for stat in trend_stats:
            value = view.value(stat, elapsed_s)
            assert value is not None
            shown = format_number(value) if stat == "count" else format_value(value, contains)
            parts.append(f"{stat}={shown}")
        return " ".join(parts)
    if kind is MetricKind.COUNTER:
        total = view.counter_total()
        rate = total / elapsed_s if elapsed_s > 0 else 0.0
        if contains is ValueType.DATA:
            return f"{format_bytes(total):<8} {format_bytes(rate)}/s"
        return f"{format_value(total, contains):<8} {rate:.6g}/s"
    if kind is MetricKind.RATE:
        trues, samples = view.rate_parts()
        share = trues / samples if samples else 0.0
        return f"{format_percent(share):<8} {trues} out of {samples}"
    gauge = view.gauge()
    return (
        f"{format_value(gauge.value, contains):<8} min={format_value(gauge.min, contains):<8} "
        f"max={format_value(gauge.max, contains)}"
    )


class _Lines:
    """Collects styled lines; dotted names are padded to one column."""

    def __init__(self) -> None:
        self.lines: list[Text] = []

    def blank(self) -> None:
        if self.lines and self.lines[-1].plain:
            self.lines.append(Text(""))

    def add(self, text: str | Text, style: str = "") -> None:
        self.lines.append(text if isinstance(text, Text) else Text(text, style=style))

    def dotted(self, rows: list[tuple[str, str]]) -> None:
        if not rows:
            return
        width = max(len(name) for name, _ in rows) + 3
        for name, value in rows:
            self.lines.append(Text(f"{_INDENT}{name}{'.' * (width - len(name))}: {value}"))


def _submetric_label(tags: TagSet) -> str:
    return "  { " + ", ".join(f"{key}:{value}" for key, value in tags) + " }"


def _submetrics_by_metric(results: Sequence[ThresholdResult]) -> dict[str, list[TagSet]]:
    wanted: dict[str, list[TagSet]] = {"http_req_duration": [EXPECTED_SUBMETRIC]}
    for result in results:
        name, tags = parse_metric_selector(result.selector)
        if tags and tags not in wanted.setdefault(name, []):
            wanted[name].append(tags)
    return wanted


def _threshold_lines(out: _Lines, registry: Registry, results: Sequence[ThresholdResult]) -> None:
    out.add("  █ THRESHOLDS", "bold")
    out.blank()
    selectors: dict[str, list[ThresholdResult]] = {}
    for result in results:
        selectors.setdefault(result.selector, []).append(result)
    for selector, items in selectors.items():
        out.add(f"{_INDENT}{selector}")
        name, _ = parse_metric_selector(selector)
        metric = registry.get(name)
        for result in items:
            threshold = result.threshold
            line = Text(_INDENT)
            if result.ok is None or result.observed is None or metric is None:
                line.append("? ", style=_NODATA)
                line.append(f"'{threshold.source}' no data", style=_NODATA)
            else:
                mark, style = ("✓", _OK) if result.ok else ("✗", _BAD)
                shown = format_aggregation(
                    metric.kind, metric.contains, threshold.aggregation, result.observed
                )
                line.append(f"{mark} ", style=style)
                line.append(f"'{threshold.source}' {threshold.aggregation}={shown}")
            out.add(line)
        out.blank()


def _check_lines(out: _Lines, registry: Registry, elapsed_s: float) -> None:
    by_name = check_totals(registry)
    passes = sum(c[0] for c in by_name.values())
    fails = sum(c[1] for c in by_name.values())
    total = passes + fails
    if total == 0:
        return
    rate = total / elapsed_s if elapsed_s > 0 else 0.0
    out.dotted(
        [
            ("checks_total", f"{total:<8} {rate:.6g}/s"),
            ("checks_succeeded", f"{format_percent(passes / total):<8} {passes} out of {total}"),
            ("checks_failed", f"{format_percent(fails / total):<8} {fails} out of {total}"),
        ]
    )
    out.blank()
    for name, (ok, bad) in by_name.items():
        line = Text(_INDENT)
        if bad == 0:
            line.append("✓ ", style=_OK)
            line.append(name)
            out.add(line)
        else:
            line.append("✗ ", style=_BAD)
            line.append(name)
            out.add(line)
            share = ok / (ok + bad)
            out.add(f"{_INDENT}  ↳  {share * 100:.0f}% — ✓ {ok} / ✗ {bad}")
    out.blank()


def _metric_rows(
    registry: Registry,
    metrics: list[Metric],
    submetrics: dict[str, list[TagSet]],
    ctx: SummaryContext,
    base_filter: TagSet = (),
) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for metric in metrics:
        view = registry.view(metric.name, base_filter)
        if view is None or view.count == 0:
            continue
        rows.append((metric.name, metric_line(view, ctx.elapsed_s, ctx.trend_stats)))
        for tags in submetrics.get(metric.name, []):
            sub = registry.view(metric.name, make_tags({**dict(base_filter), **dict(tags)}))
            if sub is not None and sub.count:
                line = metric_line(sub, ctx.elapsed_s, ctx.trend_stats)
                rows.append((_submetric_label(tags), line))
    return rows


def _selected(registry: Registry, full: bool) -> dict[str, list[Metric]]:
    grouped: dict[str, list[Metric]] = {group: [] for group in GROUPS}
    for metric in registry.metrics():
        if metric.name == "checks":
            continue
        group = group_of(metric.name)
        if group == "HTTP" and not full and metric.name not in _COMPACT_HTTP:
            continue
        if not full and metric.name in _FULL_ONLY:
            continue
        grouped[group].append(metric)
    return grouped


def no_data_notes(results: Sequence[ThresholdResult]) -> list[str]:
    """A note for each threshold whose metric saw no sample."""
    return [
        f"threshold {result.selector} '{result.threshold.source}' saw no samples: "
        "reported as no data, not as passed"
        for result in results
        if result.ok is None
    ]


def summary_lines(
    registry: Registry, results: Sequence[ThresholdResult], ctx: SummaryContext
) -> list[Text]:
    """The summary as styled lines."""
    out = _Lines()
    full = ctx.mode == "full"
    out.add("")
    if results:
        _threshold_lines(out, registry, results)
    out.add("  █ TOTAL RESULTS", "bold")
    out.blank()
    _check_lines(out, registry, ctx.elapsed_s)
    submetrics = _submetrics_by_metric(results)
    grouped = _selected(registry, full)
    for group in GROUPS:
        rows = _metric_rows(registry, grouped[group], submetrics, ctx)
        if rows:
            out.add(f"{_INDENT}{group}")
            out.dotted(rows)
            out.blank()
    if full:
        for scenario in ctx.scenarios:
            scenario_filter = make_tags({"scenario": scenario})
            rows = []
            for group in GROUPS:
                rows += _metric_rows(registry, grouped[group], {}, ctx, scenario_filter)
            if rows:
                out.add(f"  █ SCENARIO: {scenario}", "bold")
                out.blank()
                out.dotted(rows)
                out.blank()
    notes = list(ctx.notes) + no_data_notes(results)
    latency = registry.view("http_req_latency_intended")
    if latency is not None and latency.count:
        notes.append(
            "http_req_latency_intended is measured from each arrival-rate iteration's scheduled "
            "start (corrects coordinated omission); http_req_duration is the service time"
        )
    if notes:
        out.add("  █ NOTES", "bold")
        out.blank()
        for note in notes:
            out.add(f"{_INDENT}! {note}", _NODATA)
        out.blank()
    state = "interrupted after" if ctx.interrupted else "ran for"
    names = ", ".join(ctx.scenarios)
    out.add(f"  {state} {ctx.elapsed_s:.1f}s; scenarios: {names}")
    return out.lines


def render_summary(
    registry: Registry,
    results: Sequence[ThresholdResult],
    ctx: SummaryContext,
    console: Console,
) -> None:
    """Print the summary."""
    for line in summary_lines(registry, results, ctx):
        console.print(line)
