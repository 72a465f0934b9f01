"""`dmsload capacity --workers 2` as a real process against a sandbox with a known knee."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dmsload.dms.embedded_sandbox import embedded_sandbox

pytestmark = pytest.mark.serial  # a capacity search: the knee depends on the CPU it gets

PROFILE = """
name = "capacity-workers"
[scenarios.health]
executor = "constant-vus"
vus = 1
duration = "10s"
workload = "http"
options = { url = "${DMSLOAD_DMS_URL}/health", expect_status = 200, name = "GET /health" }

[thresholds]
http_req_failed = ["rate<0.01"]
"""

STEP_S = 3


@pytest.mark.slow
def test_two_workers_find_the_knee_of_4_concurrent_20ms_requests(tmp_path: Path) -> None:
    """C=4 slots of 20 ms: the knee is about 200/s, as in one process (test_capacity_cli);
    steps of 50/s from 100/s split over 2 workers, judged on the merged figures, then a soak
    on the workers too."""
    profile = tmp_path / "knee.toml"
    profile.write_text(PROFILE)
    summary = tmp_path / "capacity.json"
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    with embedded_sandbox(extra_args=["--concurrency-limit", "4", "--service-time", "20"]) as sb:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "dmsload",
                "capacity",
                str(profile),
                "--dms-url",
                sb.base_url,
                "--workers",
                "2",
                "--start",
                "100",
                "--step",
                "+50",
                "--step-duration",
                f"{STEP_S}s",
                "--max-rate",
                "400",
                "--knee-p95",
                "3",
                "--then-soak",
                "2s",
                "--soak-at",
                "50%",
                "--summary-json",
                str(summary),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-3000:]
    document = json.loads(summary.read_bytes())
    section = document["capacity"]
    knee = section["knee"]
    steps = section["steps"]
    assert knee["found"] is True and knee["reason"] == "knee", steps
    assert knee["rate"] in (100, 150, 200), steps
    assert steps[-1]["broken_rules"] == knee["stopped_at"]["broken_rules"]
    assert [s["offered_rate"] for s in steps] == list(range(100, 100 + 50 * len(steps), 50))
    for step in steps:
        shares = step["workers"]
        assert [w["worker"] for w in shares] == [0, 1], step
        # the judged figures are the exact merge of every worker's share of the step
        assert step["iterations"] == sum(w["iterations"] for w in shares), step
        assert all(w["iterations"] > 0 for w in shares), step
        assert step["generator_cpu"] == max(w["generator_cpu"] for w in shares), step
        assert step["generator_limit"] is None, step
    # the knee stopped every worker promptly: no step ran past the one that broke a rule
    state = document["state"]
    assert state["elapsed_s"] <= len(steps) * STEP_S + 1.5, state
    assert state["interrupted"] is False and state["exit_code"] == 0, state
    soak = section["soak"]
    assert soak["offered_rate"] == knee["rate"] // 2
    assert soak["exit_code"] == 0 and soak["thresholds_total"] == 1
    assert soak["achieved_rate"] > 0.8 * soak["offered_rate"], soak
    assert "over 2 worker processes" in done.stderr
    assert "█ CAPACITY" in done.stdout and "█ SOAK" in done.stdout
