"""SIGINT and SIGTERM stop a run against a sandbox with every sample written and the summaries
marked as interrupted; after SIGKILL the streams are readable up to their last flush."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dmsload.engine.runner import ExitCode
from dmsload.sandbox.testing import SandboxHandle

from .conftest import sandbox_env

pytestmark = pytest.mark.serial  # signals, and counts of what a run sent before it

PROFILE = """
[scenarios.load]
executor = "constant-vus"
vus = 2
duration = "60s"
workload = "create"
options = { resource = "students" }
"""


def _created(sandbox: SandboxHandle) -> int:
    return sandbox.state.stats.count("POST /data/ed-fi/students")


def _start(tmp_path: Path, sandbox: SandboxHandle, *outputs: str) -> subprocess.Popen[str]:
    (tmp_path / "p.toml").write_text(PROFILE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMSLOAD_")}
    env.update(sandbox_env(sandbox))
    return subprocess.Popen(
        [sys.executable, "-m", "dmsload", "run", "p.toml", "--quiet", *outputs],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_traffic(sandbox: SandboxHandle, at_least: int = 50, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _created(sandbox) < at_least:
        assert time.monotonic() < deadline, "no traffic"
        time.sleep(0.05)


def _wait_for_a_flush(path: Path, is_request: Callable[[bytes], bool], timeout: float = 30) -> None:
    """Return once a complete line of `path` is a request's sample: a batch was written."""
    deadline = time.monotonic() + timeout
    while True:
        raw = path.read_bytes() if path.exists() else b""
        if any(is_request(line) for line in raw[: raw.rfind(b"\n") + 1].splitlines()):
            return
        assert time.monotonic() < deadline, f"nothing flushed to {path.name}"
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_writes_every_sample_and_marks_the_summaries_interrupted(
    sandbox: SandboxHandle, tmp_path: Path, signum: signal.Signals
) -> None:
    run = _start(
        tmp_path,
        sandbox,
        "--out",
        "json=samples.ndjson",
        "--out",
        "csv=samples.csv",
        "--summary-json",
        "s.summary.json",
        "--summary-export",
        "s.export.json",
    )
    _wait_for_traffic(sandbox)
    run.send_signal(signum)
    _, stderr = run.communicate(timeout=40)
    assert run.returncode == ExitCode.INTERRUPTED, stderr
    sent = _created(sandbox)

    raw = (tmp_path / "samples.ndjson").read_bytes()
    assert raw.endswith(b"\n")  # ends on a complete line
    points = [json.loads(line) for line in raw.splitlines()]
    reqs = [p for p in points if p.get("metric") == "http_reqs" and p.get("type") == "Point"]
    assert len(reqs) == sent  # every request the server saw, once

    with (tmp_path / "samples.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["metric_name"] == "http_reqs"]
    assert len(rows) == sent

    summary = json.loads((tmp_path / "s.summary.json").read_text())
    assert summary["state"]["interrupted"] is True
    assert summary["state"]["exit_code"] == ExitCode.INTERRUPTED
    export = json.loads((tmp_path / "s.export.json").read_text())
    assert export["state"] == {"interrupted": True}
    assert export["metrics"]["http_reqs"]["count"] == sent


def test_after_sigkill_the_streams_are_readable_up_to_their_last_flush(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    run = _start(tmp_path, sandbox, "--out", "json=samples.ndjson", "--out", "csv=samples.csv")
    _wait_for_traffic(sandbox, at_least=200)
    _wait_for_a_flush(  # at least one flush of each stream
        tmp_path / "samples.ndjson",
        lambda line: line.startswith(b'{"type":"Point"') and b'"metric":"http_reqs"' in line,
    )
    _wait_for_a_flush(tmp_path / "samples.csv", lambda line: line.startswith(b"http_reqs,"))
    run.kill()
    run.communicate(timeout=20)
    assert run.returncode == -signal.SIGKILL
    sent = _created(sandbox)

    raw = (tmp_path / "samples.ndjson").read_bytes()
    complete = raw[: raw.rfind(b"\n") + 1]  # a torn last line may follow the last flush
    points = [json.loads(line) for line in complete.splitlines()]
    reqs = [p for p in points if p.get("metric") == "http_reqs" and p.get("type") == "Point"]
    assert 0 < len(reqs) <= sent

    text = (tmp_path / "samples.csv").read_text()
    lines = text[: text.rfind("\n") + 1]
    rows = list(csv.DictReader(lines.splitlines()))
    assert rows and all(r["metric_name"] for r in rows)
    assert 0 < sum(r["metric_name"] == "http_reqs" for r in rows) <= sent
