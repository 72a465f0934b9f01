"""The engine against a real HTTP server on loopback: counts, schedules, thresholds, exits."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from dmsload.engine.runner import ExitCode, Runner, RunOptions, RunResult, run_profile
from dmsload.profile import profile_from_mapping
from dmsload.workloads import builtin_workloads


def _load(doc: dict[str, Any]) -> Any:
    return profile_from_mapping(doc, builtin_workloads(), source="test.toml")


def _run(doc: dict[str, Any]) -> RunResult:
    return run_profile(_load(doc), RunOptions(quiet=True, handle_signals=False))


def _http(url: str, **extra: Any) -> dict[str, Any]:
    return {"workload": "http", "options": {"url": url, **extra}}


def _count(result: RunResult, metric: str, **tags: str) -> float:
    view = result.registry.view(metric, tags or None)
    return 0.0 if view is None else view.value("count", result.elapsed_s)


@pytest.mark.serial
def test_constant_arrival_rate_makes_200_iterations_in_4s(echo: Any) -> None:
    echo.reset()
    result = _run(
        {
            "scenarios": {
                "reads": {
                    "executor": "constant-arrival-rate",
                    "rate": 50,
                    "duration": "4s",
                    "pre_allocated_vus": 10,
                    "max_vus": 20,
                    **_http(echo.url + "/health", expect_status=200),
                }
            }
        }
    )
    iterations = _count(result, "iterations")
    assert abs(iterations - 200) <= 1
    assert echo.stats()["requests"] == iterations == _count(result, "http_reqs")
    assert _count(result, "dropped_iterations") == 0
    assert result.exit_code == ExitCode.OK


def test_shared_iterations_makes_exactly_300(echo: Any) -> None:
    echo.reset()
    result = _run(
        {
            "scenarios": {
                "bulk": {
                    "executor": "shared-iterations",
                    "vus": 10,
                    "iterations": 300,
                    **_http(echo.url + "/x"),
                }
            }
        }
    )
    assert _count(result, "iterations") == 300
    assert echo.stats()["requests"] == 300
    assert echo.stats()["max_open"] <= 10


def test_per_vu_iterations_runs_each_vus_share(echo: Any) -> None:
    echo.reset()
    result = _run(
        {
            "scenarios": {
                "pv": {
                    "executor": "per-vu-iterations",
                    "vus": 4,
                    "iterations": 25,
                    **_http(echo.url + "/x"),
                }
            }
        }
    )
    assert _count(result, "iterations") == 100
    assert echo.stats()["requests"] == 100


@pytest.mark.serial
def test_ramping_vus_reaches_each_stage_target(echo: Any) -> None:
    doc = {
        "scenarios": {
            "ramp": {
                "executor": "ramping-vus",
                "start_vus": 0,
                "graceful_ramp_down": "0s",
                "stages": [
                    {"duration": "1s", "target": 4},
                    {"duration": "1500ms", "target": 4},
                    {"duration": "1s", "target": 8},
                    {"duration": "1500ms", "target": 8},
                    {"duration": "1s", "target": 2},
                    {"duration": "1500ms", "target": 2},
                ],
                **_http(echo.url + "/x"),
            }
        }
    }
    runner = Runner(_load(doc), RunOptions(quiet=True, handle_signals=False))
    samples: list[tuple[float, int]] = []

    async def main() -> RunResult:
        async with anyio.create_task_group() as tg:

            async def sample() -> None:
                while True:
                    await anyio.sleep(0.05)
                    active = sum(rt.progress.active_vus for rt in runner._runtimes)
                    samples.append((runner.elapsed_s(), active))

            tg.start_soon(sample)
            result = await runner.run()
            tg.cancel_scope.cancel()
        return result

    result = anyio.run(main)

    def during(lo: float, hi: float) -> set[int]:
        return {vus for t, vus in samples if lo <= t <= hi}

    assert during(1.3, 2.3) == {4}
    assert during(3.8, 4.8) == {8}
    assert during(6.3, 7.3) == {2}
    assert max(v for _, v in samples) == 8
    assert result.exit_code == ExitCode.OK


@pytest.mark.serial
def test_ramping_arrival_rate_follows_the_area(echo: Any) -> None:
    echo.reset()
    result = _run(
        {
            "scenarios": {
                "ramp": {
                    "executor": "ramping-arrival-rate",
                    "start_rate": 0,
                    "pre_allocated_vus": 5,
                    "stages": [{"duration": "2s", "target": 40}, {"duration": "1s", "target": 40}],
                    **_http(echo.url + "/x"),
                }
            }
        }
    )
    # area: 2s ramp 0→40 = 40, then 1s at 40 = 40
    assert _count(result, "iterations") == 80
    assert echo.stats()["requests"] == 80


@pytest.mark.serial
def test_arrival_rate_drops_iterations_when_vus_run_out(slow_echo: Any) -> None:
    result = _run(
        {
            "scenarios": {
                "starved": {
                    "executor": "constant-arrival-rate",
                    "rate": 100,
                    "duration": "2s",
                    "pre_allocated_vus": 1,
                    "max_vus": 1,
                    **_http(slow_echo.url + "/x"),
                }
            }
        }
    )
    iterations = _count(result, "iterations")
    dropped = _count(result, "dropped_iterations")
    assert dropped > 100
    assert iterations + dropped == pytest.approx(200, abs=2)
    assert any("Insufficient VUs" in w for w in result.warnings)


@pytest.mark.serial
def test_p50_is_within_2ms_of_a_20ms_server(slow_echo: Any) -> None:
    result = _run(
        {
            "scenarios": {
                "open": {
                    "executor": "constant-arrival-rate",
                    "rate": 100,
                    "duration": "3s",
                    "pre_allocated_vus": 10,
                    "max_vus": 20,
                    **_http(slow_echo.url + "/x"),
                }
            }
        }
    )
    view = result.registry.view("http_req_duration")
    assert view is not None
    med = view.value("med", result.elapsed_s)
    assert 20.0 <= med <= 22.0, med
    intended = result.registry.view("http_req_latency_intended")
    assert intended is not None and intended.value("med", result.elapsed_s) >= med


def test_connection_errors_are_failed_requests_not_crashes() -> None:
    # port 9 (discard) on loopback: nothing listens there
    result = _run(
        {
            "scenarios": {
                "dead": {
                    "executor": "shared-iterations",
                    "vus": 2,
                    "iterations": 6,
                    **_http("http://127.0.0.1:9/x"),
                }
            }
        }
    )
    assert _count(result, "iterations") == 6
    failed = result.registry.view("http_req_failed")
    assert failed is not None and failed.value("rate", result.elapsed_s) == 1.0
    assert result.registry.view("http_reqs", {"status": "0", "error": "connection refused"})


# ---- the CLI: exit statuses, exports, signals --------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(text)
    return path


def _profile(url: str, thresholds: str, duration: str = "2s") -> str:
    return f"""
name = "cli"
[scenarios.s]
executor = "constant-arrival-rate"
rate = 20
duration = "{duration}"
pre_allocated_vus = 4
workload = "http"
options = {{ url = "{url}", expect_status = 200 }}

[thresholds]
{thresholds}
"""


def test_passing_thresholds_exit_0(run_cli: Any, echo: Any, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _profile(
            echo.url + "/ok",
            'http_req_failed = ["rate<0.01"]\n"http_req_duration{scenario:s}" = ["p(95)<1000"]',
        ),
    )
    done = run_cli("run", str(path), "--quiet", "--no-color")
    assert done.code == 0, done.stderr
    assert "http_req_duration" in done.stdout


def test_failing_threshold_exits_99(run_cli: Any, echo: Any, tmp_path: Path) -> None:
    path = _write(tmp_path, _profile(echo.url + "/x?status=500", 'http_req_failed = ["rate<0.01"]'))
    export = tmp_path / "summary.json"
    done = run_cli("run", str(path), "--quiet", "--summary-export", str(export))
    assert done.code == 99, done.stderr
    data = json.loads(export.read_text())
    assert (
        data["metrics"]["http_req_failed"]["thresholds"]["rate<0.01"] is True
    )  # k6: true = failed


@pytest.mark.serial
def test_abort_on_fail_stops_early_with_99(run_cli: Any, echo: Any, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _profile(
            echo.url + "/x?status=503",
            'http_req_failed = [{ threshold = "rate<0.5", abort_on_fail = true }]',
            duration="30s",
        ),
    )
    started = time.monotonic()
    done = run_cli("run", str(path), "--quiet")
    assert done.code == 99
    assert time.monotonic() - started < 15


def test_invalid_profile_exits_2_with_the_key_path(run_cli: Any, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[scenarios.spike]
executor = "ramping-vus"
workload = "http"
options = { url = "http://127.0.0.1:9/" }
stages = [{ duration = "1s", target = 5 }, { duration = "1s", target = -1 }]
""",
    )
    done = run_cli("run", str(path))
    assert done.code == 2
    assert f"{path}: scenarios.spike.stages[1].target:" in done.stderr
    done = run_cli("validate", str(path))
    assert done.code == 2


@pytest.mark.serial
def test_sigint_mid_run_exits_105_and_writes_the_export(echo: Any, tmp_path: Path) -> None:
    path = _write(tmp_path, _profile(echo.url + "/ok", 'http_reqs = ["count>0"]', duration="60s"))
    export = tmp_path / "summary.json"
    before = echo.stats()["requests"]
    process = subprocess.Popen(
        [sys.executable, "-m", "dmsload", "run", str(path), "--summary-export", str(export)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    echo.wait_for_requests(more_than=before)  # the run is past start-up and sending
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=40)
    assert process.returncode == 105, stderr
    data = json.loads(export.read_text())
    assert data["metrics"]["http_reqs"]["count"] > 10
    assert "interrupted" in stdout


@pytest.mark.serial
def test_second_sigint_stops_at_once(slow_echo: Any, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        f"""
[scenarios.s]
executor = "constant-vus"
vus = 2
duration = "60s"
graceful_stop = "60s"
workload = "http"
options = {{ url = "{slow_echo.url}/x" }}
""",
    )
    before = slow_echo.stats()["requests"]
    process = subprocess.Popen(
        [sys.executable, "-m", "dmsload", "run", str(path), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    slow_echo.wait_for_requests(more_than=before)  # the run is past start-up and sending
    process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=20)
    assert process.returncode == 105
