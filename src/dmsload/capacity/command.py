"""The `dmsload capacity` command: parse, run the search (and the soak), print, exit."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from dmsload.capacity.options import (
    CapacityError,
    CapacityOptions,
    KneeRules,
    StepRule,
    parse_factor,
    parse_fraction,
)
from dmsload.capacity.render import step_line, table_lines
from dmsload.capacity.search import CapacityResult, run_soak, run_steps
from dmsload.cli_options import (
    AuthStyleOpt,
    CredentialsFileOpt,
    DmsUrlOpt,
    EnvFileOpt,
    EnvOpt,
    JunitOpt,
    ProfileArg,
    SandboxArgOpt,
    SandboxOpt,
    SummaryJsonOpt,
    credentials_or_exit,
    fail,
    load_or_exit,
    target_or_exit,
    writable_or_exit,
)
from dmsload.dms.data import RunData
from dmsload.dms.embedded_sandbox import SandboxStartError
from dmsload.dms.sandbox_target import SandboxSetupError, SandboxTarget, running_sandbox_target
from dmsload.durations import DurationError, parse_duration_ns
from dmsload.engine.runner import ExitCode, RunOptions
from dmsload.outputs.summary_json import write_summary_json
from dmsload.profile import Profile
from dmsload.run_report import ReportOptions, report_run, summary_context
from dmsload.run_summary import summary_document
from dmsload.scale_options import WorkersOpt, workers_or_exit
from dmsload.settings import ConnectionSettings


def _echo(line: str) -> None:
    typer.echo(line, err=True)


def _duration_ns(flag: str, text: str, *, allow_zero: bool = False) -> int:
    try:
        value = parse_duration_ns(text)
    except DurationError as exc:
        raise fail(f"{flag}: {exc}", ExitCode.USAGE) from None
    if value <= 0 and not allow_zero:
        raise fail(f"{flag}: must be more than 0 (got {text!r})", ExitCode.USAGE)
    return value


def _scenario_or_exit(profile: Profile, name: str | None) -> str:
    if name is not None:
        if name not in profile.scenarios:
            known = ", ".join(profile.scenarios)
            raise fail(
                f"--scenario: {profile.source} has no scenario {name!r} (it has: {known})",
                ExitCode.USAGE,
            )
        return name
    if len(profile.scenarios) != 1:
        known = ", ".join(profile.scenarios)
        raise fail(
            f"--scenario: {profile.source} has {len(profile.scenarios)} scenarios ({known}); "
            "name the one to drive",
            ExitCode.USAGE,
        )
    return next(iter(profile.scenarios))


def _options_or_exit(
    *,
    start: int,
    step: str,
    step_duration: str,
    warmup: str,
    max_rate: int | None,
    max_steps: int,
    max_vus: int | None,
    knee_throughput: str,
    knee_p95: str,
    knee_p95_min_rise: str,
    knee_errors: str,
    generator_cpu: str,
    then_soak: str | None,
    soak_at: str,
) -> CapacityOptions:
    try:
        rules = KneeRules(
            min_throughput=parse_fraction("--knee-throughput", knee_throughput, allow_off=True),
            max_p95_growth=parse_factor("--knee-p95", knee_p95),
            max_error_rate=parse_fraction("--knee-errors", knee_errors, allow_off=True),
            min_p95_rise_ms=_duration_ns("--knee-p95-min-rise", knee_p95_min_rise, allow_zero=True)
            / 1e6,
        )
        options = CapacityOptions(
            start_rate=start,
            step=StepRule.parse(step),
            step_duration_ns=_duration_ns("--step-duration", step_duration),
            warmup_ns=_duration_ns("--warmup", warmup, allow_zero=True),
            max_rate=max_rate,
            max_steps=max_steps,
            rules=rules,
            generator_cpu_limit=parse_fraction("--generator-cpu", generator_cpu) or 0.9,
            max_vus=max_vus,
            soak_ns=0 if then_soak is None else _duration_ns("--then-soak", then_soak),
            soak_fraction=parse_fraction("--soak-at", soak_at) or 0.7,
        )
    except CapacityError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    problems = options.problems()
    if problems:
        raise fail(problems[0], ExitCode.USAGE)
    return options


@contextmanager
def _connection(
    sandbox: SandboxTarget | None, connection: ConnectionSettings
) -> Iterator[ConnectionSettings]:
    """The run's connection: the given one, or the embedded sandbox's while it runs."""
    if sandbox is None:
        yield connection
        return
    with running_sandbox_target(sandbox, _echo) as settings:
        yield settings


def capacity(
    profile: ProfileArg,
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", help="The scenario to drive (needed when there are several)."),
    ] = None,
    start: Annotated[
        int, typer.Option("--start", help="Offered rate of the first step, iterations/s.")
    ] = 10,
    step: Annotated[
        str, typer.Option("--step", help="How each step grows: +N adds N/s, xF multiplies by F.")
    ] = "x1.25",
    step_duration: Annotated[
        str, typer.Option("--step-duration", help='How long each step holds its rate, e.g. "30s".')
    ] = "30s",
    warmup: Annotated[
        str,
        typer.Option(
            "--warmup",
            help="Run the first rate this long before step 1; its samples are kept out of "
            'every figure, e.g. "3m".',
        ),
    ] = "0s",
    max_rate: Annotated[
        int | None,
        typer.Option("--max-rate", help="Stop after the step at this rate, iterations/s."),
    ] = None,
    max_steps: Annotated[int, typer.Option("--max-steps", help="Stop after this many steps.")] = 30,
    max_vus: Annotated[
        int | None,
        typer.Option(
            "--max-vus", help="VU ceiling of every step (default: the step's rate, 10 to 5,000)."
        ),
    ] = None,
    knee_throughput: Annotated[
        str,
        typer.Option(
            "--knee-throughput",
            help="Past the knee when the achieved rate is below this share of the offered one "
            "(or off).",
        ),
    ] = "95%",
    knee_p95: Annotated[
        str,
        typer.Option(
            "--knee-p95",
            help="Past the knee when p95 exceeds this multiple of the previous step's (or off).",
        ),
    ] = "1.5",
    knee_p95_min_rise: Annotated[
        str,
        typer.Option(
            "--knee-p95-min-rise",
            help='The p95 rule also needs p95 to rise by at least this much, e.g. "10ms".',
        ),
    ] = "10ms",
    knee_errors: Annotated[
        str,
        typer.Option(
            "--knee-errors", help="Past the knee when the error rate exceeds this (or off)."
        ),
    ] = "1%",
    generator_cpu: Annotated[
        str,
        typer.Option(
            "--generator-cpu",
            help="The generator is the limit when its event loop uses this share of one core.",
        ),
    ] = "90%",
    then_soak: Annotated[
        str | None,
        typer.Option("--then-soak", help='After the knee, soak this long below it, e.g. "60m".'),
    ] = None,
    soak_at: Annotated[
        str, typer.Option("--soak-at", help="The soak's rate, as a share of the knee.")
    ] = "70%",
    summary_export: Annotated[
        Path | None,
        typer.Option("--summary-export", help="Write k6's JSON summary of the steps here."),
    ] = None,
    summary_json: SummaryJsonOpt = None,
    junit: JunitOpt = None,
    workers: WorkersOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="Plain summary for CI logs.")
    ] = False,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Do not verify TLS certificates.")
    ] = False,
    env: EnvOpt = None,
    sandbox: SandboxOpt = False,
    sandbox_arg: SandboxArgOpt = None,
    dms_url: DmsUrlOpt = None,
    credentials_file: CredentialsFileOpt = None,
    auth_style: AuthStyleOpt = None,
    env_file: EnvFileOpt = None,
) -> None:
    """Find the knee: step the offered rate up until the target stops keeping up.

    Each step runs the scenario's workload with constant-arrival-rate for --step-duration. The
    search stops at the first step whose achieved rate falls below 95% of the offered one,
    whose p95 is over 1.5x the previous step's, or whose error rate is over 1%; the knee is
    the last good step's rate. If dmsload itself was the limit (its CPU, or iterations
    starting late), the knee is "not found". Exit status: 0 searched (and the soak passed),
    99 a soak threshold failed, 1 the generator was the limit or the run failed, 2 bad usage,
    105 interrupted. With --workers N, each step's rate (and the soak's) is split over N
    processes; every step is judged on their merged figures, and a step is generator-limited
    if any worker was.

    Examples:

      dmsload capacity profiles/capacity.toml --start 100 --step +50 --step-duration 10s

      dmsload capacity profiles/mixed-crud.toml --warmup 3m --step x1.25 --then-soak 60m

      dmsload capacity profiles/capacity.toml --workers auto --start 1000 --step +500
    """
    options = _options_or_exit(
        start=start,
        step=step,
        step_duration=step_duration,
        warmup=warmup,
        max_rate=max_rate,
        max_steps=max_steps,
        max_vus=max_vus,
        knee_throughput=knee_throughput,
        knee_p95=knee_p95,
        knee_p95_min_rise=knee_p95_min_rise,
        knee_errors=knee_errors,
        generator_cpu=generator_cpu,
        then_soak=then_soak,
        soak_at=soak_at,
    )
    count = workers_or_exit(workers)
    for flag, path in (
        ("--summary-export", summary_export),
        ("--summary-json", summary_json),
        ("--junit", junit),
    ):
        writable_or_exit(flag, path)
    target = target_or_exit(
        sandbox=sandbox,
        sandbox_args=sandbox_arg,
        env=env,
        env_file=env_file,
        insecure=insecure,
        auth_style=auth_style,
        dms_url=dms_url,
        credentials_file=credentials_file,
    )
    loaded = load_or_exit(profile, None, None, None, 1.0, env=target.env)
    name = _scenario_or_exit(loaded, scenario)
    credentials_or_exit(target, [loaded])
    # the engine's progress would draw a line per step scenario, waiting ones included; the
    # judge prints one line per step instead
    run_options = RunOptions(
        quiet=True, insecure=insecure, connection=target.connection, timeline=True
    )
    report = ReportOptions(summary_export=summary_export, junit=junit, no_color=no_color)
    try:
        with _connection(target.sandbox, target.connection) as settings:
            run_options = dataclasses.replace(
                run_options, connection=settings, run_data=RunData.create()
            )
            code = _search(loaded, name, options, run_options, report, summary_json, quiet, count)
    except (SandboxStartError, SandboxSetupError) as exc:
        raise fail(str(exc), ExitCode.CANNOT_PROCEED) from None
    raise typer.Exit(int(code))


def _search(
    profile: Profile,
    scenario: str,
    options: CapacityOptions,
    run_options: RunOptions,
    report: ReportOptions,
    summary_json: Path | None,
    quiet: bool,
    workers: int = 1,
) -> ExitCode:
    on_step = None if quiet else (lambda figures: _echo(step_line(figures)))
    if not quiet:
        rates = options.rates()
        _echo(
            f"dmsload capacity: scenario {scenario}: steps of {options.step_duration_ns / 1e9:g} s "
            f"from {rates[0]:,}/s ({options.step.text()}) until the knee, at most {len(rates)} "
            f"steps up to {rates[-1]:,}/s"
            + (f", after a {options.warmup_ns / 1e9:g} s warm-up" if options.warmup_ns else "")
            + (f", over {workers} worker processes" if workers > 1 else "")
        )
    result = run_steps(profile, scenario, options, run_options, on_step, workers)
    code = report_run(result.run, result.profile, report)
    _print_table(result)
    soak_code = ExitCode.OK
    verdict = result.verdict
    if options.soak_ns > 0 and code == ExitCode.OK:
        if verdict.found and verdict.rate is not None:
            _echo(
                f"dmsload capacity: soaking at {options.soak_fraction:.0%} of the knee "
                f"({max(1, round(verdict.rate * options.soak_fraction)):,}/s)"
            )
            result.soak = run_soak(profile, scenario, verdict.rate, options, run_options, workers)
            typer.echo("\n█ SOAK")
            soak_code = report_run(
                result.soak.result, result.soak.profile, ReportOptions(no_color=report.no_color)
            )
        else:
            _echo("dmsload capacity: no knee, so no soak")
    if summary_json is not None and not _write_summary(result, summary_json, report):
        code = ExitCode.CANNOT_PROCEED if code == ExitCode.OK else code
    if code != ExitCode.OK:
        return code
    if verdict.reason == "generator":
        return ExitCode.CANNOT_PROCEED
    return soak_code


def _print_table(result: CapacityResult) -> None:
    typer.echo(f"\n█ CAPACITY  scenario {result.scenario} (workload {result.workload})\n")
    for line in table_lines(result.steps, result.verdict):
        typer.echo("  " + line if line else "")


def _write_summary(result: CapacityResult, path: Path, report: ReportOptions) -> bool:
    ctx = summary_context(result.run, result.profile, report.summary_mode)
    document = summary_document(result.run, result.profile, ctx)
    document["capacity"] = result.to_json()
    try:
        write_summary_json(path, document)
    except OSError as exc:
        _echo(f"dmsload: --summary-json {path}: {exc.strerror or exc}")
        return False
    return True
