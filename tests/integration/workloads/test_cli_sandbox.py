"""`dmsload run --sandbox` and `dmsload suite` as a user runs them: subprocesses, real ports."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import PROFILES

HERE = Path(__file__).resolve().parent


def _dmsload(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dmsload", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROFILES.parent,
    )


@pytest.mark.serial
def test_run_smoke_with_sandbox_sets_up_runs_and_exports(tmp_path: Path) -> None:
    export = tmp_path / "summary.json"
    done = _dmsload(
        "run",
        "profiles/smoke.toml",
        "--sandbox",
        "--time-scale",
        "0.1",
        "--quiet",
        "--summary-export",
        str(export),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "sandbox at http://127.0.0.1:" in done.stderr
    assert "10/10" in done.stderr  # setup printed its last step
    assert "THRESHOLDS" in done.stdout and "checks_succeeded" in done.stdout
    summary = json.loads(export.read_text())
    assert summary["metrics"]["http_reqs"]["count"] > 0
    judged = [
        failed
        for metric in summary["metrics"].values()
        for failed in metric.get("thresholds", {}).values()
    ]
    assert judged and not any(judged)  # k6 polarity: true would mean failed


@pytest.mark.serial
def test_suite_runs_profiles_in_order_and_writes_its_index(tmp_path: Path) -> None:
    results = tmp_path / "results"
    done = _dmsload(
        "suite",
        "--sandbox",
        "--profiles",
        "baseline,smoke",
        "--time-scale",
        "0.01",
        "--quiet",
        "--results-dir",
        str(results),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    index = json.loads((results / "suite.json").read_text())
    assert [p["name"] for p in index["profiles"]] == ["baseline", "smoke"]
    assert all(p["exit_code"] == 0 and p["http_reqs"] > 0 for p in index["profiles"])
    for entry in index["profiles"]:
        assert entry["summary"] == f"{entry['name']}.k6-summary.json"
        k6_summary = json.loads((results / entry["summary"]).read_text())
        assert set(k6_summary) == {"root_group", "options", "state", "metrics"}
        assert k6_summary["metrics"]["http_reqs"]["values"]["count"] == entry["http_reqs"]
        export = json.loads((results / entry["summary_export"]).read_text())
        assert export["metrics"]["http_reqs"]["count"] == entry["http_reqs"]
        assert entry["summary_json"] == f"{entry['name']}.summary.json"
        detail = json.loads((results / entry["summary_json"]).read_text())
        assert detail["schema"] == "dmsload-summary/1"
        assert detail["manifest"]["profile"]["name"] == entry["name"]
        loaded = [  # the timeline starts at t = 0: workloads' setup requests come before it
            series["total"]
            for series in detail["metrics"]["http_reqs"]["series"]
            if series["tags"]["scenario"] != "setup"
        ]
        assert sum(detail["timeseries"]["http_reqs"]) == sum(loaded) > 0
        junit = (results / entry["junit"]).read_text()
        assert junit.startswith("<?xml") and f'name="dmsload.{entry["name"]}"' in junit
    table = (results / "overview.md").read_text().splitlines()
    assert table[0] == "### dmsload suite" and table[4].startswith("| baseline | passed |")
    overview = done.stdout[done.stdout.index("█ SUITE") :]
    assert "baseline" in overview and "smoke" in overview and "passed" in overview


def test_suite_stops_at_the_first_failure_unless_told_to_keep_going(tmp_path: Path) -> None:
    profiles = f"{HERE / 'profiles' / 'fails.toml'},{HERE / 'profiles' / 'passes.toml'}"
    stopped = _dmsload(
        "suite", "--sandbox", "--profiles", profiles, "-q", "--results-dir", str(tmp_path / "a")
    )
    assert stopped.returncode == 99, stopped.stderr[-2000:]
    index = json.loads((tmp_path / "a" / "suite.json").read_text())
    assert [p["name"] for p in index["profiles"]] == ["fails"]
    assert index["not_run"] == ["passes"] and index["interrupted"] is False
    assert "1 profile(s) not run" in stopped.stderr
    assert any(line.split()[:3] == ["passes", "not", "run"] for line in stopped.stdout.splitlines())
    kept = _dmsload(
        "suite",
        "--sandbox",
        "--profiles",
        profiles,
        "-q",
        "--keep-going",
        "--cooldown",
        "0s",
        "--results-dir",
        str(tmp_path / "b"),
    )
    assert kept.returncode == 99
    index = json.loads((tmp_path / "b" / "suite.json").read_text())
    assert [(p["name"], p["exit_code"]) for p in index["profiles"]] == [
        ("fails", 99),
        ("passes", 0),
    ]


def test_suite_refuses_an_unknown_profile_naming_it() -> None:
    done = _dmsload("suite", "--profiles", "baseline,nosuch")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "dmsload: --profiles: no profile file 'profiles/nosuch.toml' (got 'nosuch')"
    )


def _children(pid: int) -> set[int]:
    """Every live descendant of `pid`, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(predicate: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.serial
def test_sigterm_while_the_sandbox_starts_exits_105_and_stops_it() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "dmsload", "run", "profiles/smoke.toml", "--sandbox", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROFILES.parent,
    )
    _wait_for(lambda: bool(_children(process.pid)), 20)  # the sandbox subprocess exists
    sandbox = _children(process.pid)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 105, stderr[-2000:]
    assert "dmsload: interrupted" in stderr and "Traceback" not in stderr
    _wait_for(lambda: not any(_alive(pid) for pid in sandbox), 10)


@pytest.mark.serial
def test_sigterm_between_suite_profiles_writes_the_index_and_exits_105(tmp_path: Path) -> None:
    results = tmp_path / "results"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dmsload",
            "suite",
            "--sandbox",
            "--profiles",
            "baseline,smoke",
            "--time-scale",
            "0.005",
            "--cooldown",
            "20s",
            "-q",
            "--results-dir",
            str(results),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROFILES.parent,
    )
    assert process.stderr is not None
    lines: list[str] = []
    for line in process.stderr:  # bounded: the cool-down line comes after one short profile
        lines.append(line)
        if "cooling down" in line:
            break
    sandbox = _children(process.pid)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 105, "".join(lines) + stderr[-2000:]
    index = json.loads((results / "suite.json").read_text())
    assert [p["name"] for p in index["profiles"]] == ["baseline"]
    assert index["not_run"] == ["smoke"] and index["interrupted"] is True
    assert "interrupted" in stderr and "█ SUITE" in stdout
    _wait_for(lambda: not any(_alive(pid) for pid in sandbox), 10)


def test_sandbox_args_reach_the_embedded_sandbox(tmp_path: Path) -> None:
    profile = tmp_path / "slow.toml"
    profile.write_text(
        '[scenarios.slow]\nexecutor = "shared-iterations"\nvus = 1\niterations = 4\n'
        'workload = "create"\noptions = { resource = "students" }\n'
    )
    export = tmp_path / "summary.json"
    done = _dmsload(
        "run",
        str(profile),
        "--sandbox",
        "--sandbox-arg=--concurrency-limit=1",
        "--sandbox-arg",
        "--service-time=60",
        "--quiet",
        "--summary-export",
        str(export),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    duration = json.loads(export.read_text())["metrics"]["http_req_duration"]
    # every request, setup's too, waited for the 60 ms service time (timed on the sandbox's
    # virtual clock, so a fraction of a millisecond may go to scheduling); unheld: about 1 ms
    assert duration["min"] >= 50


def test_a_sandbox_arg_the_sandbox_refuses_is_one_line_and_exit_2() -> None:
    done = _dmsload("run", "profiles/smoke.toml", "--sandbox", "--sandbox-arg=--latency=abc")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "dmsload: --sandbox-arg: Invalid value for '--latency': Input should be a valid number, "
        "unable to parse string as a number (got 'abc') (see 'dmsload sandbox --help')"
    ]
    done = _dmsload("run", "profiles/smoke.toml", "--sandbox-arg=--track-changes")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "dmsload: --sandbox-arg --track-changes: goes with --sandbox"
    ]
