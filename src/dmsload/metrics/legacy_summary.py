"""`--summary-mode legacy`: k6's v0.x text summary, the one text scrapers (k6-to-junit) read.

Laid out as k6's legacy `summary.js` prints it: the `execution`/`script`/`output` banner lines,
the checks (`✓ name`, or `✗ name` and `↳  0% — ✓ 0 / ✗ 34`), then every metric by name on a
dotted line, with `✓`/`✗` before a metric or sub-metric that has thresholds (✗ when one of them
failed; no data counts as passed, as in k6, and shows zeros) and `{ expected_response:true }`
under `http_req_duration`. Checked against k6's own output (tests/data/k6/legacy-summary.txt).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text

from dmsload.metrics.checks import check_totals
from dmsload.metrics.formatting import fixed_no_trailing_zeros as _fixed
from dmsload.metrics.formatting import format_bytes, format_ms
from dmsload.metrics.kinds import MetricKind, TagSet, ValueType
from dmsload.metrics.registry import Metric, MetricView, Registry
from dmsload.metrics.summary import EXPECTED_SUBMETRIC, SummaryContext, no_data_notes
from dmsload.metrics.thresholds import ThresholdResult, parse_metric_selector

_OK, _BAD, _NOTE = "green", "red", "yellow"


def legacy_duration(ms: float) -> str:
    """A duration as k6's legacy summary prints it: 580.42µs, 8.4ms, 1.2s, 1m3.5s."""
    return format_ms(ms, trim_zeros=True)


def _value(value: float, contains: ValueType) -> str:
    if contains is ValueType.TIME:
        return legacy_duration(value)
    if contains is ValueType.DATA:
        return format_bytes(value)
    return _fixed(value, 6)


def _percent(share: float) -> str:
    """k6 truncates rates to two decimals: 68/102 is 66.66%."""
    return f"{math.trunc(share * 10000) / 100:.2f}%"


@dataclass
class _Row:
    """One dotted line: its mark, its name column and its value cells."""

    label: str
    sub: bool
    mark: bool | None
    """True ✓, False ✗, None no thresholds."""
    trend: bool
    cells: list[str]


def _empty_cells(metric: Metric, ctx: SummaryContext) -> tuple[bool, list[str]]:
    """The cells of a thresholded (sub-)metric that saw no sample: zeros, as k6 shows it."""
    zero = _value(0.0, metric.contains)
    if metric.kind is MetricKind.TREND:
        return True, [f"{stat}={'0' if stat == 'count' else zero}" for stat in ctx.trend_stats]
    if metric.kind is MetricKind.COUNTER:
        return False, [zero, f"{zero}/s"]
    if metric.kind is MetricKind.RATE:
        return False, ["0.00%", "0 out of 0"]
    return False, [zero, f"min={zero}", f"max={zero}"]


def _cells(view: MetricView | None, metric: Metric, ctx: SummaryContext) -> tuple[bool, list[str]]:
    if view is None or view.count == 0:
        return _empty_cells(metric, ctx)
    kind, contains = metric.kind, metric.contains
    if kind is MetricKind.TREND:
        cells = []
        for stat in ctx.trend_stats:
            value = view.value(stat, ctx.elapsed_s) or 0.0
            shown = _fixed(value, 6) if stat == "count" else _value(value, contains)
            cells.append(f"{stat}={shown}")
        return True, cells
    if kind is MetricKind.COUNTER:
        total = view.counter_total()
        rate = total / ctx.elapsed_s if ctx.elapsed_s > 0 else 0.0
        per_second = format_bytes(rate) if contains is ValueType.DATA else _fixed(rate, 6)
        return False, [_value(total, contains), f"{per_second}/s"]
    if kind is MetricKind.RATE:
        trues, samples = view.rate_parts()
        share = trues / samples if samples else 0.0
        return False, [_percent(share), f"{trues} out of {samples}"]
    gauge = view.gauge()
    return False, [
        _value(gauge.value, contains),
        f"min={_value(gauge.min, contains)}",
        f"max={_value(gauge.max, contains)}",
    ]


def _verdicts(results: Sequence[ThresholdResult]) -> dict[tuple[str, TagSet], bool]:
    """Per (metric, tags): True when every threshold passed (or had no data)."""
    verdicts: dict[tuple[str, TagSet], bool] = {}
    for result in results:
        key = parse_metric_selector(result.selector)
        verdicts[key] = verdicts.get(key, True) and not result.failed
    return verdicts


def _submetrics(metric: Metric, verdicts: dict[tuple[str, TagSet], bool]) -> list[TagSet]:
    wanted = {tags for name, tags in verdicts if name == metric.name and tags}
    if metric.name == "http_req_duration":
        wanted.add(EXPECTED_SUBMETRIC)
    return sorted(wanted)


def _rows(
    registry: Registry, results: Sequence[ThresholdResult], ctx: SummaryContext
) -> list[_Row]:
    verdicts = _verdicts(results)
    rows: list[_Row] = []
    for metric in registry.metrics():
        view = registry.view(metric.name)
        empty = view is None or view.count == 0
        if empty and (metric.name, ()) not in verdicts:
            continue
        trend, cells = _cells(view, metric, ctx)
        rows.append(_Row(metric.name, False, verdicts.get((metric.name, ())), trend, cells))
        for tags in _submetrics(metric, verdicts):
            sub = registry.view(metric.name, tags)
            if (sub is None or sub.count == 0) and (metric.name, tags) not in verdicts:
                continue  # the expected_response sub-metric, when no response was expected
            label = "{ " + ", ".join(f"{key}:{value}" for key, value in tags) + " }"
            trend, cells = _cells(sub, metric, ctx)
            rows.append(_Row(label, True, verdicts.get((metric.name, tags)), trend, cells))
    return rows


def _pad_columns(rows: list[_Row], trend: bool) -> None:
    selected = [row for row in rows if row.trend is trend]
    widths: list[int] = []
    for row in selected:
        for i, cell in enumerate(row.cells):
            if i == len(widths):
                widths.append(0)
            widths[i] = max(widths[i], len(cell))
    for row in selected:
        row.cells = [cell.ljust(widths[i]) for i, cell in enumerate(row.cells)]


def _metric_lines(rows: list[_Row]) -> list[Text]:
    _pad_columns(rows, trend=True)
    _pad_columns(rows, trend=False)
    width = max((len(row.label) + (2 if row.sub else 0) for row in rows), default=0) + 3
    lines = []
    for row in rows:
        shown = ("  " if row.sub else "") + row.label
        line = Text("     " if row.sub else "   ")
        if row.mark is None:
            line.append("  ")
        else:
            line.append("✓ " if row.mark else "✗ ", style=_OK if row.mark else _BAD)
        line.append(f"{row.label}{'.' * (width - len(shown))}: {' '.join(row.cells)}")
        lines.append(line)
    return lines


def _check_lines(registry: Registry) -> list[Text]:
    lines = []
    for name, (passes, fails) in check_totals(registry).items():
        line = Text("     ")
        if fails == 0:
            line.append(f"✓ {name}", style=_OK)
            lines.append(line)
            continue
        line.append(f"✗ {name}", style=_BAD)
        lines.append(line)
        share = math.floor(100 * passes / (passes + fails))
        lines.append(Text(f"      ↳  {share}% — ✓ {passes} / ✗ {fails}", style=_NOTE))
    return lines


def legacy_summary_lines(
    registry: Registry,
    results: Sequence[ThresholdResult],
    ctx: SummaryContext,
    *,
    script: str,
    outputs: Sequence[str] = (),
) -> list[Text]:
    """The legacy summary as styled lines, k6's banner lines (`script: ...`) first."""
    lines = [
        Text(""),
        Text("     execution: local"),
        Text(f"        script: {script}"),
        Text(f"        output: {', '.join(outputs) or '-'}"),
        Text(""),
    ]
    checks = _check_lines(registry)
    if checks:
        lines += [*checks, Text("")]
    lines += _metric_lines(_rows(registry, results, ctx))
    lines.append(Text(""))
    notes = list(ctx.notes) + no_data_notes(results)
    if notes:
        lines += [Text(f"     ! {note}", style=_NOTE) for note in notes]
        lines.append(Text(""))
    state = "interrupted after" if ctx.interrupted else "ran for"
    lines.append(Text(f"     {state} {ctx.elapsed_s:.1f}s; scenarios: {', '.join(ctx.scenarios)}"))
    return lines
