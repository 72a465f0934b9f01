"""Each shipped profile, run with --time-scale to a few seconds against the sandbox, exits 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dmsload.engine.runner import ExitCode
from dmsload.sandbox.testing import SandboxHandle

from .conftest import PROFILES

SCALES = {
    "baseline": 0.01,  # 5m → 3 s
    "concurrent": 0.005,  # 11m → 3.3 s
    "bulk-load": 0.001,  # max 1h → 3.6 s
    "mixed-crud": 0.002,  # 30m → 3.6 s at 1,000/s
    "query-performance": 0.005,  # 10m → 3 s
    "spike": 0.01,  # 4m → 2.4 s, up to 500 VUs
    "sustained": 0.0002,  # 4h → 2.9 s, 200 VUs
    "smoke": 0.15,  # 20s → 3 s
    "capacity": 0.05,  # 1m → 3 s at 50/s
    "change-queries": 0.05,  # 1m15s → 3.75 s, two sync passes (3 s think time)
}


def test_every_profile_has_a_scale() -> None:
    # pipeclean needs a target that serves its OpenAPI specification: test_pipeclean.py runs it
    shipped = {path.stem for path in PROFILES.glob("*.toml")} - {"demo", "pipeclean"}
    assert shipped == set(SCALES)


@pytest.mark.parametrize("name", sorted(SCALES))
@pytest.mark.serial
def test_profile_runs_scaled_against_the_sandbox_and_passes(
    name: str, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    # `dmsload run` in its own process, as a user runs it: a run inside this long-lived test
    # process shares its heap (and its collector's pauses) with every test before it, which
    # made mixed-crud's 1,000/s drop iterations that a fresh process never drops
    env = {key: value for key, value in os.environ.items() if not key.startswith("DMSLOAD_")}
    env.update(
        DMSLOAD_DMS_URL=sandbox.base_url,
        DMSLOAD_CLIENT_KEY=sandbox.client_key,
        DMSLOAD_CLIENT_SECRET=sandbox.client_secret,
        DMSLOAD_CREDENTIALS_FILE=str(tmp_path / "no-credentials.json"),
    )
    summary = tmp_path / "run.summary.json"
    done = subprocess.run(
        [sys.executable, "-m", "dmsload", "run", str(PROFILES / f"{name}.toml"),
         "--time-scale", str(SCALES[name]), "--quiet", "--summary-json", str(summary)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    document = json.loads(summary.read_text())
    assert document["state"]["error"] is None, done.stderr[-2000:]
    thresholds = document["thresholds"]
    failing = [f"{t['metric']} {t['expression']}" for t in thresholds if t["ok"] is False]
    assert done.returncode == ExitCode.OK, (failing, done.stderr[-2000:])
    failed = document["metrics"]["http_req_failed"]["values"]
    assert failed["passes"] + failed["fails"] > 0
    assert failed["passes"] <= 0.01 * (failed["passes"] + failed["fails"])  # passes: failed ones
    assert document["state"]["elapsed_s"] <= 10
