"""Fixtures: a real HTTP server on a free loopback port, and a CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[3] / "scripts" / "bench" / "echo_server.py"


@dataclass
class EchoServer:
    """Handle of a running echo server."""

    url: str
    process: subprocess.Popen[str]

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(self.url + "/_stats", timeout=5) as response:
            return json.loads(response.read())

    def reset(self) -> None:
        request = urllib.request.Request(self.url + "/_stats", method="DELETE")
        urllib.request.urlopen(request, timeout=5).read()


def _start(delay_ms: float) -> EchoServer:
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "--delay-ms", str(delay_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("PORT "), line
    return EchoServer(f"http://127.0.0.1:{int(line.split()[1])}", process)


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    server = _start(0)
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


@pytest.fixture(scope="module")
def slow_echo() -> Iterator[EchoServer]:
    server = _start(20)
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


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
