"""`dmsload sandbox`: the CLI command. Imports the server stack only when it runs."""

from __future__ import annotations

import contextlib
import ipaddress
import os
from pathlib import Path
from typing import Annotated

import typer

from dmsload.sandbox.schema import default_schema_path

_FAULTS = "Fault injection (also settable at run time: PUT/POST /_sandbox/faults)"
LOOPBACK = "127.0.0.1"


def is_loopback(host: str) -> bool:
    """`host` names a loopback interface (127.0.0.0/8, ::1 or localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def sandbox(
    host: Annotated[
        str,
        typer.Option(
            help="Interface to bind; loopback by default. Any other address warns: the "
            "sandbox has well-known credentials and no TLS."
        ),
    ] = LOOPBACK,
    port: Annotated[
        int, typer.Option(help="TCP port (0 picks a free one).", min=0, max=65535)
    ] = 8080,
    schema: Annotated[
        Path | None,
        typer.Option(
            help="ApiSchema.json, or an Ed-Fi OpenAPI resources-spec.json[.gz] (its "
            "descriptors-spec.json beside it), to serve. "
            "[default: config/performance-test-schema.json]",
            show_default=False,
        ),
    ] = None,
    seed_descriptors: Annotated[
        bool,
        typer.Option(
            "--seed-descriptors",
            help="Preload the grade level, education organization category and staff "
            "classification descriptors the schema uses.",
        ),
    ] = False,
    no_claims_loading: Annotated[
        bool,
        typer.Option(
            "--no-claims-loading",
            help="Answer 404 on the CMS /management/*-claims routes, like a CMS without "
            "DMS_CONFIG_DANGEROUSLY_ENABLE_UNRESTRICTED_CLAIMS_LOADING=true.",
        ),
    ] = False,
    no_claimset_reload: Annotated[
        bool,
        typer.Option(
            "--no-claimset-reload",
            help="Answer 404 on POST /management/reload-claimsets, like a DMS without "
            "DMS_ENABLE_CLAIMSET_RELOAD=true.",
        ),
    ] = False,
    enable_application_reset: Annotated[
        bool,
        typer.Option(
            "--enable-application-reset",
            help="Serve PUT /v3/applications/{id}/reset-credential (a new secret for the "
            "application's key), like a CMS with AppSettings:EnableApplicationResetEndpoint=true; "
            "without it the route answers 404, as in a stock CMS.",
        ),
    ] = False,
    track_changes: Annotated[
        bool,
        typer.Option(
            "--track-changes",
            help="Keep tombstones of deletes and records of key changes and serve them on "
            "/deletes and /keyChanges, as the ODS/API does (DMS answers [] today, and so does "
            "the sandbox without this flag).",
        ),
    ] = False,
    one_descriptor_per_type: Annotated[
        bool,
        typer.Option(
            "--one-descriptor-per-type",
            help="Answer 409 to a document that carries several descriptors of one type (a "
            "school's four grade levels), as some Ed-Fi APIs do.",
        ),
    ] = False,
    no_reference_filters: Annotated[
        bool,
        typer.Option(
            "--no-reference-filters",
            help="Answer 400 to a query filter on a field inside a reference "
            "(studentSchoolAssociations?schoolId=), as some Ed-Fi APIs do.",
        ),
    ] = False,
    workers: Annotated[
        int, typer.Option(help="Server processes. Only 1 is supported: state lives in one process.")
    ] = 1,
    token_lifetime: Annotated[
        int, typer.Option(help="Lifetime of issued tokens, seconds (expires_in).", min=1)
    ] = 1800,
    client_key: Annotated[str, typer.Option(help="Preseeded DMS client key.")] = "minimalKey",
    client_secret: Annotated[
        str, typer.Option(help="Preseeded DMS client secret.")
    ] = "minimalSecret",
    latency: Annotated[
        float,
        typer.Option(help="Fixed latency added to /data requests, ms.", rich_help_panel=_FAULTS),
    ] = 0.0,
    latency_p50: Annotated[
        float,
        typer.Option(
            help="Median of lognormal added latency, ms (with --latency-p99).",
            rich_help_panel=_FAULTS,
        ),
    ] = 0.0,
    latency_p99: Annotated[
        float, typer.Option(help="p99 of lognormal added latency, ms.", rich_help_panel=_FAULTS)
    ] = 0.0,
    error_rate: Annotated[
        float,
        typer.Option(
            help="Fraction of /data requests answered with --error-status.", rich_help_panel=_FAULTS
        ),
    ] = 0.0,
    error_status: Annotated[
        int,
        typer.Option(help="Status of injected errors, e.g. 500 or 503.", rich_help_panel=_FAULTS),
    ] = 500,
    retry_after: Annotated[
        int,
        typer.Option(
            help="Retry-After seconds on injected 503/429 errors.", rich_help_panel=_FAULTS
        ),
    ] = 30,
    rate_limit: Annotated[
        int,
        typer.Option(
            help="Requests allowed per window per Host header; beyond it 429 + Retry-After "
            "(0: off).",
            rich_help_panel=_FAULTS,
        ),
    ] = 0,
    rate_limit_window: Annotated[
        float, typer.Option(help="Rate-limit fixed window, seconds.", rich_help_panel=_FAULTS)
    ] = 1.0,
    reset_rate: Annotated[
        float,
        typer.Option(
            help="Fraction of /data requests whose connection is reset.", rich_help_panel=_FAULTS
        ),
    ] = 0.0,
    stall_every: Annotated[
        float,
        typer.Option(help="Stall period P, seconds (with --stall-for).", rich_help_panel=_FAULTS),
    ] = 0.0,
    stall_for: Annotated[
        float,
        typer.Option(
            help="Stop answering /data for S seconds every P seconds.", rich_help_panel=_FAULTS
        ),
    ] = 0.0,
    new_key_delay: Annotated[
        float,
        typer.Option(
            help="For S seconds after an application is created, its key gets 401 invalid "
            "client at /oauth/token and /connect/token, as while the CMS identity provider "
            "catches up.",
            rich_help_panel=_FAULTS,
        ),
    ] = 0.0,
    concurrency_limit: Annotated[
        int,
        typer.Option(
            help="Capacity model: serve at most C DMS requests at once; the rest queue "
            "(0: no limit). With --service-time D the knee is about C/D req/s.",
            rich_help_panel=_FAULTS,
        ),
    ] = 0,
    service_time: Annotated[
        float,
        typer.Option(
            help="Capacity model: each DMS request takes at least D ms inside its slot.",
            rich_help_panel=_FAULTS,
        ),
    ] = 0.0,
    fault_seed: Annotated[
        int | None,
        typer.Option(help="Random seed for reproducible faults.", rich_help_panel=_FAULTS),
    ] = None,
) -> None:
    """Serve an in-memory DMS-compatible API (and its Configuration Service) for tests and demos.

    It is a test target, not a DMS: documents live in memory and vanish on exit.

    It prints its base URL, the credentials it accepts and the bearer token of its /_sandbox/*
    control routes (set DMSLOAD_SANDBOX_CONTROL_TOKEN to choose it), then serves until SIGINT
    or SIGTERM.

    Examples:

    \b
        dmsload sandbox --seed-descriptors
        dmsload sandbox --port 9000 --latency-p50 20 --latency-p99 250 --error-rate 0.01

    In another shell, against `dmsload sandbox` on port 8080: demo.toml needs no
    credentials; the DMS workloads need the client that `setup` creates first.

    \b
        dmsload run profiles/demo.toml --dms-url http://127.0.0.1:8080
        dmsload setup --dms-url http://127.0.0.1:8080 --cms-url http://127.0.0.1:8080/config
        dmsload run profiles/smoke.toml --dms-url http://127.0.0.1:8080
    """
    if workers != 1:
        typer.echo(
            "dmsload sandbox: --workers must be 1: the sandbox keeps its state in one process "
            "(one core serves well over 3,000 req/s).",
            err=True,
        )
        raise typer.Exit(2)
    try:
        import jsonschema  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        typer.echo(
            f"dmsload sandbox: missing {exc.name}; "
            "install the extra: pip install 'dmsload[sandbox]'",
            err=True,
        )
        raise typer.Exit(2) from None

    from dmsload.sandbox.app import create_app
    from dmsload.sandbox.config import CONTROL_TOKEN_ENV, SandboxConfig
    from dmsload.sandbox.faults import FaultError, FaultSettings
    from dmsload.sandbox.schema import SchemaError, load_api_schema
    from dmsload.sandbox.server import base_url, bind, serve
    from dmsload.sandbox.state import SandboxState

    schema_path = schema or default_schema_path()
    try:
        faults = FaultSettings().merged(
            {
                "latency_ms": latency,
                "latency_p50_ms": latency_p50,
                "latency_p99_ms": latency_p99,
                "error_rate": error_rate,
                "error_status": error_status,
                "retry_after_s": retry_after,
                "rate_limit": rate_limit,
                "rate_limit_window_s": rate_limit_window,
                "reset_rate": reset_rate,
                "stall_every_s": stall_every,
                "stall_for_s": stall_for,
                "new_key_delay_s": new_key_delay,
                "concurrency_limit": concurrency_limit,
                "service_time_ms": service_time,
                "seed": fault_seed,
            }
        )
        api_schema = load_api_schema(schema_path)
    except (FaultError, SchemaError) as exc:
        typer.echo(f"dmsload sandbox: {exc}", err=True)
        raise typer.Exit(2) from None
    config = SandboxConfig(
        schema_path=schema_path,
        schema=api_schema,
        seed_descriptors=seed_descriptors,
        token_lifetime_s=token_lifetime,
        client_key=client_key,
        client_secret=client_secret,
        claims_loading=not no_claims_loading,
        claimset_reload=not no_claimset_reload,
        application_reset=enable_application_reset,
        track_changes=track_changes,
        one_descriptor_per_type=one_descriptor_per_type,
        reference_filters=not no_reference_filters,
        faults=faults,
        control_token=os.environ.get(CONTROL_TOKEN_ENV, "").strip() or None,
    )
    state = SandboxState.create(config)
    try:
        sock = bind(host, port)
    except OSError as exc:
        typer.echo(
            f"dmsload sandbox: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True
        )
        raise typer.Exit(1) from None
    if not is_loopback(host):
        typer.echo(
            f"dmsload sandbox: warning: --host {host} makes the sandbox reachable from other "
            "machines; it has well-known credentials and no TLS: use a trusted network only",
            err=True,
        )
    url = base_url(sock)

    def banner() -> None:
        seeded = state.store.count()
        lines = [
            f"dmsload sandbox serving {api_schema.project_name} {api_schema.project_version} "
            f"({len(api_schema.resources)} resources) from {schema_path}",
            f"  base URL        {url}   (DMS; also under /api)",
            f"  discovery       {url}/   data: {url}/data   token: {url}/oauth/token",
            f"  CMS             {url}/config   (also without the /config prefix)",
            f"  DMS client      key={config.client_key}  secret={config.client_secret}",
            f"  CMS admin       client_id={config.admin_client_id}  "
            f"client_secret={config.admin_client_secret}  scope=edfi_admin_api/full_access",
            f"  control         {url}/_sandbox/faults  {url}/_sandbox/stats",
            f"                  with Authorization: Bearer {state.control_token}",
            f"  descriptors     {seeded} seeded"
            if seeded
            else "  descriptors     none seeded (--seed-descriptors)",
            f"  try             DMSLOAD_DMS_URL={url} dmsload ...",
            "  a test target, not a DMS: state is in memory; Ctrl-C or SIGTERM stops it",
        ]
        typer.echo("\n".join(lines))

    with contextlib.suppress(KeyboardInterrupt):  # uvicorn handles SIGINT itself
        serve(create_app(state=state), sock, banner)
