"""Command-line parse errors as one line on stderr (Click prints a usage block by default)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

try:  # typer >= 0.22 carries its own copy of Click; older versions use Click itself
    from typer._click import exceptions as click_errors
    from typer._click.core import Context
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors  # type: ignore[no-redef]
    from click.core import Context  # type: ignore[assignment]


def _given(args: Sequence[str], opts: Sequence[str]) -> str | None:
    """What the command line gave an option (`--opt VALUE` or `--opt=VALUE`), last one wins."""
    found = None
    for i, arg in enumerate(args):
        for opt in opts:
            if arg == opt and i + 1 < len(args):
                found = args[i + 1]
            elif opt.startswith("--") and arg.startswith(opt + "="):
                found = arg[len(opt) + 1 :]
    return found


def usage_line(error: click_errors.ClickException, args: Sequence[str] = ()) -> str:
    """`dmsload: <what is wrong> (got VALUE) (see 'dmsload run --help')`: one line."""
    message = " ".join(error.format_message().split()).rstrip(".").replace("Value error, ", "")
    param = getattr(error, "param", None)
    if isinstance(error, click_errors.BadParameter) and not isinstance(
        error, click_errors.MissingParameter
    ):
        value = _given(args, getattr(param, "opts", ()) or ())
        if value is not None and repr(value) not in message:
            message += f" (got {value!r})"
    ctx = getattr(error, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if isinstance(ctx, Context) else ""
    return f"dmsload: {message}{hint}"


class OneLineErrorsGroup(TyperGroup):
    """The `dmsload` group: a bad option or argument is reported in one line, exit 2."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's `main`, with its errors shown as `usage_line` when standalone."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        given = list(sys.argv[1:] if args is None else args)
        try:
            result = super().main(given, prog_name, complete_var, False, **extra)
        except click_errors.NoArgsIsHelpError as exc:
            exc.show()
            _exit(exc.exit_code)
        except click_errors.ClickException as exc:
            typer.echo(usage_line(exc, given), err=True)
            _exit(exc.exit_code)
        except typer.Abort:
            typer.echo("dmsload: aborted", err=True)
            _exit(1)
        _exit(result if isinstance(result, int) else 0)


def _exit(code: int) -> NoReturn:
    sys.exit(code)


def parse_problem(command: Any, prog_name: str, args: Sequence[str]) -> str | None:
    """Parse `args` as `command` would, running nothing: its one-line usage error (without
    the `dmsload: ` prefix), or None when they parse."""
    try:
        command.make_context(prog_name, list(args), resilient_parsing=False)
    except click_errors.ClickException as exc:
        return usage_line(exc, args).removeprefix("dmsload: ")
    return None
