"""Setup and seeding under faults: transient failures are retried (jittered backoff, honouring
Retry-After) and a failure that persists names the request, its status and the body's line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dmsload.engine.runner import ExitCode
from dmsload.sandbox.testing import SandboxHandle

from .conftest import ROOT, count, dmsload, run_toml, sandbox_env, served

QUERY = """
[scenarios.queries]
executor = "shared-iterations"
vus = 2
iterations = 20
workload = "query"
options = { seed_students = 30 }
"""


def test_smoke_survives_500s_and_resets_in_its_seeding(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """Defect 2: 5% 500s and 2% resets used to end the run in its query seeding (exit 1)."""
    sandbox.set_faults(error_rate=0.05, reset_rate=0.02, seed=11)
    done = dmsload(
        "run",
        str(ROOT / "profiles" / "smoke.toml"),
        "--time-scale",
        "0.25",
        "--quiet",
        "--summary-export",
        str(tmp_path / "s.json"),
        cwd=tmp_path,
        env=sandbox_env(sandbox),
    )
    # the failures make the smoke thresholds fail (99); the run itself must go through
    assert done.returncode in (ExitCode.OK, ExitCode.THRESHOLDS_FAILED), done.stderr[-2000:]
    assert "seed requests failed" not in done.stderr
    assert served(sandbox, 201, "POST") > 50


def test_seeding_retries_are_each_counted_once_as_setup_requests(
    sandbox: SandboxHandle, settings: object, tmp_path: Path
) -> None:
    sandbox.set_faults(error_rate=0.2, error_status=503, retry_after_s=1, seed=5)
    result = run_toml(QUERY, tmp_path, settings)  # type: ignore[arg-type]
    assert result.error is None and result.exit_code == ExitCode.OK
    failed_503 = count(result, status="503", scenario="setup", method="POST")
    assert failed_503 > 0  # the seeding met 503s and still completed
    assert failed_503 == served(sandbox, 503, "POST")  # each attempt counted exactly once
    created = count(result, status="201", method="POST")
    assert created == served(sandbox, 201, "POST") == 1 + 2 * 30


def test_seeding_honours_retry_after_from_429(
    sandbox: SandboxHandle, settings: object, tmp_path: Path
) -> None:
    # every DMS route is limited (as the DMS limiter is): 25 requests a second per host
    sandbox.set_faults(rate_limit=25, rate_limit_window_s=1)
    started = time.monotonic()
    result = run_toml(QUERY, tmp_path, settings)  # type: ignore[arg-type]
    took = time.monotonic() - started
    assert result.error is None, result.error
    limited = count(result, status="429", scenario="setup")
    # 61 seeding POSTs at 25 a second: at least two windows of waiting, and few 429s
    # (each lane waits out Retry-After instead of hammering the limiter)
    assert took >= 2.0
    assert 0 < limited <= 8 * 4, limited
    assert count(result, status="201", method="POST") == 61


@pytest.mark.serial
def test_seeding_that_keeps_failing_names_the_request_status_and_body(
    sandbox: SandboxHandle, settings: object, tmp_path: Path
) -> None:
    sandbox.set_faults(error_rate=1.0, error_status=500)
    started = time.monotonic()
    result = run_toml(QUERY, tmp_path, settings)  # type: ignore[arg-type]
    assert result.exit_code == ExitCode.CANNOT_PROCEED
    assert result.error is not None
    assert "POST /ed-fi/schools (tried 5 times) answered 500: " in result.error
    assert '"title":"System Error"' in result.error  # the body's first line
    assert time.monotonic() - started < 30  # bounded backoff
    # five tries, each one a failed request the server saw
    assert count(result, status="500", scenario="setup") == served(sandbox, 500, "POST") == 5


def test_setup_retries_transient_failures_and_honours_retry_after(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    sandbox.set_faults(error_rate=0.3, error_status=502, rate_limit=40, seed=2)
    done = dmsload(
        "setup",
        "--dms-url",
        sandbox.base_url,
        "--cms-url",
        sandbox.base_url + "/config",
        "--credentials-file",
        str(tmp_path / "creds.json"),
        "--seed-schools",
        "40",
        "-v",
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[10/10] seed 40 schools" in done.stdout
    assert served(sandbox, 502) > 0 and "failed (502: " in done.stderr
    assert "retrying in" in done.stderr
    limited = sum(
        statuses.get("429", 0) for statuses in sandbox.state.stats.snapshot()["routes"].values()
    )
    if limited:
        assert "failed (429" in done.stderr


def test_setup_that_keeps_failing_names_the_request_and_status(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    sandbox.set_faults(error_rate=1.0, error_status=503, retry_after_s=0)
    done = dmsload(
        "setup",
        "--dms-url",
        sandbox.base_url,
        "--cms-url",
        sandbox.base_url + "/config",
        "--credentials-file",
        str(tmp_path / "creds.json"),
        cwd=ROOT,
    )
    assert done.returncode == 1
    fail = next(line for line in done.stdout.splitlines() if "FAIL" in line)
    assert "seed descriptors" in fail
    assert "/data/ed-fi/" in fail and "answered 503: The service is temporarily unavailable" in fail
    assert "Traceback" not in done.stderr


@pytest.mark.serial
def test_connection_refused_at_start_exits_1_and_names_the_url(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    done = dmsload(
        "setup",
        "--dms-url",
        url,
        "--cms-url",
        url + "/config",
        "--credentials-file",
        str(tmp_path / "creds.json"),
        cwd=ROOT,
    )
    assert done.returncode == 1
    assert f"{url}/config/connect/token" in done.stdout
    assert "Traceback" not in done.stderr
    assert time.monotonic() - started < 20  # retried a few times, not forever
