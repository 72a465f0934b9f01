"""How a comparison reads: a terminal table, GitHub-flavoured Markdown, and JSON.

The three show the same rows. Values use the run summary's units (k6's: `21.46ms`, `0.50%`,
`50.27/s`); DELTA is current - baseline in that unit (percentage points for rates), CHANGE is
relative to the baseline: `new` when the baseline is 0 and the current is not, `n/a` when one
run has no data. Rows that broke a `--fail-on` rule are marked with the rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from dmsload.compare.rules import Unit, Verdict
from dmsload.compare.table import Comparison, Report, Row, RuleResult, Section
from dmsload.metrics.formatting import format_number, format_percent, format_value

SCHEMA = "dmsload-compare/1"
_MISSING = "—"
_BROKEN, _OK, _NODATA = "✗", "✓", "?"
_HEADER = ("METRIC", "STAT", "BASELINE", "CURRENT", "DELTA", "CHANGE")
_BY_NAME_TITLE = "BY REQUEST NAME (setup requests excluded)"


# ---- values ------------------------------------------------------------------------------


def format_stat(row: Row, value: float | None) -> str:
    """A value of the row's stat in the summary's units."""
    if value is None:
        return _MISSING
    if row.stat == "rate":
        return format_percent(value)
    if row.stat == "rps":
        return _per_second(value)
    if row.stat == "count":
        return format_number(value)
    return format_value(value, row.contains)


def _per_second(value: float) -> str:
    """A rate per second: two decimals, or three significant digits below 0.1/s."""
    return f"{value:.3g}/s" if 0 < abs(value) < 0.1 else f"{value:.2f}/s"


def format_delta(row: Row) -> str:
    """current - baseline with its sign; rates in percentage points."""
    delta = row.delta
    if delta is None:
        return _MISSING
    if delta == 0:
        return "0"
    sign = "+" if delta > 0 else "-"
    size = abs(delta)
    if row.stat == "rate":
        return f"{sign}{size * 100:.2f}pp"
    if row.stat == "rps":
        return sign + _per_second(size)
    if row.stat == "count":
        return sign + format_number(size)
    return sign + format_value(size, row.contains)


def format_change(row: Row) -> str:
    """The relative change: `+12.3%`, `-4.0%`, `0.0%`, `new` (zero baseline) or `n/a`."""
    if row.baseline is None or row.current is None:
        return "n/a"
    change = row.change_pct
    if change is None:
        return "new"
    if change == 0:
        return "0.0%"
    return f"{change:+.1f}%"


def _cells(row: Row) -> tuple[str, str, str, str]:
    return (
        format_stat(row, row.baseline),
        format_stat(row, row.current),
        format_delta(row),
        format_change(row),
    )


def _rule_summary(result: RuleResult) -> tuple[str, str]:
    """(mark, text) of one rule's outcome."""
    broken, compared = len(result.broken), len(result.compared)
    left = len(result.targets) - compared
    skipped = f"; {left} without a comparable value" if left else ""
    if broken:
        return _BROKEN, f"broken on {broken} of {compared} compared{skipped}"
    if compared:
        noun = "row" if compared == 1 else "rows"
        return _OK, f"ok on {compared} {noun}{skipped}"
    if result.targets and all(
        t.judgement.verdict is Verdict.NOT_COMPARABLE for t in result.targets
    ):
        return _NODATA, "not judged: zero baseline, a % change has no meaning"
    return _NODATA, "no data in one run or both: not judged (not a failure)"


def _run_line(comparison: Comparison, which: str) -> str:
    summary = comparison.baseline if which == "baseline" else comparison.current
    reqs = summary.registry.view("http_reqs")
    count = int(reqs.counter_total()) if reqs is not None else 0
    started = summary.document.get("manifest", {}).get("started_at")
    when = f", started {started}" if started else ""
    return f"{summary.path} (ran {summary.elapsed_s:.1f}s, {count} requests{when})"


def verdict_line(report: Report) -> str:
    """The last line: `no regression` or `N regression(s)`."""
    count = report.regressions
    return "no regression" if count == 0 else f"{count} regression(s)"


# ---- terminal ----------------------------------------------------------------------------


def terminal_lines(report: Report) -> list[str]:
    """The whole report as plain text lines (no colour: it reads the same in CI logs)."""
    lines: list[str] = []
    for comparison in report.comparisons:
        lines.extend(_terminal_comparison(comparison))
        lines.append("")
    lines.extend(_unpaired_lines(report))
    lines.append(verdict_line(report))
    return lines


def _unpaired_lines(report: Report) -> list[str]:
    lines = []
    if report.only_in_baseline:
        lines.append("only in the baseline (not compared): " + ", ".join(report.only_in_baseline))
    if report.only_in_current:
        lines.append("only in the current (not compared): " + ", ".join(report.only_in_current))
    return lines


def _terminal_comparison(comparison: Comparison) -> list[str]:
    lines = [
        f"━━ {comparison.name}",
        f"  baseline  {_run_line(comparison, 'baseline')}",
        f"  current   {_run_line(comparison, 'current')}",
        "",
    ]
    table: list[tuple[str, ...] | str] = [_HEADER]
    for section, rows in _sections(comparison.rows):
        if section is Section.BY_NAME:
            table += ["", _BY_NAME_TITLE, *_by_name_cells(rows)]
        elif section is Section.RULES:
            table += ["", "ASKED FOR BY --fail-on", *_grouped_cells(rows)]
        else:
            table += _grouped_cells(rows)
    lines.extend(_aligned(table))
    if comparison.thresholds:
        lines.append("")
        lines.append("  THRESHOLDS THAT CHANGED")
        for change in comparison.thresholds:
            mark = _BROKEN if change.newly_failed else " "
            lines.append(
                f"    {mark} {change.metric} '{change.expression}': "
                f"{change.baseline} → {change.current}"
            )
    if comparison.rules:
        lines.append("")
        lines.append("  RULES (--fail-on)")
        for result in comparison.rules:
            mark, text = _rule_summary(result)
            lines.append(f"    {mark} {result.rule.source}: {text}")
    return lines


def _row_cells(shown: str, row: Row) -> tuple[str, ...]:
    mark = f"{_BROKEN} {', '.join(row.broken)}" if row.broken else ""
    return (shown, row.stat, *_cells(row), mark)


def _grouped_cells(rows: Sequence[Row]) -> list[tuple[str, ...] | str]:
    """Rows under their label, the label shown on the first of each run of equal labels."""
    out: list[tuple[str, ...] | str] = []
    previous = None
    for row in rows:
        out.append(_row_cells(row.label if row.label != previous else "", row))
        previous = row.label
    return out


def _by_name_cells(rows: Sequence[Row]) -> list[tuple[str, ...] | str]:
    """A heading line per request name, then its rows labelled by metric."""
    out: list[tuple[str, ...] | str] = []
    previous: tuple[str, str] | None = None
    for row in rows:
        if previous is None or row.label != previous[0]:
            out.append(row.label)
        shown = "  " + row.metric if (row.label, row.metric) != previous else ""
        out.append(_row_cells(shown, row))
        previous = (row.label, row.metric)
    return out


def _sections(rows: Sequence[Row]) -> Iterator[tuple[Section, list[Row]]]:
    for section in Section:
        chosen = [row for row in rows if row.section is section]
        if chosen:
            yield section, chosen


def _aligned(table: Sequence[tuple[str, ...] | str]) -> list[str]:
    """Left-align the first two columns, right-align the numbers; strings are heading lines."""
    cells = [row for row in table if isinstance(row, tuple)]
    widths = [max(len(row[col]) for row in cells) for col in range(len(_HEADER))]
    lines = []
    for row in table:
        if isinstance(row, str):
            lines.append(f"  {row}" if row else "")
            continue
        left = f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}"
        right = "  ".join(
            f"{cell:>{width}}" for cell, width in zip(row[2:6], widths[2:], strict=True)
        )
        mark = f"  {row[6]}" if len(row) > 6 and row[6] else ""
        lines.append(f"  {left}  {right}{mark}".rstrip())
    return lines


# ---- markdown ----------------------------------------------------------------------------


def _md(text: str) -> str:
    """Text safe in a Markdown table cell."""
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("*", "\\*")
        .replace("_", "\\_")
    )


def _code(text: str) -> str:
    """Inline code safe in a Markdown table cell."""
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def markdown(report: Report) -> str:
    """The report as GitHub-flavoured Markdown (a PR comment, $GITHUB_STEP_SUMMARY)."""
    mark = "❌" if report.regressions else "✅"
    out = [f"## {mark} dmsload compare: {verdict_line(report)}", ""]
    for comparison in report.comparisons:
        out.extend(_markdown_comparison(comparison, heading=report.directories))
    unpaired = _unpaired_lines(report)
    if unpaired:
        out.extend(f"- {_md(line)}" for line in unpaired)
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _md_table(rows: Sequence[Row], first: str) -> list[str]:
    out = [
        f"| {first} | stat | baseline | current | delta | change | |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        label = row.label if row.section is not Section.BY_NAME else row.metric
        broken = " ".join(f"❌ {_code(source)}" for source in row.broken)
        cells = " | ".join(_md(cell) for cell in _cells(row))
        out.append(f"| {_code(label)} | {_md(row.stat)} | {cells} | {broken} |")
    return out


def _markdown_comparison(comparison: Comparison, heading: bool) -> list[str]:
    out = []
    if heading:
        mark = "❌" if comparison.regressions else "✅"
        out += [f"### {mark} {_md(comparison.name)}", ""]
    out += [
        f"baseline: {_code(_run_line(comparison, 'baseline'))}  ",
        f"current: {_code(_run_line(comparison, 'current'))}",
        "",
    ]
    sections = dict(_sections(comparison.rows))
    if Section.OVERALL in sections:
        out += [*_md_table(sections[Section.OVERALL], "metric"), ""]
    if Section.RULES in sections:
        out += ["Asked for by `--fail-on`:", "", *_md_table(sections[Section.RULES], "metric"), ""]
    by_name = sections.get(Section.BY_NAME, [])
    if by_name:
        names = len({row.label for row in by_name})
        broken = sum(1 for row in by_name if row.broken)
        flag = f", {broken} broken" if broken else ""
        out += [
            "<details>",
            f"<summary>By request name ({names} names, setup requests excluded{flag})</summary>",
            "",
        ]
        for name in dict.fromkeys(row.label for row in by_name):
            rows = [row for row in by_name if row.label == name]
            out += [f"**{_md(name)}**", "", *_md_table(rows, "metric"), ""]
        out += ["</details>", ""]
    if comparison.thresholds:
        out += ["Thresholds that changed:", ""]
        for change in comparison.thresholds:
            mark = "❌ " if change.newly_failed else ""
            out.append(
                f"- {mark}{_code(change.metric)} {_code(change.expression)}: "
                f"{_md(change.baseline)} → {_md(change.current)}"
            )
        out.append("")
    if comparison.rules:
        out += ["Rules (`--fail-on`):", ""]
        for result in comparison.rules:
            mark, text = _rule_summary(result)
            icon = {"✗": "❌", "✓": "✅"}.get(mark, "❔")
            out.append(f"- {icon} {_code(result.rule.source)}: {_md(text)}")
        out.append("")
    return out


# ---- json --------------------------------------------------------------------------------


def _row_json(row: Row) -> dict[str, Any]:
    return {
        "section": row.section.value,
        "label": row.label,
        "selector": row.selector,
        "metric": row.metric,
        "tags": dict(row.tags),
        "stat": row.stat,
        "baseline": row.baseline,
        "current": row.current,
        "delta": row.delta,
        "change_pct": row.change_pct,
        "broken": list(row.broken),
    }


def _rule_json(result: RuleResult) -> dict[str, Any]:
    rule = result.rule
    return {
        "rule": rule.source,
        "metric": rule.metric,
        "tags": dict(rule.tags),
        "stat": rule.stat,
        "op": rule.op,
        "limit": rule.limit,
        "unit": {Unit.PERCENT: "%", Unit.MS: "ms", Unit.PP: "fraction"}.get(rule.unit, "stat"),
        "broken": len(result.broken),
        "targets": [
            {
                "selector": target.row.selector,
                "stat": target.row.stat,
                "baseline": target.row.baseline,
                "current": target.row.current,
                "change": target.judgement.change,
                "verdict": target.judgement.verdict.value,
            }
            for target in result.targets
        ],
    }


def json_document(report: Report, exit_code: int) -> dict[str, Any]:
    """The comparison, machine-readably (`schema` names the shape's version)."""
    return {
        "schema": SCHEMA,
        "baseline": str(report.baseline),
        "current": str(report.current),
        "regressions": report.regressions,
        "exit_code": exit_code,
        "only_in_baseline": list(report.only_in_baseline),
        "only_in_current": list(report.only_in_current),
        "profiles": [
            {
                "name": comparison.name,
                "baseline": {
                    "path": str(comparison.baseline.path),
                    "elapsed_s": comparison.baseline.elapsed_s,
                },
                "current": {
                    "path": str(comparison.current.path),
                    "elapsed_s": comparison.current.elapsed_s,
                },
                "regressions": comparison.regressions,
                "rows": [_row_json(row) for row in comparison.rows],
                "thresholds": [
                    {
                        "metric": change.metric,
                        "expression": change.expression,
                        "baseline": change.baseline,
                        "current": change.current,
                        "newly_failed": change.newly_failed,
                    }
                    for change in comparison.thresholds
                ],
                "rules": [_rule_json(result) for result in comparison.rules],
            }
            for comparison in report.comparisons
        ],
    }
