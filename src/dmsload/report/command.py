"""`dmsload report RESULTS -o report.html`: a summary JSON or a suite results directory → HTML.

RESULTS is a file written by `dmsload run --summary-json`, or a directory written by
`dmsload suite --results-dir` (its `suite.json` names each profile's summary JSON in
`summary_json`; without that key, `<name>.summary.json` beside it is used). Exit status: 0 the
report was written, 2 RESULTS is not something the report can read (one line naming the file
and the problem), 1 the report could not be written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from dmsload.outputs.suite_index import SuiteEntry, SuiteIndexError, read_suite_index
from dmsload.outputs.summary_json import LoadedSummary, SummaryFileError, load_summary
from dmsload.report.html import SuiteProfile, SuiteResults, render_suite_html, render_summary_html


class ReportInputError(ValueError):
    """RESULTS cannot be reported on; the message is one line naming the file."""


def load_suite(directory: Path) -> SuiteResults:
    """Read a suite results directory: `suite.json` and each profile's summary JSON.

    A profile whose summary is absent (an older suite without `summary_json`, and no
    `<name>.summary.json`) is kept with a note; one that is present but unreadable is an error.
    """
    try:
        index = read_suite_index(directory)
    except SuiteIndexError as exc:
        raise ReportInputError(str(exc)) from None
    profiles = [_suite_profile(item) for item in index.entries]
    return SuiteResults(directory=directory, document=index.document, profiles=profiles)


def _suite_profile(item: SuiteEntry) -> SuiteProfile:
    if not item.named and not item.summary_path.is_file():
        return SuiteProfile(
            item.entry,
            None,
            f"no summary JSON ({item.summary_path.name} is not in the results directory)",
        )
    try:
        summary = load_summary(item.summary_path)
    except SummaryFileError as exc:
        raise ReportInputError(str(exc)) from None
    check_summary(summary)
    return SuiteProfile(item.entry, summary)


def load_results(path: Path) -> LoadedSummary | SuiteResults:
    """A summary JSON file, or a suite results directory; ReportInputError otherwise."""
    if path.is_dir():
        return load_suite(path)
    if not path.exists():
        raise ReportInputError(f"{path}: no such file or directory")
    try:
        summary = load_summary(path)
    except SummaryFileError as exc:
        raise ReportInputError(str(exc)) from None
    check_summary(summary)
    return summary


def check_summary(summary: LoadedSummary) -> None:
    """The parts of the document every report needs: the run's length and its profile."""
    document = summary.document
    state, manifest = document.get("state"), document.get("manifest")
    if not isinstance(state, dict) or not isinstance(state.get("elapsed_s"), int | float):
        raise ReportInputError(f"{summary.path}: state.elapsed_s: missing or not a number")
    if not isinstance(manifest, dict) or not isinstance(manifest.get("profile"), dict):
        raise ReportInputError(f"{summary.path}: manifest.profile: missing or not an object")


def render_results(results: LoadedSummary | SuiteResults) -> str:
    """The HTML page of what `load_results` read."""
    if isinstance(results, SuiteResults):
        return render_suite_html(results)
    return render_summary_html(results)


def write_report(path: Path, text: str) -> None:
    """Write the page next to `path` and rename it into place (OSError when it cannot)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def report(
    results: Annotated[
        Path,
        typer.Argument(
            help="A summary JSON (dmsload run --summary-json) or a suite results directory "
            "(dmsload suite --results-dir).",
            show_default=False,
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path(
        "report.html"
    ),
) -> None:
    """Write one self-contained HTML report (charts, tables, recommendations) of a run or suite.

    The page works offline: the chart library, styles and data are embedded in it.

    Exit status: 0 written, 2 RESULTS cannot be read, 1 the report cannot be written.

    Examples:

    \b
      dmsload report run.summary.json -o report.html
      dmsload report results/20261201T120000Z --output suite-report.html
    """
    try:
        loaded = load_results(results)
    except ReportInputError as exc:
        typer.echo(f"dmsload report: {exc}", err=True)
        raise typer.Exit(2) from None
    text = render_results(loaded)
    try:
        write_report(output, text)
    except OSError as exc:
        typer.echo(f"dmsload report: {output}: cannot write it: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(str(output))
