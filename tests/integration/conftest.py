"""Fixtures for every integration test: real HTTP echo servers on free loopback ports."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[2] / "scripts" / "bench" / "echo_server.py"


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

    def wait_for_requests(self, more_than: int, timeout_s: float = 30.0) -> None:
        """Return once the server has counted more than `more_than` requests: a run started
        in a subprocess is then past its start-up (however slow the machine) and sending."""
        deadline = time.monotonic() + timeout_s
        while self.stats()["requests"] <= more_than:
            assert time.monotonic() < deadline, f"no request reached {self.url} in {timeout_s} s"
            time.sleep(0.05)


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
