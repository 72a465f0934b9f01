"""After a run: the notes, the end-of-test summary, the exports and the exit status."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from dmsload.engine.runner import ExitCode, RunResult
from dmsload.metrics import SummaryContext, render_summary, write_k6_summary_export
from dmsload.metrics.k6_summary import K6SummaryOptions, write_k6_summary
from dmsload.metrics.legacy_summary import legacy_summary_lines
from dmsload.outputs.junit import junit_document, write_junit
from dmsload.outputs.summary_json import (
    checks_document,
    thresholds_document,
    write_summary_json,
)
from dmsload.profile import Profile
from dmsload.run_summary import summary_document

EXIT_MEANINGS = {
    ExitCode.OK: "passed",
    ExitCode.CANNOT_PROCEED: "the run could not proceed",
    ExitCode.USAGE: "bad usage",
    ExitCode.THRESHOLDS_FAILED: "a threshold failed",
    ExitCode.INTERRUPTED: "interrupted",
}
"""Each exit status in words, for the line that replaces an empty summary."""


@dataclass(frozen=True)
class ReportOptions:
    """How to present a finished run."""

    summary_export: Path | None = None
    summary_json: Path | None = None
    junit: Path | None = None
    k6_summary: Path | None = None
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
    for output in result.outputs:
        notes.extend(output.lines())
    return SummaryContext(
        elapsed_s=result.elapsed_s,
        trend_stats=profile.summary_trend_stats,
        scenarios=result.scenario_names,
        interrupted=result.interrupted,
        notes=notes,
        mode=mode,
    )


def k6_summary_options(no_color: bool) -> K6SummaryOptions:
    """The `options` and `state` of a `--k6-summary` file written by this process."""
    return K6SummaryOptions(
        no_color=no_color, stdout_tty=sys.stdout.isatty(), stderr_tty=sys.stderr.isatty()
    )


def write_exports(
    result: RunResult, profile: Profile, ctx: SummaryContext, options: ReportOptions
) -> bool:
    """Write every export asked for; False (with one line on stderr each) when one failed."""
    ok = True
    if options.summary_export is not None:
        ok &= write_one(
            "--summary-export",
            options.summary_export,
            lambda path: write_k6_summary_export(path, result.registry, result.thresholds, ctx),
        )
    if options.k6_summary is not None:
        k6_options = k6_summary_options(options.no_color)
        ok &= write_one(
            "--k6-summary",
            options.k6_summary,
            lambda path: write_k6_summary(
                path, result.registry, result.thresholds, ctx, k6_options
            ),
        )
    if options.summary_json is not None:
        document = summary_document(result, profile, ctx)
        ok &= write_one(
            "--summary-json",
            options.summary_json,
            lambda path: write_summary_json(path, document),
        )
    if options.junit is not None:
        tree = junit_document(  # from the verdicts alone: no histogram is encoded for it
            suite_name=f"dmsload.{profile.name}",
            thresholds=thresholds_document(result.thresholds),
            checks=checks_document(result.registry),
            elapsed_s=result.elapsed_s,
            started_at=result.started_at,
        )
        ok &= write_one("--junit", options.junit, lambda path: write_junit(path, tree))
    return ok


def write_one(flag: str, path: Path, write: Callable[[Path], None]) -> bool:
    """Write one export; False, with one line on stderr naming the flag, when it failed."""
    try:
        write(path)
    except OSError as exc:
        typer.echo(f"dmsload: {flag} {path}: {exc.strerror or exc}", err=True)
        return False
    return True


def nothing_sent(result: RunResult) -> bool:
    """True when the run failed before any request of the load or its setup was sent (the
    target unreachable, auth refused): its summary would hold nothing but "no data"."""
    if result.error is None:
        return False
    requests = result.registry.view(result.metrics.http_reqs.name)
    return requests is None or requests.counter_total() == 0


def report_run(result: RunResult, profile: Profile, options: ReportOptions) -> ExitCode:
    """Write the exports, print the summary; the run's exit status (1 if an export failed).
    A run that failed before sending anything gets one line instead of an empty summary
    (the runner has already printed why)."""
    ctx = summary_context(result, profile, options.summary_mode)
    exported = write_exports(result, profile, ctx, options)
    code = result.exit_code
    if not exported and code == ExitCode.OK:
        code = ExitCode.CANNOT_PROCEED
    if nothing_sent(result):
        typer.echo(
            f"dmsload: the load sent no request, so there is no summary; exit status {int(code)} "
            f"({EXIT_MEANINGS[code]})",
            err=True,
        )
        return code
    console = Console(no_color=options.no_color, highlight=False, soft_wrap=True)
    if options.summary_mode == "legacy":
        lines = legacy_summary_lines(
            result.registry,
            result.thresholds,
            ctx,
            script=str(profile.source or profile.name),
            outputs=[output.label for output in result.outputs],
        )
        for line in lines:
            console.print(line)
    else:
        render_summary(result.registry, result.thresholds, ctx, console)
    sys.stdout.flush()
    return code
