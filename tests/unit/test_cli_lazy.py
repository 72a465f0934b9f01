"""The subcommands defined outside cli.py are imported only when used."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from dmsload.cli import app

ORDER = [
    "validate",
    "run",
    "sandbox",
    "setup",
    "suite",
    "capacity",
    "report",
    "compare",
    "merge",
    "rendezvous",
]


def _loaded_after(statement: str) -> set[str]:
    """The dmsload modules a fresh interpreter holds after `statement`."""
    code = f"import sys\n{statement}\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return {name for name in done.stdout.split() if name.startswith("dmsload")}


def test_importing_the_cli_loads_no_other_subcommand() -> None:
    loaded = _loaded_after("import dmsload.cli")
    assert "dmsload.engine.runner" in loaded  # `run` is defined in cli.py
    for module in ("capacity", "report", "compare", "merge", "rendezvous", "suite"):
        assert not any(name.startswith(f"dmsload.{module}") for name in loaded), module
    assert "dmsload.sandbox.command" not in loaded
    assert "dmsload.dms.setup_command" not in loaded


def test_a_subcommand_is_imported_when_it_runs() -> None:
    loaded = _loaded_after(
        "from typer.testing import CliRunner\n"
        "from dmsload.cli import app\n"
        "assert CliRunner().invoke(app, ['compare', '--help']).exit_code == 0"
    )
    assert "dmsload.compare.command" in loaded
    assert "dmsload.capacity.command" not in loaded


def test_the_help_lists_every_command_in_order() -> None:
    done = CliRunner().invoke(app, ["--help"])
    assert done.exit_code == 0
    rows = done.output.split("Commands:", 1)[1].splitlines()
    assert [row.split()[0] for row in rows if row.startswith("  ")] == ORDER
