"""The `dmsload` command line: thin Typer commands that parse, call, print and exit."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dmsload import __version__
from dmsload.dms.setup_command import setup_command
from dmsload.durations import DurationError, parse_duration_ns
from dmsload.engine.runner import ExitCode, RunOptions, RunResult, run_profile
from dmsload.metrics import SummaryContext, render_summary, write_k6_summary_export
from dmsload.plan import render_plan
from dmsload.profile import (
    Profile,
    ProfileError,
    apply_overrides,
    apply_run_options,
    load_profile,
)
from dmsload.sandbox.command import sandbox as sandbox_command
from dmsload.workloads import builtin_workloads

app = typer.Typer(
    name="dmsload",
    help="Load tests for the Ed-Fi Data Management Service, with k6's executors and thresholds.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"dmsload {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Load tests for the Ed-Fi Data Management Service."""


def _fail(message: str, code: ExitCode) -> typer.Exit:
    typer.echo(f"dmsload: {message}", err=True)
    return typer.Exit(int(code))


def _pairs(option: str, items: list[str] | None) -> dict[str, str]:
    """`KEY=VALUE` items of a repeatable option; exit 2 naming the bad one."""
    pairs: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise _fail(f"{option}: expected KEY=VALUE (got {item!r})", ExitCode.USAGE)
        pairs[key.strip()] = value
    return pairs


def _load(
    profile_path: Path,
    vus: int | None,
    duration: str | None,
    iterations: int | None,
    time_scale: float,
    *,
    env: list[str] | None = None,
    tags: list[str] | None = None,
    trend_stats: str | None = None,
    no_thresholds: bool = False,
) -> Profile:
    """Load a profile and apply the CLI overrides; exit 2 with one line per problem."""
    try:
        duration_ns = None if duration is None else parse_duration_ns(duration)
    except DurationError as exc:
        raise _fail(f"--duration: {exc}", ExitCode.USAGE) from None
    if not time_scale > 0:
        raise _fail(f"--time-scale: must be greater than 0 (got {time_scale!r})", ExitCode.USAGE)
    env_pairs = _pairs("--env", env)
    tag_pairs = _pairs("--tag", tags)
    try:
        profile = load_profile(profile_path, builtin_workloads(), env=env_pairs)
        profile = apply_overrides(profile, vus=vus, duration_ns=duration_ns, iterations=iterations)
        profile = apply_run_options(
            profile,
            tags=tag_pairs,
            trend_stats=None if trend_stats is None else trend_stats.split(","),
            no_thresholds=no_thresholds,
        )
    except ProfileError as exc:
        for line in exc.lines():
            typer.echo(line, err=True)
        raise typer.Exit(int(ExitCode.USAGE)) from None
    return profile.scaled(time_scale)


ProfileArg = Annotated[
    Path, typer.Argument(help="The TOML profile, e.g. profiles/demo.toml.", show_default=False)
]
VusOpt = Annotated[
    int | None, typer.Option("--vus", min=1, help="Override the VUs of a one-scenario profile.")
]
DurationOpt = Annotated[
    str | None,
    typer.Option("--duration", help='Override the duration of a one-scenario profile ("30s").'),
]
IterationsOpt = Annotated[
    int | None,
    typer.Option("--iterations", min=1, help="Run a one-scenario profile as shared-iterations."),
]
EnvOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--env",
        "-e",
        metavar="VAR=VALUE",
        help="Set VAR=VALUE for ${VAR} in the profile (repeatable), as k6's -e.",
    ),
]
TagOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--tag", metavar="KEY=VALUE", help="Add KEY=VALUE to every sample's tags (repeatable)."
    ),
]
TimeScaleOpt = Annotated[
    float,
    typer.Option(
        "--time-scale",
        help="Multiply every duration by F (rates stay the same): 0.01 runs a 4h soak in 2m24s.",
    ),
]


class SummaryMode(enum.StrEnum):
    """How much the end-of-test summary shows."""

    COMPACT = "compact"
    FULL = "full"


@app.command()
def validate(
    profile: ProfileArg,
    vus: VusOpt = None,
    duration: DurationOpt = None,
    iterations: IterationsOpt = None,
    time_scale: TimeScaleOpt = 1.0,
    env: EnvOpt = None,
) -> None:
    """Check a profile and print its plan; sends no request.

    Examples:

      dmsload validate profiles/demo.toml

      dmsload validate profiles/demo.toml --time-scale 0.5
    """
    loaded = _load(profile, vus, duration, iterations, time_scale, env=env)
    for line in render_plan(loaded):
        typer.echo(line)
    typer.echo("\nprofile is valid")


def _write_outputs(result: RunResult, ctx: SummaryContext, summary_export: Path | None) -> bool:
    if summary_export is None:
        return True
    try:
        write_k6_summary_export(summary_export, result.registry, result.thresholds, ctx)
    except OSError as exc:
        typer.echo(f"dmsload: --summary-export {summary_export}: {exc.strerror}", err=True)
        return False
    return True


@app.command()
def run(
    profile: ProfileArg,
    vus: VusOpt = None,
    duration: DurationOpt = None,
    iterations: IterationsOpt = None,
    time_scale: TimeScaleOpt = 1.0,
    summary_export: Annotated[
        Path | None,
        typer.Option("--summary-export", help="Write k6's JSON summary (legacy shape) here."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Log each failed request (rate-limited) to stderr."),
    ] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="Plain summary for CI logs.")
    ] = False,
    summary_mode: Annotated[
        SummaryMode,
        typer.Option(
            "--summary-mode",
            help="compact (k6's default) or full: every metric, and a section per scenario.",
        ),
    ] = SummaryMode.COMPACT,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Do not verify TLS certificates.")
    ] = False,
    env: EnvOpt = None,
    tag: TagOpt = None,
    summary_trend_stats: Annotated[
        str | None,
        typer.Option(
            "--summary-trend-stats",
            help='Trend columns of the summary, e.g. "avg,med,p(95),p(99.9)".',
        ),
    ] = None,
    no_thresholds: Annotated[
        bool, typer.Option("--no-thresholds", help="Do not evaluate thresholds (k6's flag).")
    ] = False,
) -> None:
    """Run a profile, print the summary, and exit non-zero when a threshold fails.

    Exit status: 0 passed, 99 a threshold failed, 2 bad usage or profile, 1 the run could
    not proceed, 105 interrupted by SIGINT/SIGTERM.

    Examples:

      dmsload run profiles/demo.toml

      dmsload run profiles/demo.toml --time-scale 0.5 --summary-export summary.json

      dmsload run my-one-scenario.toml --vus 5 --duration 30s -v --summary-mode full
    """
    loaded = _load(
        profile,
        vus,
        duration,
        iterations,
        time_scale,
        env=env,
        tags=tag,
        trend_stats=summary_trend_stats,
        no_thresholds=no_thresholds,
    )
    result = run_profile(loaded, RunOptions(quiet=quiet, verbose=verbose, insecure=insecure))
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
    ctx = SummaryContext(
        elapsed_s=result.elapsed_s,
        trend_stats=loaded.summary_trend_stats,
        scenarios=result.scenario_names,
        interrupted=result.interrupted,
        notes=notes,
        mode=summary_mode.value,
    )
    exported = _write_outputs(result, ctx, summary_export)
    console = Console(no_color=no_color, highlight=False, soft_wrap=True)
    render_summary(result.registry, result.thresholds, ctx, console)
    code = result.exit_code
    if not exported and code == ExitCode.OK:
        code = ExitCode.CANNOT_PROCEED
    sys.stdout.flush()
    raise typer.Exit(int(code))


app.command(name="sandbox")(sandbox_command)
app.command(name="setup")(setup_command)


def main() -> None:
    """Console-script entry point; a Ctrl-C outside a run exits 105 without a traceback."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("dmsload: interrupted", err=True)
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
