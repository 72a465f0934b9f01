"""`dmsload setup`: the Typer command (parse, run the steps, exit 0 / 1 / 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import anyio
import typer

from dmsload.dms.setup import (
    SetupOptions,
    SetupUsageError,
    default_claimset_path,
    load_claimset,
    run_setup,
)
from dmsload.settings import SettingsError, load_settings


def _usage(message: str) -> typer.Exit:
    typer.echo(f"dmsload setup: {message}", err=True)
    return typer.Exit(2)


def setup_command(
    dms_url: Annotated[
        str | None, typer.Option("--dms-url", help="DMS base URL [env DMSLOAD_DMS_URL].")
    ] = None,
    cms_url: Annotated[
        str | None,
        typer.Option("--cms-url", help="Configuration Service URL [env DMSLOAD_CMS_URL]."),
    ] = None,
    claimset: Annotated[
        Path | None,
        typer.Option(
            "--claimset",
            help="Claims to upload. [default: config/performance-test-claimset.json]",
            show_default=False,
        ),
    ] = None,
    credentials_file: Annotated[
        Path | None,
        typer.Option(
            "--credentials-file",
            help="Where to save the client key and secret (mode 0600) "
            "[env DMSLOAD_CREDENTIALS_FILE; default .dmsload/credentials.json].",
        ),
    ] = None,
    vendor: Annotated[str, typer.Option("--vendor", help="Vendor company name.")] = "dmsload",
    application: Annotated[
        str, typer.Option("--application", help="Application name.")
    ] = "dmsload performance tests",
    seed_schools: Annotated[
        int,
        typer.Option("--seed-schools", min=0, help="Pre-create N schools (schoolId 100000+i)."),
    ] = 0,
    data_store_connection_string: Annotated[
        str | None,
        typer.Option(
            "--data-store-connection-string",
            help="Register a data store with this connection string if the CMS has none.",
        ),
    ] = None,
    auth_style: Annotated[
        str | None,
        typer.Option("--auth-style", help="basic (DMS) or form [env DMSLOAD_AUTH_STYLE]."),
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Do not verify TLS certificates.")
    ] = False,
    env_file: Annotated[
        Path | None, typer.Option("--env-file", help="Read settings from this file, not .env.")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", help="Request timeout, seconds [env DMSLOAD_REQUEST_TIMEOUT_S]."),
    ] = None,
) -> None:
    """Prepare a DMS for load tests: vendor, claimset, application, credentials, seed data.

    Idempotent: a second run reuses what the first created. The CMS admin client comes from
    DMSLOAD_CMS_CLIENT_ID and DMSLOAD_CMS_CLIENT_SECRET (defaults: the local compose stack's).

    Exit status: 0 ready, 1 a step failed (named), 2 bad usage.

    Examples:

      dmsload setup

      dmsload setup --dms-url http://127.0.0.1:8080 --cms-url http://127.0.0.1:8080/config

      dmsload setup --seed-schools 100
    """
    if auth_style not in (None, "basic", "form"):
        raise _usage(f"--auth-style: expected basic or form (got {auth_style!r})")
    style: Literal["basic", "form"] | None = auth_style  # type: ignore[assignment]
    try:
        settings = load_settings(
            env_file,
            dms_url=dms_url,
            cms_url=cms_url,
            credentials_file=credentials_file,
            auth_style=style,
            verify_tls=False if insecure else None,
            request_timeout_s=timeout,
        )
        claimset_path = claimset or default_claimset_path()
        load_claimset(claimset_path)
    except (SettingsError, SetupUsageError) as exc:
        raise _usage(str(exc)) from None
    options = SetupOptions(
        claimset=claimset_path,
        vendor=vendor,
        application=application,
        seed_schools=seed_schools,
        data_store_connection_string=data_store_connection_string,
    )
    result = anyio.run(run_setup, settings, options, typer.echo)
    raise typer.Exit(0 if result.ok else 1)
