"""The HTML report: one self-contained page for a run's summary JSON or a suite's results.

The page needs nothing but itself: the chart library (uPlot, vendored in `assets/` with its
license), the styles and the small script that draws the charts are inlined, the figures are
embedded as JSON in a `<script type="application/json">`, and a Content-Security-Policy forbids
every fetch, so it opens offline and from a CI artifact alike.

Every text taken from the summary goes through `html.escape`; the embedded JSON has `<`, `>`
and `&` escaped so no value can end its script element.

What a run's section shows: a header (profile, status and exit code, target, dmsload version,
when and how long), headline tiles, the recommendations, charts over time (req/s, VUs, errors
and 429/5xx, p50/p95/p99 latency, the generator's CPU), the thresholds, the requests by name
(load only: the setup requests sent before the load started are listed apart), the responses
by status, the checks and the notes.
"""

from __future__ import annotations

import functools
import http
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from dmsload import __version__
from dmsload.metrics.kinds import MetricKind, ValueType
from dmsload.metrics.thresholds import ThresholdError, parse_metric_selector, parse_threshold
from dmsload.outputs.summary_json import LoadedSummary
from dmsload.report.capacity import capacity_panel
from dmsload.report.charts import chart_specs
from dmsload.report.figures import RequestRow, request_rows
from dmsload.report.formatting import (
    CHART_LIBRARY,
    DASH,
    badge,
    cell,
    esc,
    fmt_count,
    fmt_duration,
    fmt_ms,
    fmt_pct,
    fmt_rate,
    fmt_time,
    mark,
    panel,
    status_of,
    table,
)
from dmsload.report.recommendations import (
    NO_PROBLEMS,
    is_load,
    is_setup,
    recommendations,
    status_counts,
)

# ---- assets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assets:
    """The files the page inlines."""

    chart_js: str
    chart_css: str
    chart_license: str
    report_js: str
    report_css: str


@functools.cache
def load_assets() -> Assets:
    """Read the inlined files from the package (`dmsload/report/assets/`)."""
    folder = resources.files("dmsload.report").joinpath("assets")

    def read(name: str) -> str:
        return folder.joinpath(name).read_text(encoding="utf-8")

    assets = Assets(
        chart_js=read("uPlot.iife.min.js"),
        chart_css=read("uPlot.min.css"),
        chart_license=read("uPlot.LICENSE"),
        report_js=read("report.js"),
        report_css=read("report.css"),
    )
    for name, text in (("uPlot.iife.min.js", assets.chart_js), ("report.js", assets.report_js)):
        if "</script" in text.lower() or "<!--" in text:  # pragma: no cover - a vendoring slip
            raise RuntimeError(f"assets/{name} contains '</script' or '<!--': cannot inline it")
    return assets


# ---- sections ----------------------------------------------------------------------------


@dataclass
class PageData:
    """What the page's script reads: every chart's data, keyed by its element's id."""

    charts: dict[str, Any] = field(default_factory=dict)


def _facts(items: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in items if v)
    return f'<dl class="facts">{cells}</dl>'


def _target_text(target: Any) -> tuple[str, str]:
    """(where, what) of the manifest's target."""
    if not isinstance(target, dict):
        return ("", "")
    url = str(target.get("data_api_url") or "")
    discovery = target.get("discovery") or {}
    parts = []
    if discovery.get("applicationName"):
        parts.append(str(discovery["applicationName"]))
    if discovery.get("version"):
        parts.append(f"v{discovery['version']}")
    models = discovery.get("dataModels")
    if isinstance(models, list):
        parts.extend(
            f"{m.get('name', '')} {m.get('version', '')}".strip()
            for m in models
            if isinstance(m, dict)
        )
    return (url, " · ".join(parts))


def run_facts(summary: LoadedSummary) -> list[tuple[str, str]]:
    """The header facts of a run: target, when, how long, dmsload's version, the scenarios."""
    manifest = summary.document.get("manifest") or {}
    profile = manifest.get("profile") or {}
    state = summary.document.get("state") or {}
    url, what = _target_text(manifest.get("target"))
    scale = profile.get("time_scale")
    return [
        ("Target", url or "not recorded"),
        ("Target service", what),
        ("Started", fmt_time(manifest.get("started_at"))),
        ("Ran for", fmt_duration(state.get("elapsed_s"))),
        ("dmsload version", str(manifest.get("dmsload_version") or "")),
        ("Time scale", f"×{scale:g}" if isinstance(scale, int | float) and scale != 1 else ""),
        ("Scenarios", ", ".join(str(s) for s in state.get("scenarios") or [])),
    ]


def run_details(summary: LoadedSummary) -> list[tuple[str, str]]:
    """The rest of the manifest: profile file, run id, generator host, command line."""
    manifest = summary.document.get("manifest") or {}
    profile = manifest.get("profile") or {}
    host = manifest.get("host") or {}
    argv = manifest.get("argv")
    host_text = str(host.get("hostname") or "")
    if host.get("cpus"):
        host_text += f" ({host['cpus']} CPUs, Python {host.get('python', '?')})"
    digest = str(profile.get("sha256") or "")
    return [
        ("Profile file", str(profile.get("path") or "")),
        ("Profile SHA-256", digest[:16] + "…" if digest else ""),
        ("Run id", str(manifest.get("run_id") or "")),
        ("Ended", fmt_time(manifest.get("ended_at"))),
        ("Generator host", host_text),
        ("Platform", str(host.get("platform") or "")),
        ("Command", "dmsload " + " ".join(str(a) for a in argv) if isinstance(argv, list) else ""),
    ]


def _tiles(summary: LoadedSummary) -> str:
    registry, elapsed = summary.registry, summary.elapsed_s
    tiles: list[tuple[str, str, str, str]] = []
    reqs = registry.view("http_reqs")
    total = reqs.counter_total() if reqs is not None else 0.0
    tiles.append(
        ("Requests", fmt_count(total), f"{fmt_rate(total / elapsed if elapsed > 0 else 0)} /s", "")
    )
    failed = registry.view("http_req_failed")
    trues, samples = failed.rate_parts() if failed is not None else (0, 0)
    share = trues / samples if samples else None
    tiles.append(
        (
            "Failed",
            fmt_pct(share),
            f"{trues:,} of {samples:,}",
            "bad" if share and share > 0.01 else "",
        )
    )
    duration = registry.view("http_req_duration")
    if duration is not None and duration.count:
        tiles.append(
            (
                "p(95) latency",
                f"{fmt_ms(duration.percentile(95))} ms",
                f"p(99) {fmt_ms(duration.percentile(99))} ms",
                "",
            )
        )
    lateness = registry.view("iteration_start_lateness")
    if lateness is not None and lateness.count:
        tiles.append(
            (
                "Start lateness p(50)",
                f"{fmt_ms(lateness.percentile(50))} ms",
                f"p(99) {fmt_ms(lateness.percentile(99))} ms",
                "",
            )
        )
    dropped = registry.view("dropped_iterations")
    dropped_total = dropped.counter_total() if dropped is not None else 0.0
    tiles.append(
        ("Dropped iterations", fmt_count(dropped_total), "", "bad" if dropped_total else "")
    )
    checks = registry.view("checks")
    if checks is not None:
        passes, runs = checks.rate_parts()
        rate = passes / runs if runs else None
        tiles.append(
            (
                "Checks",
                fmt_pct(rate),
                f"{runs - passes:,} failed",
                "bad" if runs - passes else "good",
            )
        )
    thresholds = summary.document.get("thresholds") or []
    if thresholds:
        bad = sum(1 for t in thresholds if t.get("ok") is False)
        tiles.append(
            (
                "Thresholds",
                f"{len(thresholds) - bad}/{len(thresholds)}",
                "passed",
                "bad" if bad else "good",
            )
        )
    cells = "".join(
        f'<div class="tile {css}"><div class="label">{esc(label)}</div>'
        f'<div class="value">{esc(value)}</div><div class="sub">{esc(sub)}</div></div>'
        for label, value, sub, css in tiles
    )
    return f'<div class="tiles">{cells}</div>'


def _recommendations(summary: LoadedSummary, level: int) -> str:
    found = recommendations(summary)
    if found:
        items = "".join(f"<li>{esc(text)}</li>" for text in found)
    else:
        items = f'<li class="ok">{esc(NO_PROBLEMS)}</li>'
    return panel("Recommendations", f'<ul class="recommendations">{items}</ul>', level=level)


def _charts(summary: LoadedSummary, prefix: str, data: PageData, level: int) -> str:
    specs = chart_specs(summary.timeseries)
    if not specs:
        body = (
            '<p class="empty">This summary has no per-second time series (it was written by an '
            "older dmsload, or the run ended before its first second), so there are no charts."
            "</p>"
        )
        return panel("Over time", body, level=level)
    interval = (summary.timeseries or {}).get("interval_s", 1)
    panels = []
    for spec in specs:
        chart_id = f"{prefix}-{spec.key}"
        data.charts[chart_id] = spec.data
        panels.append(
            f'<div class="chart-panel{" wide" if spec.wide else ""}">'
            f"<h{level + 1}>{esc(spec.title)}</h{level + 1}>"
            f'<p class="caption">{esc(spec.caption)}</p>'
            f'<div class="chart" id="{esc(chart_id)}" data-chart="{esc(chart_id)}"></div></div>'
        )
    caption = (
        f"One point per {'second' if interval == 1 else f'{interval} s'} of the run (setup "
        "excluded); drag across a chart to zoom, double-click to reset; click a legend entry "
        "to hide or show its line."
    )
    return (
        f'<section class="over-time"><h{level} class="section-title">Over time</h{level}>'
        f'<p class="caption">{esc(caption)}</p>'
        f'<div class="charts">{"".join(panels)}</div></section>'
    )


def _observed_text(summary: LoadedSummary, metric: str, expression: str, observed: Any) -> str:
    if not isinstance(observed, int | float):
        return "no data"
    try:
        name, _tags = parse_metric_selector(metric)
        aggregation = parse_threshold(expression).aggregation
    except ThresholdError:
        return f"{observed:,.4g}"
    found = summary.registry.get(name)
    if found is not None and found.kind is MetricKind.RATE:
        return f"{aggregation}={fmt_pct(float(observed))}"
    if found is not None and found.kind is MetricKind.TREND and found.contains is ValueType.TIME:
        return f"{aggregation}={fmt_ms(float(observed))} ms"
    if aggregation == "count":
        return f"{aggregation}={fmt_count(float(observed))}"
    return f"{aggregation}={float(observed):,.4g}"


def _thresholds(summary: LoadedSummary, level: int) -> str:
    entries = summary.document.get("thresholds") or []
    if not entries:
        return panel(
            "Thresholds", '<p class="empty">The profile sets no thresholds.</p>', level=level
        )
    rows = []
    for entry in entries:
        metric = str(entry.get("metric", ""))
        expression = str(entry.get("expression", ""))
        ok = entry.get("ok")
        observed = _observed_text(summary, metric, expression, entry.get("observed"))
        flags = "abort on fail" if entry.get("abort_on_fail") else ""
        rows.append(
            f"<tr>{mark(ok if isinstance(ok, bool) else None)}"
            f'<td class="mono">{esc(metric)}</td><td class="mono">{esc(expression)}</td>'
            f"{cell(observed)}<td>{esc(flags)}</td></tr>"
        )
    headers = [
        ("", False),
        ("Metric", False),
        ("Threshold", False),
        ("Observed", True),
        ("", False),
    ]
    return panel("Thresholds", table(headers, rows, "thresholds"), level=level)


def _request_row_html(row: RequestRow, css: str = "") -> str:
    failed_css = (
        "num bad" if row.failed and row.failed > 0.01 else ("num warn" if row.failed else "num")
    )
    klass = f' class="{css}"' if css else ""
    return (
        f'<tr{klass}><td class="mono">{esc(row.name)}</td>{cell(fmt_count(row.count))}'
        f"{cell(fmt_rate(row.rate))}{cell(fmt_pct(row.failed), failed_css)}"
        f"{cell(fmt_ms(row.avg))}{cell(fmt_ms(row.p50))}{cell(fmt_ms(row.p95))}"
        f"{cell(fmt_ms(row.p99))}{cell(fmt_ms(row.max))}</tr>"
    )


_REQUEST_HEADERS = [
    ("Request", False),
    ("Count", True),
    ("req/s", True),
    ("Failed", True),
    ("avg ms", True),
    ("p50 ms", True),
    ("p95 ms", True),
    ("p99 ms", True),
    ("max ms", True),
]


def _requests(summary: LoadedSummary, level: int) -> str:
    rows, total = request_rows(summary, is_load)
    if not rows and total is None:
        body = '<p class="empty">No requests were recorded during the load.</p>'
    else:
        lines = [_request_row_html(row) for row in rows]
        if total is not None:
            lines.append(_request_row_html(total, "total"))
        body = table(_REQUEST_HEADERS, lines, "requests")
    setup_rows, setup_total = request_rows(summary, is_setup)
    if setup_rows:
        setup_lines = [_request_row_html(row) for row in setup_rows]
        if setup_total is not None:
            setup_lines.append(_request_row_html(setup_total, "total"))
        body += (
            f"<details><summary>Setup requests ({setup_total.count if setup_total else 0:,}), "
            "sent before the load started: not counted above</summary>"
            f"{table(_REQUEST_HEADERS, setup_lines, 'setup-requests')}</details>"
        )
    caption = (
        "http_req_duration by request name during the load (scenario 'setup' excluded); "
        "req/s over the whole run."
    )
    return panel("Requests by name", body, caption, level=level)


def _status_phrase(status: str) -> str:
    if status == "0":
        return "no response (network error or timeout)"
    try:
        return http.HTTPStatus(int(status)).phrase
    except ValueError:
        return ""


def _statuses(summary: LoadedSummary, level: int) -> str:
    counts = status_counts(summary.registry, is_load)
    total = sum(counts.values())
    if not total:
        return panel("Responses by status", '<p class="empty">No responses.</p>', level=level)
    rows = []
    for status, count in counts.items():
        css = "num bad" if status == "0" or status[:1] in ("4", "5") else "num"
        rows.append(
            f'<tr><td class="mono">{esc(status or "?")}</td><td>{esc(_status_phrase(status))}</td>'
            f"{cell(fmt_count(count))}{cell(fmt_pct(count / total), css)}</tr>"
        )
    headers = [("Status", False), ("Meaning", False), ("Count", True), ("Share", True)]
    return panel(
        "Responses by status",
        table(headers, rows, "statuses"),
        "During the load (setup excluded).",
        level=level,
    )


def _checks(summary: LoadedSummary, level: int) -> str:
    entries = summary.document.get("checks") or []
    if not entries:
        return panel("Checks", '<p class="empty">No checks ran.</p>', level=level)
    rows = []
    for entry in entries:
        passes, fails = int(entry.get("passes") or 0), int(entry.get("fails") or 0)
        runs = passes + fails
        rows.append(
            f"<tr>{mark(fails == 0)}<td>{esc(entry.get('name', ''))}</td>"
            f"{cell(fmt_count(passes))}{cell(fmt_count(fails), 'num bad' if fails else 'num')}"
            f"{cell(fmt_pct(passes / runs if runs else None))}</tr>"
        )
    headers = [("", False), ("Check", False), ("Passed", True), ("Failed", True), ("Success", True)]
    return panel("Checks", table(headers, rows, "checks"), level=level)


def _notes(summary: LoadedSummary, level: int) -> str:
    notes = [str(n) for n in summary.document.get("notes") or []]
    state = summary.document.get("state") or {}
    error = state.get("error")
    if error and not any(str(error) in n for n in notes):
        notes.insert(0, f"the run failed: {error}")
    if not notes:
        return ""
    items = "".join(f"<li>{esc(note)}</li>" for note in notes)
    return panel("Notes", f'<ul class="notes">{items}</ul>', level=level)


def profile_body(summary: LoadedSummary, prefix: str, data: PageData, level: int) -> str:
    """Everything below a run's header: tiles, recommendations, charts and tables."""
    return "".join(
        [
            _tiles(summary),
            _recommendations(summary, level),
            capacity_panel(summary.document, prefix, data.charts, level),
            _charts(summary, prefix, data, level),
            _thresholds(summary, level),
            _requests(summary, level),
            f'<div class="two-col">{_statuses(summary, level)}{_checks(summary, level)}</div>',
            _notes(summary, level),
            panel("Run details", _facts(run_details(summary)), level=level),
        ]
    )


# ---- pages -------------------------------------------------------------------------------


def _json_for_script(data: Any) -> str:
    text = orjson.dumps(data).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _comment(text: str) -> str:
    """Text safe inside an HTML comment."""
    while "--" in text:
        text = text.replace("--", "- -")
    return text


def page(title: str, header: str, body: str, data: PageData) -> str:
    """The whole document: header, body, and the inlined styles, data and scripts."""
    assets = load_assets()
    csp = (  # a constant with no double quote: safe in the attribute as it is
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src data:; font-src 'none'; connect-src 'none'"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="dmsload {esc(__version__)}">\n'
        f"<title>{esc(title)}</title>\n"
        f"<!--\nCharts: {CHART_LIBRARY} (https://github.com/leeoniya/uPlot), embedded below "
        f"under its license:\n\n{_comment(assets.chart_license.strip())}\n-->\n"
        f"<style>{assets.chart_css}</style>\n<style>{assets.report_css}</style>\n"
        f"</head>\n<body>\n{header}\n<main>\n{body}\n"
        f"<footer>Written by dmsload {esc(__version__)} · charts by {esc(CHART_LIBRARY)} (MIT)"
        "</footer>\n</main>\n"
        '<script type="application/json" id="dmsload-report-data">'
        f"{_json_for_script({'charts': data.charts})}</script>\n"
        f"<script>{assets.chart_js}</script>\n<script>{assets.report_js}</script>\n"
        "</body>\n</html>\n"
    )


def _page_header(kicker: str, title: str, badge: str, description: str, facts: str) -> str:
    desc = f'<p class="description">{esc(description)}</p>' if description else ""
    return (
        f'<header class="page-header"><div class="inner"><div class="brand">{esc(kicker)}</div>'
        f"<h1>{esc(title)} {badge}</h1>{desc}{facts}</div></header>"
    )


def _description(summary: LoadedSummary) -> str:
    profile = (summary.document.get("manifest") or {}).get("profile") or {}
    return str(profile.get("description") or "")


def render_summary_html(summary: LoadedSummary) -> str:
    """The report of one run."""
    data = PageData()
    state = summary.document.get("state") or {}
    header = _page_header(
        "dmsload report",
        summary.name,
        badge(state.get("exit_code")),
        _description(summary),
        _facts(run_facts(summary)),
    )
    body = profile_body(summary, "run", data, level=2)
    return page(f"dmsload report: {summary.name}", header, body, data)


@dataclass(frozen=True)
class SuiteProfile:
    """One profile of a suite results directory: its `suite.json` entry and its summary."""

    entry: dict[str, Any]
    summary: LoadedSummary | None
    problem: str | None = None
    """Why there is no summary, when there is none."""

    @property
    def name(self) -> str:
        """The profile's name in the suite."""
        return str(self.entry.get("name") or (self.summary.name if self.summary else "?"))


@dataclass(frozen=True)
class SuiteResults:
    """A `dmsload suite --results-dir` directory read back."""

    directory: Path
    document: dict[str, Any]
    profiles: list[SuiteProfile]


def _number(entry: Mapping[str, Any], key: str) -> float | None:
    value = entry.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _overview(suite: SuiteResults) -> str:
    rows = []
    for index, item in enumerate(suite.profiles):
        entry = item.entry
        elapsed, requests = _number(entry, "elapsed_s"), _number(entry, "http_reqs")
        rate = requests / elapsed if requests is not None and elapsed else None
        failed = _number(entry, "http_req_failed_rate")
        total, bad = _number(entry, "thresholds_total"), _number(entry, "thresholds_failed")
        thresholds = DASH
        if total is not None and bad is not None:
            thresholds = f"{total - bad:.0f}/{total:.0f} passed"
        text, css = status_of(entry.get("exit_code"))
        rows.append(
            f'<tr><td><a href="#profile-{index}">{esc(item.name)}</a></td>'
            f'<td><span class="badge {css}">{esc(text)}</span></td>'
            f"{cell(fmt_count(requests))}{cell(fmt_rate(rate))}"
            f"{cell(fmt_pct(failed), 'num bad' if failed and failed > 0.01 else 'num')}"
            f"{cell(fmt_ms(_number(entry, 'http_req_duration_p95_ms')))}"
            f"{cell(fmt_pct(_number(entry, 'checks_rate')))}"
            f"{cell(thresholds, 'num bad' if bad else 'num')}"
            f"{cell(fmt_duration(elapsed))}</tr>"
        )
    headers = [
        ("Profile", False),
        ("Status", False),
        ("Requests", True),
        ("req/s", True),
        ("Failed", True),
        ("p95 ms", True),
        ("Checks", True),
        ("Thresholds", True),
        ("Ran for", True),
    ]
    if not rows:
        return panel("Profiles", '<p class="empty">suite.json lists no profile.</p>', level=2)
    return panel("Profiles", table(headers, rows, "overview"), "In the order they ran.", level=2)


_SEVERITY = (0, 99, 2, 1, 105)
"""dmsload's exit codes, least severe first (as `dmsload suite` ranks them)."""


def worst_exit_code(codes: Sequence[object]) -> int | None:
    """The most severe of the profiles' exit codes; None when there is none."""
    known = [c for c in codes if isinstance(c, int)]
    if not known:
        return None
    return max(known, key=lambda c: _SEVERITY.index(c) if c in _SEVERITY else len(_SEVERITY))


def render_suite_html(suite: SuiteResults) -> str:
    """The report of a suite: an overview of every profile, then one section per profile."""
    data = PageData()
    worst = worst_exit_code([p.entry.get("exit_code") for p in suite.profiles])
    doc = suite.document
    facts = _facts(
        [
            ("Results", str(suite.directory)),
            ("Started", fmt_time(doc.get("started"))),
            ("Ended", fmt_time(doc.get("ended"))),
            ("Profiles", f"{len(suite.profiles)}"),
        ]
    )
    header = _page_header("dmsload suite report", "Suite", badge(worst), "", facts)
    sections = [_overview(suite)]
    for index, item in enumerate(suite.profiles):
        prefix = f"profile-{index}"
        head = (
            f'<div class="profile-header"><h2>{esc(item.name)}</h2>'
            f"{badge(item.entry.get('exit_code'))}"
        )
        if item.summary is None:
            sections.append(
                f'<section class="profile" id="{prefix}">{head}</div>'
                f'<p class="empty">{esc(item.problem or "no summary JSON")}</p></section>'
            )
            continue
        description = _description(item.summary)
        if description:
            head += f'<span class="description">{esc(description)}</span>'
        sections.append(
            f'<section class="profile" id="{prefix}">{head}</div>'
            f"{_facts(run_facts(item.summary))}"
            f"{profile_body(item.summary, prefix, data, level=3)}</section>"
        )
    return page("dmsload suite report", header, "".join(sections), data)
