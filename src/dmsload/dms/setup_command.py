"""`dmsload setup`: the Typer command (parse, run the steps, exit 0 / 1 / 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import anyio
import typer

from dmsload.cli_options import (
    AuthStyleOpt,
    CredentialsFileOpt,
    DescriptorNamespaceOpt,
    DmsUrlOpt,
    EnvFileOpt,
    connection_or_exit,
)
from dmsload.dms.credentials import CredentialsError, check_credentials_location
from dmsload.dms.setup import (
    SetupOptions,
    SetupUsageError,
    default_claimset_path,
    load_claimset,
    run_setup,
)


def _usage(message: str) -> typer.Exit:
    typer.echo(f"dmsload setup: {message}", err=True)
    return typer.Exit(2)


def _stderr_line(line: str) -> None:
    typer.echo(line, err=True)


def setup_command(
    dms_url: DmsUrlOpt = None,
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
    credentials_file: CredentialsFileOpt = None,
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
    no_cms: Annotated[
        bool,
        typer.Option(
            "--no-cms",
            help="No Configuration Service: check the client key's token (DMSLOAD_CLIENT_KEY/"
            "SECRET, or the credentials file), verify the resources, seed descriptors and "
            "schools through the data API. Implied by DMSLOAD_CLIENT_KEY without a CMS client.",
        ),
    ] = False,
    descriptor_namespace: DescriptorNamespaceOpt = None,
    auth_style: AuthStyleOpt = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Do not verify TLS certificates.")
    ] = False,
    env_file: EnvFileOpt = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", help="Request timeout, seconds [env DMSLOAD_REQUEST_TIMEOUT_S]."),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Log each retried request (transient failures) to stderr."
        ),
    ] = False,
) -> None:
    """Prepare a DMS for load tests: vendor, claimset, application, credentials, seed data.

    Idempotent: a second run reuses what the first created. The CMS admin client comes from
    DMSLOAD_CMS_CLIENT_ID and DMSLOAD_CMS_CLIENT_SECRET (defaults: the local compose stack's).

    Transient failures (no response, 429, 5xx) are retried with jittered backoff, honouring
    Retry-After; -v logs each retry.

    Exit status: 0 ready, 1 a step failed (named), 2 bad usage.

    Examples:

    \b
      dmsload setup
      dmsload setup --dms-url http://127.0.0.1:8080 --cms-url http://127.0.0.1:8080/config
      dmsload setup --seed-schools 100

      DMSLOAD_CLIENT_KEY=key DMSLOAD_CLIENT_SECRET=secret dmsload setup --no-cms
    """
    settings = connection_or_exit(
        env_file,
        insecure=insecure,
        auth_style=auth_style,
        dms_url=dms_url,
        cms_url=cms_url,
        credentials_file=credentials_file,
        request_timeout_s=timeout,
        descriptor_namespace=descriptor_namespace,
    )
    cms_given = cms_url is not None or bool(
        {"cms_url", "cms_client_id", "cms_client_secret"} & settings.model_fields_set
    )
    no_cms = no_cms or (settings.client_key is not None and not cms_given)
    claimset_path = claimset or default_claimset_path()
    if not no_cms:
        try:
            load_claimset(claimset_path)
        except SetupUsageError as exc:
            raise _usage(str(exc)) from None
        try:  # before step 1: a file setup cannot save must not leave an application behind
            check_credentials_location(settings.credentials_file)
        except CredentialsError as exc:
            typer.echo(f"dmsload: --credentials-file {settings.credentials_file}: {exc}", err=True)
            raise typer.Exit(2) from None
    options = SetupOptions(
        claimset=claimset_path,
        vendor=vendor,
        application=application,
        seed_schools=seed_schools,
        data_store_connection_string=data_store_connection_string,
        no_cms=no_cms,
    )
    notice = _stderr_line if verbose else None
    result = anyio.run(run_setup, settings, options, typer.echo, notice)
    raise typer.Exit(0 if result.ok else 1)
