"""What the `dmsload` commands share: option types, usage errors and profile loading."""

from __future__ import annotations

import dataclasses
import enum
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from dmsload.cli_errors import parse_problem
from dmsload.dms.sandbox_target import SandboxTarget, plan_sandbox_target
from dmsload.durations import DurationError, parse_duration_ns
from dmsload.engine.runner import ExitCode
from dmsload.outputs.base import DMSLOAD_TAGS, Output, OutputContext, OutputError
from dmsload.outputs.spec import parse_output
from dmsload.outputs.tap import Clock
from dmsload.profile import (
    Profile,
    ProfileError,
    apply_overrides,
    apply_run_options,
    load_profile,
)
from dmsload.settings import ConnectionSettings, SettingsError, load_settings
from dmsload.workloads import builtin_workloads


def fail(message: str, code: ExitCode) -> typer.Exit:
    typer.echo(f"dmsload: {message}", err=True)
    return typer.Exit(int(code))


def pairs(option: str, items: list[str] | None) -> dict[str, str]:
    """`KEY=VALUE` items of a repeatable option; exit 2 naming the bad one."""
    pairs: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise fail(f"{option}: expected KEY=VALUE (got {item!r})", ExitCode.USAGE)
        pairs[key.strip()] = value
    return pairs


def load_or_exit(
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
    profile = load_or_report(
        profile_path,
        vus,
        duration,
        iterations,
        time_scale,
        env=env,
        tags=tags,
        trend_stats=trend_stats,
        no_thresholds=no_thresholds,
    )
    if profile is None:
        raise typer.Exit(int(ExitCode.USAGE))
    return profile


def load_or_report(
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
) -> Profile | None:
    """Load a profile with the CLI overrides; None after printing one line per problem of the
    profile (so that several files can be checked); a bad option itself still exits 2."""
    try:
        duration_ns = None if duration is None else parse_duration_ns(duration)
    except DurationError as exc:
        raise fail(f"--duration: {exc}", ExitCode.USAGE) from None
    if not (time_scale > 0 and math.isfinite(time_scale)):
        raise fail(
            f"--time-scale: must be a finite number greater than 0 (got {time_scale!r})",
            ExitCode.USAGE,
        )
    env_pairs = pairs("--env", env)
    tag_pairs = pairs("--tag", tags)
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
        return None
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


SandboxOpt = Annotated[
    bool,
    typer.Option(
        "--sandbox",
        help="Start the embedded sandbox on a free loopback port, run setup against it, "
        "run the profile there, and stop it.",
    ),
]
SandboxArgOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--sandbox-arg",
        metavar="ARG",
        help="An option for the embedded sandbox, as `dmsload sandbox` takes it (repeatable; "
        "with --sandbox), e.g. --sandbox-arg=--schema=config/openapi/resources-spec.json.gz.",
    ),
]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        "--seed",
        help="Make generated values reproducible; each run keeps a random run id, so seeded "
        "runs never collide.",
    ),
]
RunIdOpt = Annotated[
    str | None,
    typer.Option(
        "--run-id",
        metavar="HEX8",
        help="Reuse a run id (8 hex digits) so generated identities repeat; random by default "
        "(--seed N --run-id X repeats a run exactly).",
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        metavar="S",
        min=0.001,
        help="Request timeout, seconds, for every request: over the profiles' request_timeout, "
        "and for DMS discovery and tokens [env DMSLOAD_REQUEST_TIMEOUT_S, which sets only "
        "the latter].",
        show_default=False,
    ),
]


def with_request_timeout(profile: Profile, timeout_s: float | None) -> Profile:
    """The profile with `--timeout` as its `request_timeout`, when given."""
    if timeout_s is None:
        return profile
    return dataclasses.replace(profile, request_timeout_ns=round(timeout_s * 1e9))


class SummaryMode(enum.StrEnum):
    """How much the end-of-test summary shows."""

    COMPACT = "compact"
    FULL = "full"
    LEGACY = "legacy"


DmsUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--dms-url",
        help="DMS base URL [env DMSLOAD_DMS_URL; default http://localhost:8080]; "
        "also ${DMSLOAD_DMS_URL} in profiles.",
    ),
]
ResourcesSpecOpt = Annotated[
    str | None,
    typer.Option(
        "--resources-spec",
        metavar="FILE|URL",
        help="The target's OpenAPI resource specification, for targets whose metadata lists "
        "none or one that answers 404 [env DMSLOAD_RESOURCES_SPEC; default: from the "
        "target's /metadata/specifications, cached in .dmsload/specs].",
    ),
]
DescriptorNamespaceOpt = Annotated[
    str | None,
    typer.Option(
        "--descriptor-namespace",
        metavar="URI",
        help="Namespace of the descriptors generated documents refer to and setup seeds "
        "[env DMSLOAD_DESCRIPTOR_NAMESPACE; default uri://ed-fi.org].",
    ),
]
CredentialsFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--credentials-file",
        help="Client key and secret saved by `dmsload setup` "
        "[env DMSLOAD_CREDENTIALS_FILE; default .dmsload/credentials.json].",
    ),
]
AuthStyleOpt = Annotated[
    str | None,
    typer.Option(
        "--auth-style",
        help="basic (DMS) or form (ODS/API, Keycloak, CMS) [env DMSLOAD_AUTH_STYLE].",
    ),
]
EnvFileOpt = Annotated[
    Path | None,
    typer.Option("--env-file", help="Read DMSLOAD_* settings from this file, not .env."),
]


def connection_or_exit(
    env_file: Path | None,
    *,
    insecure: bool,
    auth_style: str | None,
    **overrides: object,
) -> ConnectionSettings:
    """Connection settings from flags over env over .env; exit 2 naming a bad value."""
    if auth_style not in (None, "basic", "form"):
        raise fail(f"--auth-style: expected basic or form (got {auth_style!r})", ExitCode.USAGE)
    try:
        settings = load_settings(
            env_file,
            auth_style=auth_style,
            verify_tls=False if insecure else None,
            **overrides,
        )
    except SettingsError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    if not settings.verify_tls:
        source = "--insecure" if insecure else "DMSLOAD_VERIFY_TLS=false"
        typer.echo(
            f"dmsload: warning: {source}: TLS certificates are not verified; anyone between "
            "here and the server can read the client secret and tokens",
            err=True,
        )
    return settings


def sandbox_args_or_exit(args: Sequence[str]) -> None:
    """Parse `--sandbox-arg` options as `dmsload sandbox` would, before anything starts; exit 2
    naming the one it refuses."""
    if not args:
        return
    from dmsload.sandbox.command import sandbox as sandbox_function  # the sandbox's own flags

    parser = typer.Typer(add_completion=False)
    parser.command(name="sandbox")(sandbox_function)
    command = typer.main.get_command(parser)
    problem = parse_problem(command, "dmsload sandbox", args)
    if problem is not None:
        raise fail(f"--sandbox-arg: {problem}", ExitCode.USAGE)


@dataclass(frozen=True)
class Target:
    """Where a run or suite goes: the connection, the sandbox to start (`--sandbox`), and
    the `-e` pairs for profiles' `${VAR}`s (the DMS URL, then the user's own, which win)."""

    connection: ConnectionSettings
    sandbox: SandboxTarget | None
    env: list[str]


def target_or_exit(
    *,
    sandbox: bool,
    env: list[str] | None,
    env_file: Path | None,
    insecure: bool,
    auth_style: str | None,
    dms_url: str | None,
    credentials_file: Path | None,
    timeout_s: float | None = None,
    resources_spec: str | None = None,
    descriptor_namespace: str | None = None,
    sandbox_args: list[str] | None = None,
) -> Target:
    """The run's target from its flags; exit 2 naming a bad setting."""
    if sandbox_args and not sandbox:
        raise fail(f"--sandbox-arg {sandbox_args[0]}: goes with --sandbox", ExitCode.USAGE)
    sandbox_args_or_exit(sandbox_args or [])
    connection = connection_or_exit(
        env_file,
        insecure=insecure,
        auth_style=auth_style,
        dms_url=dms_url,
        credentials_file=credentials_file,
        request_timeout_s=timeout_s,
        resources_spec=resources_spec,
        descriptor_namespace=descriptor_namespace,
    )
    planned = plan_sandbox_target(sandbox_args or ()) if sandbox else None
    values = {"DMSLOAD_DMS_URL": connection.dms_url}
    if planned is not None:
        values.update(planned.profile_env)
    pairs = [*(f"{key}={value}" for key, value in values.items()), *(env or [])]
    return Target(connection, planned, pairs)


OutOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--out",
        "-o",
        metavar="KIND=TARGET",
        help="Stream every sample (repeatable): json=FILE[.gz] (k6's NDJSON), csv=FILE[.gz], "
        "influxdb=URL (v1 http://host:8086/DB; v2 with DMSLOAD_INFLUXDB_BUCKET), hdrlog=FILE.",
    ),
]
SummaryJsonOpt = Annotated[
    Path | None,
    typer.Option(
        "--summary-json",
        help="Write dmsload's full summary (histograms, time series, manifest) here: "
        "the input of `dmsload report` and `dmsload compare`.",
    ),
]
K6SummaryOpt = Annotated[
    Path | None,
    typer.Option(
        "--k6-summary",
        help="Write the data k6 passes to handleSummary() here (for k6-html-reporter, "
        "k6-junit and other handleSummary tools).",
    ),
]
JunitOpt = Annotated[
    Path | None,
    typer.Option("--junit", help="Write JUnit XML: a test case per threshold and per check."),
]


K6TagsOpt = Annotated[
    bool,
    typer.Option(
        "--k6-tags",
        help="Streams (--out) carry k6's tags only: leave out dmsload's own `operation` and "
        "`resource` tags.",
    ),
]


def open_outputs_or_exit(
    arguments: list[str] | None, profile: Profile, k6_tags: bool = False
) -> list[Output]:
    """Parse and open every `--out`; exit 2 with one line naming the bad one."""
    drop = DMSLOAD_TAGS if k6_tags else frozenset()
    ctx = OutputContext(clock=Clock.now(), thresholds=profile.thresholds, drop_tags=drop)
    outputs: list[Output] = []
    try:
        for argument in arguments or []:
            output = parse_output(argument)
            output.open(ctx)
            outputs.append(output)
    except OutputError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    return outputs


def credentials_or_exit(target: Target, profiles: Sequence[Profile]) -> None:
    """Exit 2 (one line) when a profile needs the DMS and the client credentials are unusable:
    a missing or unreadable credentials file, a key without its secret. Nothing is sent."""
    if target.sandbox is not None or not any(profile.uses_dms for profile in profiles):
        return
    try:
        target.connection.check_client_credentials()
    except SettingsError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None


def writable_or_exit(flag: str, path: Path | None) -> None:
    """Exit 2 (one line) when an export could not be written, so a long run is not wasted."""
    if path is None:
        return
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        reason = "is a directory"
    elif not parent.is_dir():
        reason = "its directory does not exist" if not parent.exists() else "not a directory"
    elif not os.access(parent, os.W_OK | os.X_OK) or (
        path.exists() and not os.access(path, os.W_OK)
    ):
        reason = "permission denied"
    else:
        return
    raise fail(f"{flag} {path}: {reason}", ExitCode.USAGE)
