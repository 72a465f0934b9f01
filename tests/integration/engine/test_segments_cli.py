"""`--execution-segment` and `--start-at` as real processes against a loopback echo server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

SEQUENCE = "0,1/4,2/4,3/4,1"
PROFILE = """
name = "segments"
[scenarios.rate]
executor = "constant-arrival-rate"
rate = 40
duration = "1s"
pre_allocated_vus = 40  # one VU per arrival in each part: no stall of a busy machine drops one
workload = "http"
options = { url = "${TARGET}/rate", expect_status = 200 }

[scenarios.shared]
executor = "shared-iterations"
vus = 4
iterations = 30
workload = "http"
options = { url = "${TARGET}/shared", expect_status = 200 }
"""


def _count(document: dict[str, Any], metric: str) -> int:
    return int(document["metrics"][metric]["values"]["count"])


LEADS_S = (8.0, 30.0)
"""How far ahead the parts' common start is set: four interpreters start in about 3 s on an idle
2-core machine; on a busy one a part may miss the instant, and the parts start again, later."""


def _start_parts(echo: Any, tmp_path: Path, start_at: float) -> list[tuple[int, str]]:
    """Run the four parts with one --start-at; each one's exit status and stderr."""
    stamp = datetime.fromtimestamp(start_at, UTC).isoformat()
    env = {**os.environ, "NO_COLOR": "1"}
    processes = []
    for i in range(4):
        segment = f"{i}/4:{i + 1}/4"
        processes.append(
            subprocess.Popen(
                [
                    sys.executable, "-m", "dmsload", "run", str(tmp_path / "profile.toml"), "-q",
                    "-e", f"TARGET={echo.url}", "--run-id", "0badcafe",
                    "--execution-segment", segment, "--execution-segment-sequence", SEQUENCE,
                    "--start-at", stamp, "--summary-json", str(tmp_path / f"part{i}.json"),
                ],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
        )  # fmt: skip
    exits = []
    for process in processes:
        _, err = process.communicate(timeout=90)
        exits.append((process.returncode, err))
    return exits


def _missed(err: str) -> bool:
    """Whether a part gave up because the common start had passed before it was ready."""
    return "--start-at" in err and "passed" in err


@pytest.mark.serial  # an exact count of constant-arrival-rate iterations
def test_four_parts_started_together_add_up_to_the_whole(echo: Any, tmp_path: Path) -> None:
    (tmp_path / "profile.toml").write_text(PROFILE)
    for lead_s in LEADS_S:
        start_at = time.time() + lead_s
        exits = _start_parts(echo, tmp_path, start_at)
        if not any(code == 1 and _missed(err) for code, err in exits):
            break
    for code, err in exits:
        assert code == 0, err
    parts = [json.loads((tmp_path / f"part{i}.json").read_text()) for i in range(4)]
    assert [p["manifest"]["execution_segment"] for p in parts] == [
        {"segment": f"{i}/4:{i + 1}/4", "sequence": SEQUENCE, "index": i} for i in range(4)
    ]
    dropped = [p["metrics"].get("dropped_iterations", {}) for p in parts]
    assert sum(_count(p, "iterations") for p in parts) == 40 + 30, dropped
    assert all(_count(p, "iterations") > 0 for p in parts)
    for part in parts:  # no part began before the agreed instant: its last arrival is at 0.9 s+
        ended = datetime.fromisoformat(part["manifest"]["ended_at"]).timestamp()
        assert ended >= start_at + 0.9


@pytest.mark.serial  # an exact count of constant-arrival-rate iterations
def test_a_whole_run_has_no_segment(run_cli: Any, echo: Any, tmp_path: Path) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_text(PROFILE)
    out = tmp_path / "whole.json"
    done = run_cli(
        "run", str(profile), "-q", "-e", f"TARGET={echo.url}", "--summary-json", str(out),
        "--execution-segment", "0:1",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    document = json.loads(out.read_text())
    assert document["manifest"]["execution_segment"] is None
    assert _count(document, "iterations") == 70


def test_validate_prints_the_part_s_plan(run_cli: Any, tmp_path: Path) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_text(PROFILE)
    done = run_cli(
        "validate", str(profile), "-e", "TARGET=http://127.0.0.1:9",
        "--execution-segment", "2/4:3/4", "--execution-segment-sequence", SEQUENCE,
    )  # fmt: skip
    assert done.code == 0, done.stderr
    assert "execution segment: 1/2:3/4 of 4 parts" in done.stdout
    assert "iterations planned: 10" in done.stdout  # 40 arrivals / 4
    assert "7 iterations shared among 1 VUs" in done.stdout  # 30 over 4 VUs: 8, 8, 7, 7


def test_bad_segments_and_start_times_are_one_line(run_cli: Any, tmp_path: Path) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_text(PROFILE)
    base = ["run", str(profile), "-e", "TARGET=http://127.0.0.1:9"]
    cases = [
        (["--execution-segment", "3/4:1/4"], 2, "--execution-segment: segment start(0.75)"),
        (["--execution-segment", "1/3:2/3", "--execution-segment-sequence", SEQUENCE], 2,
         "couldn't find segment 1/3:2/3"),
        (["--execution-segment-sequence", SEQUENCE], 2, "needs --execution-segment"),
        (["--start-at", "tomorrow"], 2, "--start-at: expected RFC 3339"),
        (["--start-at", "2026-12-01T20:00:00"], 2, "needs an offset"),
        (["--start-at", "1000000000"], 1, "--start-at: 1000000000 passed"),
    ]  # fmt: skip
    for extra, code, needle in cases:
        done = run_cli(*base, *extra)
        assert done.code == code, (extra, done.stderr)
        assert needle in done.stderr, (extra, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr
