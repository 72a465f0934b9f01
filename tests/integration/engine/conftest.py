"""Fixtures: a CLI runner (the echo servers are in tests/integration/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import pytest


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def _run_cli(*args: str, timeout: float = 60) -> CliResult:
    """Run `python -m dmsload ...` as a real process."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "160"}
    done = subprocess.run(
        [sys.executable, "-m", "dmsload", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def run_cli() -> object:
    """`run_cli("run", "profile.toml", ...)` runs the CLI as a real process."""
    return _run_cli
