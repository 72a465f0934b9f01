"""After a run: the notes, the end-of-test summary, the exports and the exit status."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from dmsload.engine.runner import ExitCode, RunResult
from dmsload.metrics import SummaryContext, render_summary, write_k6_summary_export
from dmsload.profile import Profile


@dataclass(frozen=True)
class ReportOptions:
    """How to present a finished run."""

    summary_export: Path | None = None
    summary_mode: str = "compact"
    no_color: bool = False


def summary_context(result: RunResult, profile: Profile, mode: str) -> SummaryContext:
    """The summary's context: elapsed time, columns, scenarios and the run's notes."""
    notes = list(result.warnings)
    if result.interrupted:
        notes.append("the run was interrupted (SIGINT/SIGTERM): results cover the part that ran")
    if result.aborted_by is not None:
        notes.append(
            f"aborted by threshold {result.aborted_by.selector} "
            f"'{result.aborted_by.threshold.source}' (abort_on_fail)"
        )
    if result.error is not None:
        notes.append(f"the run failed: {result.error}")
    if result.discovery is not None:
        notes.append(
            f"run id {result.run_id}: generated identities contain it (--run-id to repeat them)"
        )
    return SummaryContext(
        elapsed_s=result.elapsed_s,
        trend_stats=profile.summary_trend_stats,
        scenarios=result.scenario_names,
        interrupted=result.interrupted,
        notes=notes,
        mode=mode,
    )


def write_exports(result: RunResult, ctx: SummaryContext, summary_export: Path | None) -> bool:
    """Write the k6 summary export; False (with one line on stderr) when it failed."""
    if summary_export is None:
        return True
    try:
        write_k6_summary_export(summary_export, result.registry, result.thresholds, ctx)
    except OSError as exc:
        typer.echo(f"dmsload: --summary-export {summary_export}: {exc.strerror}", err=True)
        return False
    return True


def report_run(result: RunResult, profile: Profile, options: ReportOptions) -> ExitCode:
    """Write the exports, print the summary; the run's exit status (1 if an export failed)."""
    ctx = summary_context(result, profile, options.summary_mode)
    exported = write_exports(result, ctx, options.summary_export)
    console = Console(no_color=options.no_color, highlight=False, soft_wrap=True)
    render_summary(result.registry, result.thresholds, ctx, console)
    code = result.exit_code
    if not exported and code == ExitCode.OK:
        code = ExitCode.CANNOT_PROCEED
    sys.stdout.flush()
    return code
