"""The `dmsload` command line: thin Typer commands that parse, call, print and exit."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from dmsload import __version__, signals
from dmsload.cli_lazy import LazyCommand, LazyCommandsGroup
from dmsload.cli_options import (
    AuthStyleOpt,
    CredentialsFileOpt,
    DescriptorNamespaceOpt,
    DmsUrlOpt,
    DurationOpt,
    EnvFileOpt,
    EnvOpt,
    IterationsOpt,
    JunitOpt,
    K6SummaryOpt,
    K6TagsOpt,
    OutOpt,
    ProfileArg,
    ResourcesSpecOpt,
    RunIdOpt,
    SandboxArgOpt,
    SandboxOpt,
    SeedOpt,
    SummaryJsonOpt,
    SummaryMode,
    TagOpt,
    TimeoutOpt,
    TimeScaleOpt,
    VusOpt,
    credentials_or_exit,
    fail,
    load_or_exit,
    load_or_report,
    open_outputs_or_exit,
    target_or_exit,
    with_request_timeout,
    writable_or_exit,
)
from dmsload.dms.data import DataError, RunData
from dmsload.dms.embedded_sandbox import SandboxStartError
from dmsload.dms.sandbox_target import (
    SandboxSetupError,
    SandboxTarget,
    running_sandbox_target,
)
from dmsload.engine.runner import ExitCode, RunOptions, RunResult, run_profile
from dmsload.engine.segments import SegmentChoice
from dmsload.engine.workers import run_workers
from dmsload.plan import render_plan
from dmsload.profile import Profile
from dmsload.run_report import ReportOptions, report_run
from dmsload.scale_options import (
    SegmentOpt,
    SegmentSequenceOpt,
    StartAtOpt,
    WorkersOpt,
    segment_or_exit,
    start_at_or_exit,
    workers_or_exit,
)


class DmsloadGroup(LazyCommandsGroup):
    """`dmsload`: `validate` and `run` (defined here), then the subcommands of other modules,
    each imported only when used (a `dmsload run` starts without loading `capacity`)."""

    lazy_commands = (
        LazyCommand("sandbox", "dmsload.sandbox.command", "sandbox"),
        LazyCommand("setup", "dmsload.dms.setup_command", "setup_command"),
        LazyCommand("suite", "dmsload.suite_command", "suite"),
        LazyCommand("capacity", "dmsload.capacity.command", "capacity"),
        LazyCommand("report", "dmsload.report.command", "report"),
        LazyCommand("compare", "dmsload.compare.command", "compare"),
        LazyCommand("merge", "dmsload.merge.command", "merge"),
        LazyCommand("rendezvous", "dmsload.rendezvous.command", "rendezvous"),
    )


app = typer.Typer(
    name="dmsload",
    cls=DmsloadGroup,
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


ProfilesArg = Annotated[
    list[Path],
    typer.Argument(help="One or more TOML profiles, e.g. profiles/*.toml.", show_default=False),
]


@app.command()
def validate(
    profiles: ProfilesArg,
    vus: VusOpt = None,
    duration: DurationOpt = None,
    iterations: IterationsOpt = None,
    time_scale: TimeScaleOpt = 1.0,
    env: EnvOpt = None,
    execution_segment: SegmentOpt = None,
    execution_segment_sequence: SegmentSequenceOpt = None,
) -> None:
    """Check profiles (or one execution segment of each); sends no request. One file:
    print its plan. Several: one line per valid file, every problem of the invalid ones,
    and exit 2 naming each invalid file.

    Examples:

    \b
      dmsload validate profiles/demo.toml
      dmsload validate profiles/demo.toml --time-scale 0.5
      dmsload validate profiles/*.toml
      dmsload validate profiles/demo.toml --execution-segment 1/4:2/4 \\
        --execution-segment-sequence 0,1/4,2/4,3/4,1
    """
    choice = segment_or_exit(execution_segment, execution_segment_sequence)
    invalid: list[Path] = []
    for path in profiles:
        loaded = load_or_report(path, vus, duration, iterations, time_scale, env=env)
        if loaded is None:
            invalid.append(path)
            continue
        if choice is not None:
            loaded = loaded.for_segment(choice)
        if len(profiles) == 1:
            for line in render_plan(loaded):
                typer.echo(line)
            typer.echo("\nprofile is valid")
        else:
            count = len(loaded.scenarios)
            scenarios = "scenario" if count == 1 else "scenarios"
            typer.echo(f"ok  {path}: {loaded.name!r}, {count} {scenarios}")
    if invalid and len(profiles) > 1:
        names = ", ".join(str(path) for path in invalid)
        raise fail(f"{len(invalid)} of {len(profiles)} profiles invalid: {names}", ExitCode.USAGE)
    if invalid:
        raise typer.Exit(int(ExitCode.USAGE))
    if len(profiles) > 1:
        typer.echo(f"{len(profiles)} profiles are valid")


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
    k6_summary: K6SummaryOpt = None,
    junit: JunitOpt = None,
    out: OutOpt = None,
    k6_tags: K6TagsOpt = False,
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
            help="compact (k6's default); full: every metric, and a section per scenario; "
            "legacy: k6's v0.x text summary, for text scrapers such as k6-to-junit.",
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
    sandbox_arg: SandboxArgOpt = None,
    seed: SeedOpt = None,
    run_id: RunIdOpt = None,
    dms_url: DmsUrlOpt = None,
    credentials_file: CredentialsFileOpt = None,
    auth_style: AuthStyleOpt = None,
    env_file: EnvFileOpt = None,
    timeout: TimeoutOpt = None,
    execution_segment: SegmentOpt = None,
    execution_segment_sequence: SegmentSequenceOpt = None,
    start_at: StartAtOpt = None,
    workers: WorkersOpt = None,
    resources_spec: ResourcesSpecOpt = None,
    descriptor_namespace: DescriptorNamespaceOpt = None,
) -> None:
    """Run a profile, print the summary, and exit non-zero when a threshold fails.

    Exit status: 0 passed, 99 a threshold failed, 2 bad usage or profile, 1 the run could
    not proceed, 105 interrupted by SIGINT/SIGTERM.

    Examples:

    \b
      dmsload run profiles/demo.toml
      dmsload run profiles/demo.toml --time-scale 0.5 --summary-export summary.json
      dmsload run my-one-scenario.toml --vus 5 --duration 30s --timeout 10 -v --summary-mode full
      dmsload run profiles/smoke.toml --sandbox
      dmsload run profiles/smoke.toml --sandbox --out json=samples.ndjson.gz --summary-json run.json

      dmsload run profiles/smoke.toml --sandbox --k6-summary k6.json --summary-mode legacy
      dmsload run profiles/demo.toml --execution-segment 1/4:2/4 \\
        --execution-segment-sequence 0,1/4,2/4,3/4,1 --run-id 0badcafe

      dmsload run profiles/smoke.toml --sandbox --workers auto
    """
    choice = segment_or_exit(execution_segment, execution_segment_sequence)
    count = workers_or_exit(workers)
    if count > 1 and choice is not None:
        raise fail(
            f"--workers: {count} workers split the whole test; run one part per machine with "
            "--execution-segment instead, not both",
            ExitCode.USAGE,
        )
    run_data = _run_data(seed, run_id, choice)
    writable_or_exit("--summary-export", summary_export)
    writable_or_exit("--summary-json", summary_json)
    writable_or_exit("--k6-summary", k6_summary)
    writable_or_exit("--junit", junit)
    target = target_or_exit(
        sandbox=sandbox,
        sandbox_args=sandbox_arg,
        env=env,
        env_file=env_file,
        insecure=insecure,
        auth_style=auth_style,
        dms_url=dms_url,
        credentials_file=credentials_file,
        timeout_s=timeout,
        resources_spec=resources_spec,
        descriptor_namespace=descriptor_namespace,
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
    loaded = with_request_timeout(loaded, timeout)
    if choice is not None:
        loaded = loaded.for_segment(choice)
    credentials_or_exit(target, [loaded])
    start_at_s = start_at_or_exit(start_at)
    report = ReportOptions(
        summary_export=summary_export,
        summary_json=summary_json,
        k6_summary=k6_summary,
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
        outputs=open_outputs_or_exit(out, loaded, k6_tags),
        timeline=summary_json is not None,
        start_at=start_at_s,
    )
    runner = _runner(count)
    if target.sandbox is None:
        code = report_run(runner(loaded, options), loaded, report)
    else:
        code = _run_on_sandbox(target.sandbox, loaded, options, report, runner)
    raise typer.Exit(int(code))


def _runner(workers: int) -> Callable[[Profile, RunOptions], RunResult]:
    """One process for 1 worker (no extra process), else a pool of worker processes."""
    if workers == 1:
        return run_profile
    return lambda profile, options: run_workers(profile, options, workers)


def _run_data(seed: int | None, run_id: str | None, choice: SegmentChoice | None) -> RunData:
    worker, workers = (0, 1) if choice is None else (choice.part.index, choice.part.parts)
    try:
        return RunData.create(seed=seed, run_id=run_id, worker=worker, workers=workers)
    except DataError as exc:
        raise fail(f"--run-id: {exc}", ExitCode.USAGE) from None


def _run_on_sandbox(
    target: SandboxTarget,
    loaded: Profile,
    options: RunOptions,
    report: ReportOptions,
    runner: Callable[[Profile, RunOptions], RunResult] = run_profile,
) -> ExitCode:
    def echo(line: str) -> None:
        typer.echo(line, err=True)

    try:
        with running_sandbox_target(target, echo) as settings:
            options = dataclasses.replace(options, connection=settings)
            return report_run(runner(loaded, options), loaded, report)
    except (SandboxStartError, SandboxSetupError) as exc:
        raise fail(str(exc), ExitCode.CANNOT_PROCEED) from None


def main() -> None:
    """Console-script entry point; SIGINT/SIGTERM outside a run exit 105 without a traceback."""
    signals.install()
    try:
        app()
    except (signals.Interrupted, KeyboardInterrupt):
        typer.echo("dmsload: interrupted", err=True)
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
    finally:
        signals.ignore()  # everything is written: a signal while exiting keeps the status
        gc.freeze()  # the interpreter's exit then skips scanning the heap: a quarter second of CPU
