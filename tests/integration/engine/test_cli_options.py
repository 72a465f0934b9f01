"""`dmsload run` options beyond the overrides: -e, --tag, trend stats, thresholds, outputs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PROFILE = """
name = "cli-options"
[scenarios.s]
executor = "constant-arrival-rate"
rate = 20
duration = "${DURATION:-1s}"
pre_allocated_vus = 2
workload = "http"
options = { url = "${TARGET}/ok", expect_status = 200 }

[thresholds]
"http_reqs{run:ci}" = ["count>0"]
"""


def _profile(tmp_path: Path, thresholds: str = "") -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(PROFILE + thresholds)
    return path


def test_env_sets_profile_variables_and_tag_reaches_every_sample(
    run_cli: Any, echo: Any, tmp_path: Path
) -> None:
    export = tmp_path / "summary.json"
    path = _profile(tmp_path)
    done = run_cli(
        "run", str(path), "-q", "-e", f"TARGET={echo.url}", "--tag", "run=ci",
        "--summary-export", str(export),
    )  # fmt: skip
    assert done.code == 0, done.stderr
    metrics = json.loads(export.read_text())["metrics"]
    assert metrics["http_reqs{run:ci}"]["count"] == metrics["http_reqs"]["count"] == 20
    assert metrics["http_reqs{run:ci}"]["thresholds"] == {"count>0": False}
    without_tag = run_cli("run", str(path), "-q", "-e", f"TARGET={echo.url}")
    assert without_tag.code == 0  # no data: reported, not failed
    assert "no data" in without_tag.stdout


def test_missing_variables_and_bad_pairs_exit_2(run_cli: Any, tmp_path: Path) -> None:
    path = _profile(tmp_path)
    done = run_cli("validate", str(path))
    assert done.code == 2 and "TARGET" in done.stderr and str(path) in done.stderr
    done = run_cli("run", str(path), "-e", "TARGET")
    assert done.code == 2
    assert "--env: expected KEY=VALUE (got 'TARGET')" in done.stderr
    done = run_cli(
        "run", str(path), "-e", "TARGET=http://127.0.0.1:9", "--summary-trend-stats", "avg,p95"
    )
    assert done.code == 2 and "--summary-trend-stats" in done.stderr and "'p95'" in done.stderr


def test_trend_stats_and_no_thresholds(run_cli: Any, echo: Any, tmp_path: Path) -> None:
    path = _profile(tmp_path, 'http_req_failed = ["rate>0.5"]\n')
    export = tmp_path / "summary.json"
    args = ["run", str(path), "-q", "-e", f"TARGET={echo.url}", "--summary-export", str(export)]
    failing = run_cli(*args)
    assert failing.code == 99
    done = run_cli(*args, "--no-thresholds", "--summary-trend-stats", "med,p(99.9),count")
    assert done.code == 0, done.stderr
    assert "THRESHOLDS" not in done.stdout
    assert "p(99.9)=" in done.stdout and "count=20" in done.stdout
    duration = json.loads(export.read_text())["metrics"]["http_req_duration"]
    assert set(duration) == {"med", "p(99.9)", "count"}


def test_progress_goes_to_stderr_as_plain_lines(run_cli: Any, echo: Any, tmp_path: Path) -> None:
    path = _profile(tmp_path)
    done = run_cli("run", str(path), "-e", f"TARGET={echo.url}", "-e", "DURATION=2s")
    assert done.code == 0, done.stderr
    assert "running (" in done.stderr and "req/s" in done.stderr
    assert "\x1b[" not in done.stderr  # no cursor movement when not a terminal
    assert "running (" not in done.stdout


def test_an_export_that_fails_after_the_run_exits_1_after_printing_the_summary(
    echo: Any, tmp_path: Path
) -> None:
    path = _profile(tmp_path)
    folder = tmp_path / "vanishes"
    folder.mkdir()
    target = folder / "summary.json"
    before = echo.stats()["requests"]
    process = subprocess.Popen(
        [sys.executable, "-m", "dmsload", "run", str(path), "-q", "-e", f"TARGET={echo.url}",
         "-e", "DURATION=3s", "--summary-export", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    echo.wait_for_requests(before)  # the up-front check passed; the folder goes away mid-run
    folder.rmdir()
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert "TOTAL RESULTS" in stdout
    errors = [line for line in stderr.splitlines() if "--summary-export" in line]
    assert len(errors) == 1 and str(target) in errors[0]


@pytest.mark.serial
def test_sigterm_exits_105_with_the_summary(echo: Any, tmp_path: Path) -> None:
    path = _profile(tmp_path)
    before = echo.stats()["requests"]
    process = subprocess.Popen(
        [sys.executable, "-m", "dmsload", "run", str(path), "-q", "-e", f"TARGET={echo.url}",
         "-e", "DURATION=60s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    echo.wait_for_requests(more_than=before)  # the run is past start-up and sending
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=40)
    assert process.returncode == 105, stderr
    assert "TOTAL RESULTS" in stdout and "interrupted" in stdout


def test_verbose_names_each_failed_request_once(run_cli: Any, echo: Any, tmp_path: Path) -> None:
    path = tmp_path / "fails.toml"
    path.write_text(
        "[scenarios.s]\n"
        'executor = "shared-iterations"\n'
        "iterations = 3\n"
        'workload = "http"\n'
        f'options = {{ url = "{echo.url}/x?status=503", name = "GET /x" }}\n'
    )
    done = run_cli("run", str(path), "-q", "-v")
    lines = [line for line in done.stderr.splitlines() if "request failed" in line]
    # the body's start says why (the echo server answers {"ok":true} whatever the status)
    assert lines == ['dmsload: request failed: scenario=s GET /x status=503 body: {"ok":true}'] * 3


def test_exports_that_cannot_be_written_exit_2_before_the_run(run_cli: Any, tmp_path: Path) -> None:
    path = _profile(tmp_path)
    for flag, target, reason in (
        ("--summary-export", tmp_path / "no" / "x.json", "its directory does not exist"),
        ("--summary-json", tmp_path, "is a directory"),
        ("--junit", path / "x.xml", "not a directory"),
        ("--k6-summary", tmp_path / "no" / "k6.json", "its directory does not exist"),
    ):
        done = run_cli("run", str(path), "-e", "TARGET=http://127.0.0.1:9", flag, str(target))
        assert done.code == 2
        assert done.stderr.strip() == f"dmsload: {flag} {target}: {reason}"
        assert "THRESHOLDS" not in done.stdout  # nothing ran


def test_unusable_client_credentials_exit_2_before_a_dms_run(run_cli: Any, tmp_path: Path) -> None:
    profiles = Path(__file__).resolve().parents[3] / "profiles"
    missing = tmp_path / "none.json"
    half = tmp_path / "half.json"
    half.write_text('{"key": "k"}')
    for command in ("run", "suite"):
        target = str(profiles / "smoke.toml") if command == "run" else "--profiles=smoke"
        done = run_cli(command, target, "--credentials-file", str(missing))
        assert done.code == 2, done.stderr
        assert done.stderr.strip().startswith("dmsload: no client credentials")
        assert str(missing) in done.stderr and "THRESHOLDS" not in done.stdout
    done = run_cli("run", str(profiles / "smoke.toml"), "--credentials-file", str(half))
    assert done.code == 2
    assert done.stderr.strip() == (
        f"dmsload: credentials file {half}: missing or empty field(s): secret"
    )
