"""The capacity search on the terminal: a line per step as it is judged, then the table."""

from __future__ import annotations

from collections.abc import Sequence

from dmsload.capacity.figures import StepFigures
from dmsload.capacity.knee import Verdict

_HEADER = (
    "step",
    "offered/s",
    "achieved/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "p95 intended",
    "errors",
    "dropped",
    "cpu",
    "lag p50",
    "verdict",
)


def step_verdict(step: StepFigures) -> str:
    """`ok`, `GENERATOR`, or the names of the rules the step broke."""
    if step.generator_limit is not None:
        return "GENERATOR LIMIT"
    if step.broken_rules:
        return "PAST KNEE: " + ", ".join(rule.split(":", 1)[0] for rule in step.broken_rules)
    return "ok"


def step_row(step: StepFigures) -> tuple[str, ...]:
    """One step's cells, as text."""
    return (
        str(step.load.number),
        f"{step.load.offered_rate:,}",
        f"{step.achieved_rate:,.1f}",
        f"{step.duration.p50:,.2f}",
        f"{step.duration.p95:,.2f}",
        f"{step.duration.p99:,.2f}",
        f"{step.intended.p95:,.2f}",
        f"{step.error_rate:.2%}",
        f"{step.dropped_iterations:,}",
        f"{step.generator_cpu:.0%}",
        f"{step.start_lag.p50:,.2f}",
        step_verdict(step),
    )


def step_line(step: StepFigures) -> str:
    """The progress line printed when a step has been judged."""
    cells = step_row(step)
    return (
        f"dmsload capacity: step {cells[0]} offered {cells[1]}/s achieved {cells[2]}/s "
        f"p95 {cells[4]} ms errors {cells[7]} dropped {cells[8]} cpu {cells[9]}: {cells[11]}"
    )


def table_lines(steps: Sequence[StepFigures], result: Verdict) -> list[str]:
    """The aligned table of every step, then the verdict and the reasons behind it."""
    rows = [_HEADER, *(step_row(step) for step in steps)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            cell.ljust(width) if i == len(row) - 1 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    lines.append("")
    lines.append(result.text)
    stopped = result.step
    if stopped is not None:
        reasons = list(stopped.broken_rules)
        if stopped.generator_limit is not None:
            reasons = [f"generator: {stopped.generator_limit}"]
        lines.extend(f"  step {stopped.load.number}: {reason}" for reason in reasons)
    return lines
