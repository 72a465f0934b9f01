"""The `dmsload` command line: thin Typer commands that parse, call, print and exit."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from dmsload import __version__, signals
from dmsload.cli_errors import OneLineErrorsGroup
from dmsload.cli_options import (
    AuthStyleOpt,
    CredentialsFileOpt,
    DmsUrlOpt,
    DurationOpt,
    EnvFileOpt,
    EnvOpt,
    IterationsOpt,
    JunitOpt,
    OutOpt,
    ProfileArg,
    RunIdOpt,
    SandboxOpt,
    SeedOpt,
    SummaryJsonOpt,
    SummaryMode,
    TagOpt,
    TimeScaleOpt,
    VusOpt,
    credentials_or_exit,
    fail,
    load_or_exit,
    open_outputs_or_exit,
    target_or_exit,
    writable_or_exit,
)
from dmsload.compare.command import compare as compare_command
from dmsload.dms.data import DataError, RunData
from dmsload.dms.embedded_sandbox import SandboxStartError
from dmsload.dms.sandbox_target import (
    SandboxSetupError,
    SandboxTarget,
    running_sandbox_target,
)
from dmsload.dms.setup_command import setup_command
from dmsload.engine.runner import ExitCode, RunOptions, run_profile
from dmsload.plan import render_plan
from dmsload.profile import Profile
from dmsload.report.command import report as report_command
from dmsload.run_report import ReportOptions, report_run
from dmsload.sandbox.command import sandbox as sandbox_command
from dmsload.suite_command import suite as suite_command

app = typer.Typer(
    name="dmsload",
    cls=OneLineErrorsGroup,
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
    loaded = load_or_exit(profile, vus, duration, iterations, time_scale, env=env)
    for line in render_plan(loaded):
        typer.echo(line)
    typer.echo("\nprofile is valid")


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
    summary_json: SummaryJsonOpt = None,
    junit: JunitOpt = None,
    out: OutOpt = None,
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
    sandbox: SandboxOpt = False,
    seed: SeedOpt = None,
    run_id: RunIdOpt = None,
    dms_url: DmsUrlOpt = None,
    credentials_file: CredentialsFileOpt = None,
    auth_style: AuthStyleOpt = None,
    env_file: EnvFileOpt = None,
) -> None:
    """Run a profile, print the summary, and exit non-zero when a threshold fails.

    Exit status: 0 passed, 99 a threshold failed, 2 bad usage or profile, 1 the run could
    not proceed, 105 interrupted by SIGINT/SIGTERM.

    Examples:

      dmsload run profiles/demo.toml

      dmsload run profiles/demo.toml --time-scale 0.5 --summary-export summary.json

      dmsload run my-one-scenario.toml --vus 5 --duration 30s -v --summary-mode full

      dmsload run profiles/smoke.toml --sandbox

      dmsload run profiles/smoke.toml --sandbox --out json=samples.ndjson.gz --summary-json run.json
    """
    run_data = _run_data(seed, run_id)
    writable_or_exit("--summary-export", summary_export)
    writable_or_exit("--summary-json", summary_json)
    writable_or_exit("--junit", junit)
    target = target_or_exit(
        sandbox=sandbox,
        env=env,
        env_file=env_file,
        insecure=insecure,
        auth_style=auth_style,
        dms_url=dms_url,
        credentials_file=credentials_file,
    )
    loaded = load_or_exit(
        profile,
        vus,
        duration,
        iterations,
        time_scale,
        env=target.env,
        tags=tag,
        trend_stats=summary_trend_stats,
        no_thresholds=no_thresholds,
    )
    credentials_or_exit(target, [loaded])
    report = ReportOptions(
        summary_export=summary_export,
        summary_json=summary_json,
        junit=junit,
        summary_mode=summary_mode.value,
        no_color=no_color,
    )
    options = RunOptions(
        quiet=quiet,
        verbose=verbose,
        insecure=insecure,
        run_data=run_data,
        connection=target.connection,
        outputs=open_outputs_or_exit(out, loaded),
        timeline=summary_json is not None,
    )
    if target.sandbox is None:
        code = report_run(run_profile(loaded, options), loaded, report)
    else:
        code = _run_on_sandbox(target.sandbox, loaded, options, report)
    raise typer.Exit(int(code))


def _run_data(seed: int | None, run_id: str | None) -> RunData:
    try:
        return RunData.create(seed=seed, run_id=run_id)
    except DataError as exc:
        raise fail(f"--run-id: {exc}", ExitCode.USAGE) from None


def _run_on_sandbox(
    target: SandboxTarget, loaded: Profile, options: RunOptions, report: ReportOptions
) -> ExitCode:
    def echo(line: str) -> None:
        typer.echo(line, err=True)

    try:
        with running_sandbox_target(target, echo) as settings:
            options = dataclasses.replace(options, connection=settings)
            return report_run(run_profile(loaded, options), loaded, report)
    except (SandboxStartError, SandboxSetupError) as exc:
        raise fail(str(exc), ExitCode.CANNOT_PROCEED) from None


app.command(name="sandbox")(sandbox_command)
app.command(name="setup")(setup_command)
app.command(name="suite")(suite_command)
app.command(name="report")(report_command)
app.command(name="compare")(compare_command)


def main() -> None:
    """Console-script entry point; SIGINT/SIGTERM outside a run exit 105 without a traceback."""
    signals.install()
    try:
        app()
    except (signals.Interrupted, KeyboardInterrupt):
        typer.echo("dmsload: interrupted", err=True)
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
