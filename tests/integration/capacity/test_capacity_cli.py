"""`dmsload capacity` as a real process against real loopback servers with a known answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dmsload.dms.embedded_sandbox import embedded_sandbox

pytestmark = pytest.mark.serial  # a capacity search: the knee depends on the CPU it gets

KNEE_PROFILE = """
name = "capacity-test"
[scenarios.health]
executor = "constant-vus"
vus = 1
duration = "10s"
workload = "http"
options = { url = "${DMSLOAD_DMS_URL}/health", expect_status = 200, name = "GET /health" }
"""
KNEE_START = 300


def _capacity(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "dmsload", "capacity", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.mark.slow
def test_knee_of_a_sandbox_limited_to_8_concurrent_20ms_requests(tmp_path: Path) -> None:
    """C=8 slots of 20 ms: the knee is about 400/s; steps of 50/s from 300/s, 10 s each. The
    first step (75% of the capacity, below the knee) is only the baseline of the second's p95:
    lower steps would add 10 s each and decide nothing.

    The p95 rule is loosened to 3x: on a shared 2-core machine the other processes' jitter
    alone lifts p95 by half near 90% of the target's capacity (350/s), which the plan's 1.5x
    would rightly call a knee at 300/s. Past 400/s the queue grows without bound and every
    rule breaks; tests/unit/capacity holds the 1.5x default.
    """
    profile = tmp_path / "knee.toml"
    profile.write_text(KNEE_PROFILE)
    summary = tmp_path / "capacity.json"
    with embedded_sandbox(extra_args=["--concurrency-limit", "8", "--service-time", "20"]) as sb:
        done = _capacity(
            str(profile),
            "--dms-url",
            sb.base_url,
            "--start",
            str(KNEE_START),
            "--step",
            "+50",
            "--step-duration",
            "10s",
            "--max-rate",
            "600",
            "--knee-p95",
            "3",
            "--summary-json",
            str(summary),
            timeout=240,
        )
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-3000:]
    section = json.loads(summary.read_bytes())["capacity"]
    knee = section["knee"]
    assert knee["found"] is True, knee
    assert knee["reason"] == "knee"
    assert 340 <= knee["rate"] <= 440, section["steps"]
    rules = knee["stopped_at"]["broken_rules"]
    assert rules and rules[0].split(":")[0] in ("throughput", "p95", "errors")
    steps = section["steps"]
    assert [s["offered_rate"] for s in steps] == list(
        range(KNEE_START, KNEE_START + 50 * len(steps), 50)
    )
    assert all(s["generator_limit"] is None for s in steps)
    assert steps[-1]["broken_rules"] == rules
    # the table and the verdict, naming the rule
    assert "█ CAPACITY" in done.stdout
    assert f"knee at {knee['rate']:,}/s: the next step" in done.stdout
    assert rules[0] in done.stdout


SOAK_PROFILE = """
name = "capacity-soak"
[scenarios.health]
executor = "constant-vus"
vus = 1
duration = "10s"
workload = "http"
options = { url = "${DMSLOAD_DMS_URL}/health", expect_status = 200 }

[thresholds]
http_req_failed = ["rate<0.01"]
"http_req_duration{scenario:health}" = ["p(95)<1"]
"""


@pytest.mark.slow
def test_warmup_is_kept_out_and_the_soak_below_the_knee_is_judged_by_the_thresholds(
    tmp_path: Path,
) -> None:
    """C=4 slots of 20 ms (knee about 200/s); the soak at 50% of the knee fails its p95<1ms."""
    profile = tmp_path / "soak.toml"
    profile.write_text(SOAK_PROFILE)
    summary = tmp_path / "soak.json"
    with embedded_sandbox(extra_args=["--concurrency-limit", "4", "--service-time", "20"]) as sb:
        done = _capacity(
            str(profile),
            "--dms-url",
            sb.base_url,
            "--start",
            "50",
            "--step",
            "x2",
            "--step-duration",
            "2s",
            "--warmup",
            "1s",
            "--max-rate",
            "800",
            "--knee-p95",
            "off",
            "--then-soak",
            "2s",
            "--soak-at",
            "50%",
            "--summary-json",
            str(summary),
            timeout=120,
        )
    assert done.returncode == 99, done.stderr[-2000:] + done.stdout[-3000:]
    document = json.loads(summary.read_bytes())
    section = document["capacity"]
    knee = section["knee"]
    assert knee["found"] is True and knee["rate"] in (100, 200), section["steps"]
    soak = section["soak"]
    assert soak["offered_rate"] == knee["rate"] // 2
    assert soak["exit_code"] == 99 and soak["thresholds_failed"] == 1
    assert soak["thresholds_total"] == 2
    assert "█ SOAK" in done.stdout and "p(95)<1" in done.stdout
    # the warm-up ran (1 s at 50/s) but none of its samples is in any figure
    assert "warmup" not in document["state"]["scenarios"]
    assert b'"warmup"' not in summary.read_bytes().replace(b'"warmup_s"', b"")
    iterations = document["metrics"]["iterations"]
    assert sum(s["iterations"] for s in section["steps"]) <= iterations["values"]["count"]


TWO_SCENARIOS = """
[scenarios.a]
executor = "constant-vus"
vus = 1
duration = "1s"
workload = "http"
options = { url = "http://127.0.0.1:9/" }

[scenarios.b]
executor = "constant-vus"
vus = 1
duration = "1s"
workload = "http"
options = { url = "http://127.0.0.1:9/" }
"""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--step", "5"], "dmsload: --step: expected +N or xF, e.g. +50 or x1.5 (got '5')"),
        (["--knee-p95", "0.5"], "dmsload: --knee-p95: must be more than 1 (got '0.5')"),
        (["--knee-errors", "many"], "dmsload: --knee-errors: expected a percentage"),
        (["--step-duration", "10"], "dmsload: --step-duration: "),
        (["--start", "100", "--max-rate", "50"], "dmsload: --max-rate: must be at least --start"),
        ([], "dmsload: --scenario: "),
        (["--scenario", "c"], "has no scenario 'c' (it has: a, b)"),
        (["--workers", "0"], "dmsload: --workers: expected a count of 1 or more, or auto"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    profile = tmp_path / "two.toml"
    profile.write_text(TWO_SCENARIOS)
    done = _capacity(str(profile), *args, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert "Traceback" not in done.stderr and "Error" not in done.stderr.split(":")[0]
