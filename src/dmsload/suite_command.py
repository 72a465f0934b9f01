"""The `dmsload suite` command: parse, load every profile, run the suite, print the overview."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from dmsload.cli_options import (
    AuthStyleOpt,
    CredentialsFileOpt,
    DmsUrlOpt,
    EnvFileOpt,
    EnvOpt,
    SandboxArgOpt,
    SandboxOpt,
    SeedOpt,
    SummaryMode,
    TimeoutOpt,
    TimeScaleOpt,
    credentials_or_exit,
    fail,
    load_or_exit,
    target_or_exit,
    with_request_timeout,
)
from dmsload.dms.embedded_sandbox import SandboxStartError
from dmsload.dms.sandbox_target import (
    SandboxSetupError,
    running_sandbox_target,
)
from dmsload.durations import DurationError, parse_duration_ns
from dmsload.engine.runner import ExitCode, RunOptions
from dmsload.run_report import ReportOptions
from dmsload.scale_options import StartAtOpt, WorkersOpt, start_at_or_exit, workers_or_exit
from dmsload.suite import DEFAULT_ORDER, Suite, SuiteOptions, SuiteProfile, overview_lines

DEFAULT_COOLDOWN_S = 30.0


def _echo(line: str) -> None:
    typer.echo(line, err=True)


def default_profiles_dir() -> Path:
    """`profiles/` in the working directory, else the one in dmsload's checkout."""
    local = Path("profiles")
    if local.is_dir():
        return local
    checkout = Path(__file__).resolve().parents[2] / local
    return checkout if checkout.is_dir() else local


def _results_dir_or_exit(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(f"--results-dir {path}: {exc.strerror or exc}", ExitCode.USAGE) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise fail(f"--results-dir {path}: permission denied", ExitCode.USAGE)
    return path


def resolve_profile_paths(items: list[str] | None, profiles_dir: Path) -> list[tuple[str, Path]]:
    """(name, path) of each profile: a name is `profiles_dir/<name>.toml`, a path is a path."""
    names = items or list(DEFAULT_ORDER)
    resolved = []
    for item in (part.strip() for entry in names for part in entry.split(",")):
        if not item:
            continue
        path = Path(item)
        if path.suffix != ".toml":
            path = profiles_dir / f"{item}.toml"
        if not path.is_file():
            raise fail(f"--profiles: no profile file {str(path)!r} (got {item!r})", ExitCode.USAGE)
        resolved.append((path.stem, path))
    if not resolved:
        raise fail("--profiles: no profile given", ExitCode.USAGE)
    return resolved


def _cooldown_s(cooldown: str | None, time_scale: float) -> float:
    if cooldown is None:
        return DEFAULT_COOLDOWN_S * time_scale
    try:
        return parse_duration_ns(cooldown) / 1e9
    except DurationError as exc:
        raise fail(f"--cooldown: {exc}", ExitCode.USAGE) from None


def suite(
    profiles: Annotated[
        list[str] | None,
        typer.Option(
            "--profiles",
            help="Profiles to run, in order: names in --profiles-dir or .toml paths "
            "(repeatable or comma-separated). Default: the strategy's seven.",
        ),
    ] = None,
    profiles_dir: Annotated[
        Path | None,
        typer.Option(
            "--profiles-dir",
            help="Where profile names are looked up (default: ./profiles, else the checkout's).",
        ),
    ] = None,
    cooldown: Annotated[
        str | None,
        typer.Option(
            "--cooldown", help='Pause between profiles, e.g. "30s" (default: 30s × --time-scale).'
        ),
    ] = None,
    results_dir: Annotated[
        Path | None,
        typer.Option(
            "--results-dir", help="Where exports and suite.json go (default results/<UTC time>)."
        ),
    ] = None,
    keep_going: Annotated[
        bool, typer.Option("--keep-going", help="Run every profile even after one fails.")
    ] = False,
    time_scale: TimeScaleOpt = 1.0,
    sandbox: SandboxOpt = False,
    sandbox_arg: SandboxArgOpt = None,
    seed: SeedOpt = None,
    env: EnvOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="Plain summaries for CI logs.")
    ] = False,
    summary_mode: Annotated[
        SummaryMode,
        typer.Option("--summary-mode", help="compact, full or legacy (k6 v0.x) summaries."),
    ] = SummaryMode.COMPACT,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Do not verify TLS certificates.")
    ] = False,
    dms_url: DmsUrlOpt = None,
    credentials_file: CredentialsFileOpt = None,
    auth_style: AuthStyleOpt = None,
    env_file: EnvFileOpt = None,
    timeout: TimeoutOpt = None,
    start_at: StartAtOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Run the strategy's profiles in order and end with a one-table overview.

    Default order: baseline, concurrent, bulk-load, mixed-crud, query-performance, spike,
    sustained. Exit status: the worst of the profiles' (105 > 1 > 2 > 99 > 0).

    Examples:

    \b
      dmsload suite --sandbox --time-scale 0.005
      dmsload suite --profiles baseline,mixed-crud --cooldown 1m --keep-going
    """
    count = workers_or_exit(workers)
    paths = resolve_profile_paths(profiles, profiles_dir or default_profiles_dir())
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
    )
    loaded = [
        SuiteProfile(
            name,
            path,
            with_request_timeout(
                load_or_exit(path, None, None, None, time_scale, env=target.env), timeout
            ),
        )
        for name, path in paths
    ]
    credentials_or_exit(target, [item.profile for item in loaded])
    start_at_s = start_at_or_exit(start_at)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    options = SuiteOptions(
        results_dir=_results_dir_or_exit(results_dir or Path("results") / stamp),
        cooldown_s=_cooldown_s(cooldown, time_scale),
        keep_going=keep_going,
        seed=seed,
        run_options=RunOptions(
            quiet=quiet, insecure=insecure, connection=target.connection, start_at=start_at_s
        ),
        report=ReportOptions(summary_mode=summary_mode.value, no_color=no_color),
        workers=count,
    )
    runner = Suite(loaded, options, _echo)
    try:
        if target.sandbox is None:
            code = runner.run()
        else:
            with running_sandbox_target(target.sandbox, _echo) as settings:
                runner.options.run_options.connection = settings
                code = runner.run()
    except (SandboxStartError, SandboxSetupError) as exc:
        raise fail(str(exc), ExitCode.CANNOT_PROCEED) from None
    typer.echo("\n█ SUITE\n")
    for line in overview_lines(runner.outcomes, runner.not_run):
        typer.echo("  " + line)
    typer.echo(f"\n  results: {options.results_dir}")
    raise typer.Exit(int(code))
