"""The `dmsload` command line: thin Typer commands that parse, call, print and exit."""

from __future__ import annotations

import typer

from dmsload import __version__
from dmsload.sandbox.command import sandbox as sandbox_command

app = typer.Typer(
    name="dmsload",
    help="Load tests for the Ed-Fi Data Management Service, with k6's executors and thresholds.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"dmsload {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """Load tests for the Ed-Fi Data Management Service."""


app.command(name="sandbox")(sandbox_command)


def main() -> None:
    """Console-script entry point."""
    app()
