"""What the report's sections share: number and time formats, status badges, and the small
HTML building blocks (tables, cells, panels), every text escaped."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

CHART_LIBRARY = "uPlot 1.6.32"
"""The vendored chart library (from the npm registry: uplot@1.6.32, MIT License)."""

_STATUS_TEXT = {
    0: ("passed", "pass"),
    1: ("error", "fail"),
    2: ("bad usage", "fail"),
    99: ("thresholds failed", "fail"),
    105: ("interrupted", "warn"),
}
DASH = "–"


# ---- formatting --------------------------------------------------------------------------


def esc(value: object) -> str:
    """Text for HTML content or a quoted attribute."""
    return html.escape(str(value), quote=True)


def fmt_ms(value: float | None) -> str:
    """A duration in ms: 0.61, 12.3, 1,234."""
    if value is None:
        return DASH
    if abs(value) < 10:
        return f"{value:,.2f}"
    if abs(value) < 1000:
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def fmt_count(value: float | None) -> str:
    """A count: 1,234."""
    return DASH if value is None else f"{value:,.0f}"


def fmt_rate(value: float | None) -> str:
    """A per-second rate: 44.06, 1,005.3."""
    if value is None:
        return DASH
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.1f}"


def fmt_pct(share: float | None, digits: int = 2) -> str:
    """A share as a percentage: 0.0123 → 1.23%."""
    return DASH if share is None else f"{share * 100:.{digits}f}%"


def fmt_duration(seconds: float | None) -> str:
    """How long: 850 ms, 10.1 s, 2 m 05 s, 1 h 02 m."""
    if seconds is None:
        return DASH
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} m {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} m"


def fmt_time(text: object) -> str:
    """An ISO timestamp as `2026-12-01 13:23:44 UTC` (unchanged when it does not parse)."""
    if not isinstance(text, str):
        return DASH
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    zone = moment.tzname()
    suffix = " UTC" if zone in ("UTC", "UTC+00:00") else (f" {zone}" if zone else "")
    return moment.strftime("%Y-%m-%d %H:%M:%S") + suffix


def status_of(exit_code: object) -> tuple[str, str]:
    """(label, css class) of an exit code."""
    if not isinstance(exit_code, int):
        return ("unknown", "none")
    text, css = _STATUS_TEXT.get(exit_code, ("failed", "fail"))
    return (f"{text} · exit {exit_code}", css)


def badge(exit_code: object) -> str:
    text, css = status_of(exit_code)
    return f'<span class="badge {css}">{esc(text)}</span>'


def mark(ok: bool | None) -> str:
    if ok is None:
        return '<td class="mark none" title="no data">–</td>'
    if ok:
        return '<td class="mark pass" title="passed">✓</td>'
    return '<td class="mark fail" title="failed">✗</td>'


def table(headers: Sequence[tuple[str, bool]], rows: Sequence[str], css: str = "") -> str:
    """A table: headers as (text, numeric); rows already rendered `<tr>`s."""
    head = "".join(f"<th{' class=num' if num else ''}>{esc(text)}</th>" for text, num in headers)
    klass = f' class="{esc(css)}"' if css else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def cell(text: str, css: str = "num") -> str:
    return f'<td class="{css}">{esc(text)}</td>' if css else f"<td>{esc(text)}</td>"


def panel(title: str, body: str, caption: str = "", css: str = "", level: int = 3) -> str:
    note = f'<p class="caption">{esc(caption)}</p>' if caption else ""
    klass = f"panel {css}".strip()
    return f'<section class="{klass}"><h{level}>{esc(title)}</h{level}>{note}{body}</section>'
