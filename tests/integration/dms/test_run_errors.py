"""A run that cannot reach its target or is refused a token: the error in words, no class
name, no empty summary, exit 1, and the exports still written."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmsload.sandbox.testing import SandboxHandle, running_sandbox

PROFILE = """
[scenarios.one]
executor = "shared-iterations"
vus = 1
iterations = 2
workload = "create"
options = { resource = "students" }

[thresholds]
http_req_failed = ["rate<0.01"]
"""
CLASS_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b")
NO_SUMMARY = (
    "dmsload: the load sent no request, so there is no summary; exit status 1 "
    "(the run could not proceed)"
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed_descriptors=True) as handle:
        yield handle


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "p.toml").write_text(PROFILE)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DMSLOAD_")}
    return subprocess.run(
        [sys.executable, "-m", "dmsload", "run", "p.toml", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**clean, "NO_COLOR": "1", **env},
    )


def test_an_unreachable_target_prints_the_error_in_words_and_no_empty_summary(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    done = _run(
        tmp_path,
        "--summary-json",
        "run.json",
        "--summary-export",
        "k6.json",
        DMSLOAD_DMS_URL=url,
        DMSLOAD_CLIENT_KEY="key",
        DMSLOAD_CLIENT_SECRET="secret-value",
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        f"dmsload: the run failed: cannot reach {url}/: connection refused",
        NO_SUMMARY,
    ]
    assert done.stdout == ""
    assert not CLASS_NAME.search(done.stderr)
    document = json.loads((tmp_path / "run.json").read_text())
    assert document["state"]["error"] == f"cannot reach {url}/: connection refused"
    assert document["state"]["exit_code"] == 1
    assert json.loads((tmp_path / "k6.json").read_text())["metrics"] is not None


def test_a_refused_key_prints_the_token_endpoint_answer_and_no_empty_summary(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    done = _run(
        tmp_path,
        "-q",
        DMSLOAD_DMS_URL=sandbox.base_url,
        DMSLOAD_CLIENT_KEY=sandbox.client_key,
        DMSLOAD_CLIENT_SECRET="wrong-secret-value",
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith(
        f"dmsload: the run failed: token request to {sandbox.base_url}/oauth/token answered 401"
    ), lines
    assert lines[-1] == NO_SUMMARY
    assert done.stdout == "" and "no data" not in done.stderr
    assert not CLASS_NAME.search(done.stderr)


def test_a_run_that_sent_requests_still_prints_its_summary(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    done = _run(
        tmp_path,
        "-q",
        DMSLOAD_DMS_URL=sandbox.base_url,
        DMSLOAD_CLIENT_KEY=sandbox.client_key,
        DMSLOAD_CLIENT_SECRET=sandbox.client_secret,
    )
    assert done.returncode == 0, done.stderr
    assert "THRESHOLDS" in done.stdout and "http_reqs" in done.stdout
    assert "no summary" not in done.stderr
