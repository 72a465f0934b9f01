"""The commands `dmsload sandbox --help` shows for using the sandbox work as written, in order,
against a fresh sandbox (its URL in place of port 8080's, and shortened with --time-scale)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer

from dmsload.cli import app
from dmsload.sandbox.testing import running_sandbox

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_URL = "http://127.0.0.1:8080"


def _examples() -> list[list[str]]:
    command = typer.main.get_command(app).commands["sandbox"]  # type: ignore[attr-defined]
    lines = [line.strip() for line in (command.help or "").splitlines()]
    return [
        line.split()[1:] for line in lines if line.startswith("dmsload ") and EXAMPLE_URL in line
    ]


def test_the_sandbox_help_examples_run_in_order_and_pass(tmp_path: Path) -> None:
    examples = _examples()
    assert [words[0] for words in examples] == ["run", "setup", "run"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DMSLOAD_")}
    with running_sandbox() as sandbox:
        for words in examples:
            args = [
                sandbox.base_url + word[len(EXAMPLE_URL) :]
                if word.startswith(EXAMPLE_URL)
                else str(ROOT / word)
                if word.startswith("profiles/")
                else word
                for word in words
            ]
            if args[0] == "run":
                args += ["--time-scale", "0.05", "-q"]
            done = subprocess.run(
                [sys.executable, "-m", "dmsload", *args],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=tmp_path,
                env={**clean, "NO_COLOR": "1"},
            )
            assert done.returncode == 0, (words, done.stdout[-2000:], done.stderr[-2000:])
