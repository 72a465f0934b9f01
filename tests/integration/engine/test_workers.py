"""`--workers N` as a user runs it: real processes, a loopback echo server and the sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.serial  # worker processes: CPU-bound, elapsed-time bounds and signals

REPO = Path(__file__).resolve().parents[3]

PROFILE = """
name = "workers"
[scenarios.rate]
executor = "constant-arrival-rate"
rate = 40
duration = "2s"
pre_allocated_vus = 20  # 40/s needs 4 at 100 ms; the rest is for a busy CI machine
workload = "http"
options = { url = "${TARGET}/rate", expect_status = 200 }

[scenarios.shared]
executor = "shared-iterations"
vus = 4
iterations = 120
workload = "http"
options = { url = "${TARGET}/shared", expect_status = 200 }
"""


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dmsload", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        cwd=REPO,
    )


def _children(pid: int) -> list[int]:
    """The worker processes of `pid` (its direct children that are dmsload workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _wait_for_children(pid: int, count: int, timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # the spawn start method also starts a resource tracker: keep the workers only
        workers = [
            child
            for child in _children(pid)
            if "spawn_main" in Path(f"/proc/{child}/cmdline").read_text(errors="replace")
        ]
        if len(workers) >= count:
            return workers
        time.sleep(0.1)
    raise AssertionError(f"{pid} did not start {count} workers")


def _summary(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _count(document: dict[str, Any], metric: str) -> int:
    return int(document["metrics"][metric]["values"]["count"])


def _profile(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(PROFILE + extra)
    return path


THRESHOLDS = """
[thresholds]
http_req_failed = ["rate<0.01"]
"http_reqs{scenario:rate}" = ["count==80"]  # each worker's 40 alone would fail it
iterations = ["count<150"]  # fails on 200, as each worker's 100 alone would not
http_reqs = ["count<150"]  # the same on requests
"""


@dataclass(frozen=True)
class Run:
    """One `dmsload run` of PROFILE and THRESHOLDS with every export: its status and files."""

    code: int
    stderr: str
    directory: Path

    def file(self, name: str) -> str:
        return (self.directory / name).read_text()

    def summary(self) -> dict[str, Any]:
        return _summary(self.directory / "summary.json")


def _run_with_exports(directory: Path, target: str, *extra: str) -> Run:
    profile = _profile(directory, THRESHOLDS)
    process = _start(
        ["run", str(profile), "-q", "-e", f"TARGET={target}",
         "--summary-json", str(directory / "summary.json"), "--junit", str(directory / "junit.xml"),
         "--summary-export", str(directory / "k6.json"),
         "--out", f"json={directory / 'samples.ndjson'}", *extra]
    )  # fmt: skip
    _, err = process.communicate(timeout=120)
    return Run(process.returncode, err, directory)


@pytest.fixture(scope="module")
def one_process(echo: Any, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The run in one process (shared by the tests that compare or inspect it)."""
    return _run_with_exports(tmp_path_factory.mktemp("one"), echo.url)


@pytest.fixture(scope="module")
def two_workers(echo: Any, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The same run over `--workers 2`."""
    return _run_with_exports(tmp_path_factory.mktemp("two"), echo.url, "--workers", "2")


def test_two_workers_run_exactly_what_one_process_runs(one_process: Run, two_workers: Run) -> None:
    verdicts = {}
    for label, run in (("one", one_process), ("two", two_workers)):
        assert run.code == 99, run.stderr  # iterations count<150 fails in both
        document = run.summary()
        assert _count(document, "iterations") == 80 + 120
        assert _count(document, "http_reqs") == 200
        verdicts[label] = [(t["metric"], t["expression"], t["ok"]) for t in document["thresholds"]]
        assert document["manifest"]["execution_segment"] is None
    assert verdicts["one"] == verdicts["two"]
    assert ("iterations", "count<150", False) in verdicts["two"]
    assert ("http_reqs{scenario:rate}", "count==80", True) in verdicts["two"]
    assert "<failure" in two_workers.file("junit.xml")


def test_a_threshold_that_fails_only_on_merged_data_gives_99(two_workers: Run) -> None:
    # each worker makes 100 requests and 100 iterations, under the limits; together, 200
    assert two_workers.code == 99, two_workers.stderr
    metrics = json.loads(two_workers.file("k6.json"))["metrics"]
    assert metrics["http_reqs"]["count"] == 200
    assert metrics["http_reqs"]["thresholds"] == {"count<150": True}  # k6: true = failed
    assert metrics["iterations"]["thresholds"] == {"count<150": True}


LONG = """
name = "long"
[scenarios.loop]
executor = "constant-vus"
vus = 4
duration = "60s"
workload = "http"
options = { url = "${TARGET}/loop", expect_status = 200 }
"""


def test_abort_on_fail_stops_every_worker(slow_echo: Any, tmp_path: Path) -> None:
    profile = tmp_path / "long.toml"
    profile.write_text(
        LONG + '[thresholds]\nhttp_reqs = [{ threshold = "count<100", abort_on_fail = true }]\n'
    )
    out = tmp_path / "aborted.json"
    started = time.monotonic()
    process = _start(
        ["run", str(profile), "-q", "-e", f"TARGET={slow_echo.url}", "--workers", "2",
         "--summary-json", str(out)]
    )  # fmt: skip
    _, err = process.communicate(timeout=90)
    assert process.returncode == 99, err
    assert time.monotonic() - started < 40  # far before the 60 s the profile asks for
    assert "abort_on_fail: stopping every worker" in err
    document = _summary(out)
    assert document["state"]["aborted_by"] == {"metric": "http_reqs", "expression": "count<100"}
    assert document["state"]["elapsed_s"] < 20


@pytest.mark.parametrize("how", ["sigkill-worker", "sigint-parent"])
def test_a_dead_worker_or_a_signal_still_writes_the_merged_summary(
    how: str, slow_echo: Any, tmp_path: Path
) -> None:
    profile = tmp_path / "long.toml"
    profile.write_text(LONG)
    out = tmp_path / "summary.json"
    process = _start(
        ["run", str(profile), "-e", f"TARGET={slow_echo.url}", "--workers", "2",
         "--summary-json", str(out)]
    )  # fmt: skip
    workers = _wait_for_children(process.pid, 2)
    deadline = time.monotonic() + 60
    while "running (" not in (line := process.stderr.readline() if process.stderr else ""):
        assert line and time.monotonic() < deadline, "no progress line"
    time.sleep(1.5)  # both workers have reported at least once
    if how == "sigkill-worker":
        os.kill(workers[1], signal.SIGKILL)
    else:
        process.send_signal(signal.SIGINT)
    stdout, err = process.communicate(timeout=60)
    document = _summary(out)
    assert _count(document, "iterations") > 0
    if how == "sigkill-worker":
        assert process.returncode == 1, err
        assert f"(pid {workers[1]}) was killed by SIGKILL" in err
        assert document["state"]["error"].startswith("worker ")
        assert "was killed by SIGKILL" in stdout  # the summary's notes name it
    else:
        assert process.returncode == 105, err
        assert document["state"]["interrupted"] is True
        assert "stopping every worker gracefully" in err
    for pid in workers:  # no worker outlives the run
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )


def test_workers_with_the_sandbox_fetch_one_token_each(tmp_path: Path) -> None:
    profile = tmp_path / "dms.toml"
    profile.write_text(
        """
name = "dms-workers"
[scenarios.create]
executor = "shared-iterations"
vus = 4
iterations = 40
workload = "create"
options = { resource = "students" }

[scenarios.rate]
executor = "constant-arrival-rate"
rate = 20
duration = "1s"
pre_allocated_vus = 2
workload = "create"
options = { resource = "students" }

[thresholds]
http_req_failed = ["rate<0.01"]
"""
    )
    documents = {}
    for label, extra in (("one", []), ("two", ["--workers", "2"])):
        out = tmp_path / f"{label}.json"
        process = _start(
            ["run", str(profile), "-q", "--sandbox", "--summary-json", str(out), *extra]
        )
        _, err = process.communicate(timeout=180)
        assert process.returncode == 0, err[-3000:]
        documents[label] = _summary(out)
    for document in documents.values():
        loaded = [
            s["count"]
            for s in document["metrics"]["iterations"]["series"]
            if s["tags"].get("scenario") != "setup"
        ]
        assert sum(loaded) == 40 + 20
    tokens = {k: _count(d, "auth_token_requests") for k, d in documents.items()}
    assert tokens == {"one": 1, "two": 2}


def test_out_streams_once_with_a_worker_tag_and_the_timeline_adds_up(two_workers: Run) -> None:
    assert two_workers.code == 99, two_workers.stderr  # its thresholds fail on merged data
    assert two_workers.summary()["state"]["error"] is None
    points = [json.loads(line) for line in two_workers.file("samples.ndjson").splitlines()]
    requests = [p for p in points if p.get("type") == "Point" and p["metric"] == "http_reqs"]
    assert len(requests) == 200
    assert {p["data"]["tags"]["worker"] for p in requests} == {"0", "1"}
    vus = [p for p in points if p.get("type") == "Point" and p["metric"] == "vus"]
    assert vus and all("worker" not in p["data"]["tags"] for p in vus)  # the parent's own
    timeline = two_workers.summary()["timeseries"]
    assert sum(timeline["http_reqs"]) == 200


def test_suite_runs_each_profile_in_workers(run_cli: Any, echo: Any, tmp_path: Path) -> None:
    profile = tmp_path / "workers.toml"
    profile.write_text(PROFILE.replace("${TARGET}", echo.url))
    results = tmp_path / "results"
    done = run_cli(
        "suite", "--profiles", str(profile), "--workers", "2", "--cooldown", "0s", "-q",
        "--results-dir", str(results),
    )  # fmt: skip
    assert done.code == 0, done.stderr
    index = json.loads((results / "suite.json").read_text())
    assert [p["http_reqs"] for p in index["profiles"]] == [200]
    detail = _summary(results / index["profiles"][0]["summary_json"])
    assert _count(detail, "iterations") == 200


def test_a_worker_that_cannot_connect_stops_the_run_with_1(tmp_path: Path) -> None:
    from dmsload.sandbox.testing import running_sandbox

    profile = tmp_path / "p.toml"
    profile.write_text(
        '[scenarios.one]\nexecutor = "constant-vus"\nvus = 2\nduration = "30s"\n'
        'workload = "create"\noptions = { resource = "students" }\n'
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DMSLOAD_")}
    with running_sandbox(seed_descriptors=True) as sandbox:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "dmsload", "run", str(profile), "-q", "--workers", "2"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env={
                **clean,
                "DMSLOAD_DMS_URL": sandbox.base_url,
                "DMSLOAD_CLIENT_KEY": sandbox.client_key,
                "DMSLOAD_CLIENT_SECRET": "s3cr3t-not-this-one",
            },
        )
    assert done.returncode == 1, done.stderr
    assert time.monotonic() - started < 60  # not the 30 s of the profile after a failed setup
    assert "the run failed: worker " in done.stderr and "401" in done.stderr, done.stderr
    assert "s3cr3t-not-this-one" not in done.stdout + done.stderr
