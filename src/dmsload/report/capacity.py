"""The report's capacity section: offered against achieved rate and p95 per step, knee marked,
with the table of steps and the verdict (from the summary JSON's `capacity` section)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dmsload.report.charts import ChartSpec
from dmsload.report.formatting import cell, esc, fmt_ms, fmt_pct, fmt_rate, panel, table

_BLUE, _SLATE, _AMBER, _RED = "#2563eb", "#64748b", "#d97706", "#dc2626"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _p95(step: Mapping[str, Any]) -> float | None:
    duration = step.get("http_req_duration")
    return _number(duration.get("p95")) if isinstance(duration, Mapping) else None


def capacity_steps(section: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The section's steps that have an offered rate, in order."""
    steps = section.get("steps")
    if not isinstance(steps, list):
        return []
    return [s for s in steps if isinstance(s, Mapping) and _number(s.get("offered_rate"))]


def knee_rate(section: Mapping[str, Any]) -> float | None:
    """The knee's rate, when one was found."""
    knee = section.get("knee")
    if not isinstance(knee, Mapping) or knee.get("found") is not True:
        return None
    return _number(knee.get("rate"))


def capacity_chart(section: Mapping[str, Any]) -> ChartSpec | None:
    """The step chart: x is the offered rate; achieved rate and the ideal (achieved = offered)
    on the left scale, p95 on the right, the knee as a marker on the achieved line."""
    steps = capacity_steps(section)
    if not steps:
        return None
    x = [float(s["offered_rate"]) for s in steps]
    achieved = [_number(s.get("achieved_rate")) for s in steps]
    knee = knee_rate(section)
    marker = [
        a if knee is not None and rate == knee else None
        for rate, a in zip(x, achieved, strict=True)
    ]
    data = {
        "x": x,
        "x_unit": "/s",
        "scales": [
            {"key": "y", "unit": "/s", "floor": 1},
            {"key": "y2", "unit": "ms", "floor": 1},
        ],
        "series": [
            {"label": "offered/s", "values": x, "color": _SLATE, "scale": "y", "dash": [6, 4]},
            {"label": "achieved/s", "values": achieved, "color": _BLUE, "scale": "y", "digits": 1},
            {"label": "p95", "values": [_p95(s) for s in steps], "color": _AMBER, "scale": "y2"},
            {
                "label": "knee",
                "values": marker,
                "color": _RED,
                "scale": "y",
                "marker": True,
                "digits": 0,
            },
        ],
    }
    caption = "Each point is one step; the knee is the last step before a rule broke."
    return ChartSpec("capacity", "Capacity: offered vs achieved rate", caption, data, wide=True)


def _step_row(step: Mapping[str, Any], knee: float | None) -> str:
    rules = step.get("broken_rules") or []
    limit = step.get("generator_limit")
    verdict = "generator limit" if limit else ", ".join(str(r).split(":")[0] for r in rules)
    offered = _number(step.get("offered_rate"))
    css = ' class="knee"' if knee is not None and offered == knee else ""
    return (
        f"<tr{css}>{cell(str(step.get('step', '')))}{cell(fmt_rate(offered))}"
        f"{cell(fmt_rate(_number(step.get('achieved_rate'))))}"
        f"{cell(fmt_ms(_p95(step)))}{cell(fmt_pct(_number(step.get('error_rate'))))}"
        f"{cell(str(step.get('dropped_iterations', '')))}"
        f"{cell(fmt_pct(_number(step.get('generator_cpu'))))}"
        f"{cell(verdict or 'ok', '')}</tr>"
    )


def capacity_panel(
    document: Mapping[str, Any], prefix: str, charts: dict[str, Any], level: int
) -> str:
    """The capacity section of a run's page ('' for a run that was not a capacity search)."""
    section = document.get("capacity")
    if not isinstance(section, Mapping):
        return ""
    spec = capacity_chart(section)
    knee = section.get("knee")
    text = knee.get("text") if isinstance(knee, Mapping) else None
    verdict = f'<p class="verdict">{esc(str(text or ""))}</p>'
    body = verdict
    if spec is not None:
        chart_id = f"{prefix}-{spec.key}"
        charts[chart_id] = spec.data
        body += (
            f'<div class="chart-panel wide"><p class="caption">{esc(spec.caption)}</p>'
            f'<div class="chart" id="{esc(chart_id)}" data-chart="{esc(chart_id)}"></div></div>'
        )
    headers = [
        ("step", True),
        ("offered/s", True),
        ("achieved/s", True),
        ("p95 ms", True),
        ("errors", True),
        ("dropped", True),
        ("generator CPU", True),
        ("verdict", False),
    ]
    rate = knee_rate(section)
    rows = [_step_row(step, rate) for step in capacity_steps(section)]
    body += table(headers, rows, "capacity")
    return panel("Capacity", body, level=level)
