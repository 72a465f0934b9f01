"""The `dmsload compare` command: parse the rules, read the inputs, compare, print, exit.

Inputs are two summary JSONs (`--summary-json`), or two suite results directories (`dmsload
suite --results-dir`), whose `suite.json` lists the profiles; those are paired by name and a
profile on one side only is reported, not compared. Exit status: 0 no regression, 99 a
`--fail-on` rule was broken (k6's threshold code), 2 bad usage or input, including a rule that
matches no sample in either run (a typo must not pass the gate).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dmsload.cli_options import fail
from dmsload.compare.render import json_document, markdown, terminal_lines
from dmsload.compare.rules import Rule, RuleError, parse_rules
from dmsload.compare.table import Report, check_rules_match, compare_summaries
from dmsload.engine.runner import ExitCode
from dmsload.jsonfiles import write_json_atomically
from dmsload.outputs.suite_index import SuiteIndexError, read_suite_index
from dmsload.outputs.summary_json import SummaryFileError, load_summary


class CompareInputError(ValueError):
    """Inputs that cannot be compared; the message is one line naming the path."""


def compare(
    baseline: Annotated[
        Path,
        typer.Argument(
            help="The reference: a summary JSON, or a suite results directory.",
            show_default=False,
        ),
    ],
    current: Annotated[
        Path,
        typer.Argument(
            help="The run to judge: the same kind of input as BASELINE.", show_default=False
        ),
    ],
    fail_on: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-on",
            metavar="RULE",
            help="Exit 99 when a change passes this limit: [SELECTOR:]STAT OP CHANGE, e.g. "
            "'p(95)>+10%', 'http_req_failed:rate>+1pp', 'rps<-10%', "
            "'http_req_duration{name:*}:p(99)>+50ms' (repeatable).",
            show_default=False,
        ),
    ] = None,
    markdown_out: Annotated[
        Path | None,
        typer.Option(
            "--markdown",
            help="Also write the comparison as GitHub Markdown (PR comment, step summary).",
            show_default=False,
        ),
    ] = None,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Also write the comparison as JSON.", show_default=False),
    ] = None,
) -> None:
    """Compare two runs: p50/p95/p99, error rate and throughput, per metric and request name.

    Each row shows baseline, current, the change in the stat's unit and in percent. With
    --fail-on, a change past a rule's limit is a regression: exit 99. Two suite results
    directories compare profile by profile.

    Examples:

    \b
      dmsload compare base.summary.json new.summary.json --fail-on 'p(95)>+10%'
      dmsload compare results/nightly-1 results/nightly-2 --fail-on 'rps<-10%' --markdown cmp.md
    """
    try:
        rules = parse_rules(fail_on)
    except RuleError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    try:
        report = build_report(baseline, current, rules)
    except (CompareInputError, SummaryFileError, RuleError) as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    code = ExitCode.THRESHOLDS_FAILED if report.regressions else ExitCode.OK
    for line in terminal_lines(report):
        typer.echo(line)
    _write_outputs(report, markdown_out, json_out, code)
    raise typer.Exit(int(code))


def _write_outputs(
    report: Report, markdown_out: Path | None, json_out: Path | None, code: ExitCode
) -> None:
    try:
        if markdown_out is not None:
            markdown_out.write_text(markdown(report), encoding="utf-8")
        if json_out is not None:
            write_json_atomically(json_out, json_document(report, int(code)))
    except OSError as exc:
        path = exc.filename or markdown_out or json_out
        raise fail(f"compare: cannot write {path}: {exc.strerror or exc}", ExitCode.USAGE) from None


def build_report(baseline: Path, current: Path, rules: list[Rule]) -> Report:
    """Compare two summary files, or two suite directories profile by profile."""
    for path in (baseline, current):
        if not path.exists():
            raise CompareInputError(f"{path}: no such file or directory")
    if baseline.is_dir() != current.is_dir():
        directory, other = (baseline, current) if baseline.is_dir() else (current, baseline)
        raise CompareInputError(
            f"{directory} is a directory but {other} is not: compare two summary JSONs "
            "or two suite results directories"
        )
    if not baseline.is_dir():
        comparison = compare_summaries(load_summary(baseline), load_summary(current), rules)
        report = Report(baseline, current, [comparison])
        check_rules_match(report, rules)
        return report
    before, after = suite_summaries(baseline), suite_summaries(current)
    report = Report(
        baseline,
        current,
        comparisons=[],
        only_in_baseline=[name for name in before if name not in after],
        only_in_current=[name for name in after if name not in before],
        directories=True,
    )
    for name, path in before.items():
        if name in after:
            pair = load_summary(path), load_summary(after[name])
            report.comparisons.append(compare_summaries(*pair, rules, name=name))
    check_rules_match(report, rules)
    return report


def suite_summaries(directory: Path) -> dict[str, Path]:
    """Each profile of a suite results directory and its summary JSON, in suite order; a
    profile that ran twice is named `<name>#2` the second time."""
    try:
        index = read_suite_index(directory)
    except SuiteIndexError as exc:
        raise CompareInputError(str(exc)) from None
    found: dict[str, Path] = {}
    for item in index.entries:
        key, repeat = item.name, 1
        while key in found:
            repeat += 1
            key = f"{item.name}#{repeat}"
        found[key] = item.summary_path
    return found
