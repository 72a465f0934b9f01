"""The `dmsload rendezvous` command: wait for every pod, print the agreed start for --start-at."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from dmsload.cli_options import fail
from dmsload.durations import DurationError, parse_duration_ns
from dmsload.engine.runner import ExitCode
from dmsload.rendezvous.meeting import RendezvousError, meet, rfc3339


class StartFormat(enum.StrEnum):
    """How the agreed start is printed."""

    RFC3339 = "rfc3339"
    UNIX = "unix"


def _seconds(flag: str, text: str) -> float:
    try:
        return parse_duration_ns(text) / 1e9
    except DurationError as exc:
        raise fail(f"{flag}: {exc} (got {text!r})", ExitCode.USAGE) from None


def rendezvous(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIRECTORY",
            help="A directory every party shares (the pods' ReadWriteMany volume).",
            show_default=False,
        ),
    ],
    parties: Annotated[
        int, typer.Option("--parties", help="How many parties meet (the Job's parallelism).")
    ],
    index: Annotated[
        int,
        typer.Option("--index", help="This party's index, 0 to parties-1 (JOB_COMPLETION_INDEX)."),
    ],
    timeout: Annotated[
        str,
        typer.Option("--timeout", help="How long to wait for every party (exit 1 after it)."),
    ] = "10m",
    lead: Annotated[
        str,
        typer.Option(
            "--lead", help="The start is the last announcement plus this (> the clocks' skew)."
        ),
    ] = "10s",
    start_format: Annotated[
        StartFormat,
        typer.Option("--format", help="Print the start as rfc3339 (UTC) or unix seconds."),
    ] = StartFormat.RFC3339,
) -> None:
    """Announce this party in DIRECTORY, wait for all, print the start they all agree on.

    Every party prints the same instant; pass it to `dmsload run --start-at`. Exit status:
    0 agreed, 1 a party did not come within --timeout (or the start passed: clock skew),
    2 bad usage.

    Examples:

      START=$(dmsload rendezvous /results/rendezvous --parties 4 --index "$JOB_COMPLETION_INDEX")

      dmsload rendezvous /shared/rv --parties 2 --index 0 --timeout 2m --lead 5s --format unix
    """
    timeout_s = _seconds("--timeout", timeout)
    lead_s = _seconds("--lead", lead)

    def progress(line: str) -> None:
        typer.echo(line, err=True)

    try:
        start = meet(
            directory,
            parties=parties,
            index=index,
            timeout_s=timeout_s,
            lead_s=lead_s,
            progress=progress,
        )
    except RendezvousError as exc:
        code = ExitCode.USAGE if exc.usage else ExitCode.CANNOT_PROCEED
        raise fail(str(exc), code) from None
    typer.echo(f"{start:.3f}" if start_format is StartFormat.UNIX else rfc3339(start))
