"""The `dmsload merge` command: read the parts, check them, merge, write, print, exit."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dmsload.cli_options import JunitOpt, SummaryJsonOpt, SummaryMode, fail, writable_or_exit
from dmsload.engine.runner import ExitCode
from dmsload.merge.combine import MergedRun, merge_parts, merged_document
from dmsload.merge.parts import PartsError, check_parts, read_part
from dmsload.metrics import SummaryContext, render_summary, write_k6_summary_export
from dmsload.outputs.junit import junit_document, write_junit
from dmsload.outputs.summary_json import (
    SummaryFileError,
    checks_document,
    load_summary,
    thresholds_document,
    write_summary_json,
)


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
    junit: JunitOpt = None,
    summary_mode: Annotated[
        SummaryMode,
        typer.Option(
            "--summary-mode",
            help="compact (k6's default) or full: every metric, and a section per scenario.",
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
    """
    writable_or_exit("--summary-export", summary_export)
    writable_or_exit("--summary-json", summary_json)
    writable_or_exit("--junit", junit)
    try:
        coverage = check_parts([read_part(load_summary(path)) for path in parts])
        merged = merge_parts(coverage)
    except (SummaryFileError, PartsError) as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    ctx = merged.context(summary_mode.value)
    exported = _write_exports(merged, ctx, summary_export, summary_json, junit)
    console = Console(no_color=no_color, highlight=False, soft_wrap=True)
    render_summary(merged.registry, merged.thresholds, ctx, console)
    code = merged.exit_code
    for problem in coverage.problems():
        typer.echo(f"dmsload: {problem}", err=True)
    if not exported and code == ExitCode.OK:
        code = ExitCode.CANNOT_PROCEED
    sys.stdout.flush()
    raise typer.Exit(int(code))


def _write_exports(
    merged: MergedRun,
    ctx: SummaryContext,
    summary_export: Path | None,
    summary_json: Path | None,
    junit: Path | None,
) -> bool:
    """Write every export asked for; False (one line on stderr each) when one failed."""
    ok = True
    if summary_export is not None:
        ok &= _write(
            "--summary-export",
            summary_export,
            lambda path: write_k6_summary_export(path, merged.registry, merged.thresholds, ctx),
        )
    if summary_json is not None:
        document = merged_document(merged)
        ok &= _write(
            "--summary-json", summary_json, lambda path: write_summary_json(path, document)
        )
    if junit is not None:
        tree = junit_document(
            suite_name=f"dmsload.{merged.name}",
            thresholds=thresholds_document(merged.thresholds),
            checks=checks_document(merged.registry),
            elapsed_s=merged.elapsed_s,
            started_at=merged.started_at,
        )
        ok &= _write("--junit", junit, lambda path: write_junit(path, tree))
    return ok


def _write(flag: str, path: Path, write: Callable[[Path], None]) -> bool:
    try:
        write(path)
    except OSError as exc:
        typer.echo(f"dmsload: {flag} {path}: {exc.strerror or exc}", err=True)
        return False
    return True
