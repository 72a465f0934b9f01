"""The `dmsload merge` command: read the parts, check them, merge, write, print, exit."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dmsload.cli_options import (
    JunitOpt,
    K6SummaryOpt,
    SummaryJsonOpt,
    SummaryMode,
    fail,
    writable_or_exit,
)
from dmsload.engine.runner import ExitCode
from dmsload.merge.combine import MergedRun, merge_parts, merged_document
from dmsload.merge.parts import PartsError, check_parts, read_part
from dmsload.metrics import SummaryContext, render_summary, write_k6_summary_export
from dmsload.metrics.k6_summary import write_k6_summary
from dmsload.metrics.legacy_summary import legacy_summary_lines
from dmsload.outputs.junit import junit_document, write_junit
from dmsload.outputs.summary_json import (
    SummaryFileError,
    checks_document,
    load_summary,
    thresholds_document,
    write_summary_json,
)
from dmsload.run_report import k6_summary_options, write_one


def merge(
    parts: Annotated[
        list[Path],
        typer.Argument(
            metavar="PART",
            help="The parts' summary JSONs (`dmsload run --execution-segment ... "
            "--summary-json PART`).",
            show_default=False,
        ),
    ],
    summary_export: Annotated[
        Path | None,
        typer.Option("--summary-export", help="Write k6's JSON summary (legacy shape) here."),
    ] = None,
    summary_json: SummaryJsonOpt = None,
    k6_summary: K6SummaryOpt = None,
    junit: JunitOpt = None,
    summary_mode: Annotated[
        SummaryMode,
        typer.Option(
            "--summary-mode",
            help="compact (k6's default), full (every metric, and a section per scenario) "
            "or legacy (k6's v0.x text summary, for text scrapers).",
        ),
    ] = SummaryMode.COMPACT,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="Plain summary for CI logs.")
    ] = False,
) -> None:
    """Merge the parts of a split run into one summary, and judge the thresholds on it.

    Exit status: 0 passed, 99 a threshold failed on the merged data, 1 a part is missing
    or did not finish, 2 the files are not parts of one run (the line names the part).

    Examples:

      dmsload merge results/part-*.summary.json --summary-json run.summary.json

      dmsload merge a.json b.json --junit junit.xml --summary-export k6-summary.json

      dmsload merge a.json b.json --k6-summary k6.json --summary-mode legacy
    """
    writable_or_exit("--summary-export", summary_export)
    writable_or_exit("--summary-json", summary_json)
    writable_or_exit("--k6-summary", k6_summary)
    writable_or_exit("--junit", junit)
    try:
        coverage = check_parts([read_part(load_summary(path)) for path in parts])
        merged = merge_parts(coverage)
    except (SummaryFileError, PartsError) as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    ctx = merged.context(summary_mode.value)
    exported = _write_exports(
        merged, ctx, _Exports(summary_export, summary_json, k6_summary, junit, no_color)
    )
    console = Console(no_color=no_color, highlight=False, soft_wrap=True)
    if summary_mode == SummaryMode.LEGACY:
        lines = legacy_summary_lines(
            merged.registry, merged.thresholds, ctx, script=merged.name, outputs=[]
        )
        for line in lines:
            console.print(line)
    else:
        render_summary(merged.registry, merged.thresholds, ctx, console)
    code = merged.exit_code
    for problem in coverage.problems():
        typer.echo(f"dmsload: {problem}", err=True)
    if not exported and code == ExitCode.OK:
        code = ExitCode.CANNOT_PROCEED
    sys.stdout.flush()
    raise typer.Exit(int(code))


@dataclass(frozen=True)
class _Exports:
    """The files `merge` was asked to write."""

    summary_export: Path | None
    summary_json: Path | None
    k6_summary: Path | None
    junit: Path | None
    no_color: bool


def _write_exports(merged: MergedRun, ctx: SummaryContext, exports: _Exports) -> bool:
    """Write every export asked for; False (one line on stderr each) when one failed."""
    ok = True
    if exports.summary_export is not None:
        ok &= write_one(
            "--summary-export",
            exports.summary_export,
            lambda path: write_k6_summary_export(path, merged.registry, merged.thresholds, ctx),
        )
    if exports.k6_summary is not None:
        k6_options = k6_summary_options(exports.no_color)
        ok &= write_one(
            "--k6-summary",
            exports.k6_summary,
            lambda path: write_k6_summary(
                path, merged.registry, merged.thresholds, ctx, k6_options
            ),
        )
    if exports.summary_json is not None:
        document = merged_document(merged)
        ok &= write_one(
            "--summary-json", exports.summary_json, lambda path: write_summary_json(path, document)
        )
    if exports.junit is not None:
        tree = junit_document(
            suite_name=f"dmsload.{merged.name}",
            thresholds=thresholds_document(merged.thresholds),
            checks=checks_document(merged.registry),
            elapsed_s=merged.elapsed_s,
            started_at=merged.started_at,
        )
        ok &= write_one("--junit", exports.junit, lambda path: write_junit(path, tree))
    return ok
