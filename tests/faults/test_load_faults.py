"""Faults during the load: dmsload keeps running and counts each affected request exactly once,
as a failed request with its `status` and `error` tags, checked against the server's count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dmsload.engine.runner import ExitCode
from dmsload.sandbox.testing import SandboxHandle

from .conftest import (
    FakeServer,
    Handler,
    count,
    dmsload,
    fake_dms,
    run_toml,
    sandbox_env,
    served,
    settings_for,
    trend_max_ms,
)

Start = Callable[..., FakeServer]


def _http(url: str, executor: str = "constant-vus", **keys: object) -> str:
    lines = [f'executor = "{executor}"', 'workload = "http"', f'options = {{ url = "{url}" }}']
    lines += [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    return "[scenarios.load]\n" + "\n".join(lines) + "\n"


def _ok(h: Handler) -> None:
    h.reply(200, b"ok")


@pytest.mark.serial
def test_target_down_mid_run_and_back_5_s_later(fake_server: Start, tmp_path: Path) -> None:
    first = fake_server(_ok)
    port = first.server_address[1]
    servers = [first]

    def outage() -> None:
        time.sleep(1.0)
        first.close()
        time.sleep(5.0)
        servers.append(fake_server(_ok, port))

    flap = threading.Thread(target=outage)
    flap.start()
    result = run_toml(_http(f"{first.url}/x", vus=2, duration="8s"), tmp_path)
    flap.join()
    assert result.exit_code == ExitCode.OK and result.error is None
    seen = sum(server.hits["GET /x"] for server in servers)
    answered = sum(server.answered["GET /x"] for server in servers)
    assert count(result, status="200") == answered  # every answered request, once
    refused = count(result, status="0", error="connection refused")
    assert refused > 0  # the outage, counted as failed requests
    assert count(result) == answered + count(result, status="0")  # nothing else happened
    assert count(result, status="0") >= seen - answered  # requests cut by the outage failed
    assert servers[1].hits["GET /x"] > 10  # the VUs came back when the target did


def test_a_connection_reset_mid_body_is_one_failed_request(
    fake_server: Start, tmp_path: Path
) -> None:
    def cut(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "10000")
        h.end_headers()
        h.wfile.write(b"x" * 100)
        h.wfile.flush()
        h.close_connection = True
        h.connection.shutdown(2)

    server = fake_server(cut)
    result = run_toml(_http(f"{server.url}/x", "shared-iterations", vus=2, iterations=20), tmp_path)
    assert result.exit_code == ExitCode.OK
    assert count(result) == count(result, status="0") == server.hits["GET /x"] == 20
    assert count(result, error="read error") == 20


@pytest.mark.serial
def test_responses_slower_than_the_timeout(fake_server: Start, tmp_path: Path) -> None:
    def slow(h: Handler) -> None:
        time.sleep(1.5)
        h.reply(200, b"late")

    server = fake_server(slow)
    profile = 'request_timeout = "300ms"\n' + _http(f"{server.url}/x", vus=2, duration="2s")
    started = time.monotonic()
    result = run_toml(profile, tmp_path)
    assert time.monotonic() - started < 6
    timeouts = count(result, status="0", error="request timeout")
    assert timeouts == count(result) == server.hits["GET /x"] >= 8  # ~2 VUs x 2 s / 0.3 s
    assert trend_max_ms(result, "http_req_duration") < 300 + 250  # no VU blocked longer


@pytest.mark.serial
def test_a_stall_under_constant_arrival_rate_shows_in_intended_latency_and_drops(
    fake_server: Start, tmp_path: Path
) -> None:
    stall = {"until": 0.0}

    def stalling(h: Handler) -> None:
        wait = stall["until"] - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        h.reply(200, b"ok")

    server = fake_server(stalling)
    profile = _http(
        f"{server.url}/x",
        "constant-arrival-rate",
        rate=20,
        duration="3s",
        pre_allocated_vus=3,
        max_vus=3,
    )
    timer = threading.Timer(0.8, lambda: stall.update(until=time.monotonic() + 1.5))
    timer.start()
    result = run_toml(profile, tmp_path)
    timer.join()
    dropped = count(result, "dropped_iterations")
    assert dropped >= 15  # 1.5 s at 20/s with every VU stuck
    assert count(result) + dropped == 60  # the schedule, exactly
    assert count(result) == server.hits["GET /x"]
    assert trend_max_ms(result, "http_req_latency_intended") >= 1200


@pytest.mark.parametrize("status", [500, 503])
def test_error_storms_are_counted_tagged_and_fail_thresholds(
    sandbox: SandboxHandle, tmp_path: Path, status: int
) -> None:
    sandbox.set_faults(error_rate=0.5, error_status=status, retry_after_s=1, seed=status)
    profile = """
[scenarios.load]
executor = "constant-vus"
vus = 3
duration = "2s"
workload = "create"
options = { resource = "schools" }

[thresholds]
http_req_failed = ["rate<0.1"]
"""
    (tmp_path / "p.toml").write_text(profile)
    export = tmp_path / "s.json"
    done = dmsload(
        "run",
        "p.toml",
        "-q",
        "--summary-export",
        str(export),
        "--summary-json",
        "run.summary.json",
        cwd=tmp_path,
        env=sandbox_env(sandbox),
    )
    assert done.returncode == ExitCode.THRESHOLDS_FAILED, done.stderr
    metrics = json.loads(export.read_text())["metrics"]
    failed = served(sandbox, status, "POST")
    assert failed > 10
    assert metrics["http_req_failed"]["passes"] == failed  # k6's polarity: passes = failed
    assert metrics["http_reqs"]["count"] == failed + served(sandbox, 201, "POST")
    assert "http_req_failed" in done.stdout and "rate<0.1" in done.stdout
    detail = json.loads((tmp_path / "run.summary.json").read_text())
    by_status = {
        series["tags"].get("status"): series["total"]
        for series in detail["metrics"]["http_reqs"]["series"]
    }
    assert by_status[str(status)] == failed
    report = dmsload("report", "run.summary.json", "-o", "r.html", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "r.html").read_text()
    assert f"{status}" in html and "http_req_failed" in html


@pytest.mark.serial  # more than 50 429s from 2 VUs in 2 s: a throughput
def test_429_is_counted_and_the_vus_go_on_by_default(
    sandbox: SandboxHandle, settings: object, tmp_path: Path
) -> None:
    sandbox.set_faults(rate_limit=30, rate_limit_window_s=1)
    profile = """
[scenarios.load]
executor = "constant-vus"
vus = 2
duration = "2s"
workload = "upsert-same"
"""
    result = run_toml(profile, tmp_path, settings)  # type: ignore[arg-type]
    limited = count(result, status="429", scenario="load")
    assert limited == served(sandbox, 429, "POST") > 50  # no waiting: many 429s, each once
    assert count(result, "api_errors", status="429") == limited


@pytest.mark.serial
def test_token_endpoint_500_after_the_first_token_stops_the_run_with_exit_1(
    fake_server: Start, tmp_path: Path
) -> None:
    issued = {"n": 0}

    def token(h: Handler) -> None:
        issued["n"] += 1
        if issued["n"] == 1:
            h.reply(200, {"access_token": "t1", "expires_in": 3})
        else:
            h.reply(500, {"error": "server_error", "error_description": "token store down"})

    server = fake_server(fake_dms(token=token))
    profile = """
[scenarios.load]
executor = "constant-vus"
vus = 2
duration = "60s"
workload = "create"
options = { resource = "students", think_time = "100ms" }
"""
    started = time.monotonic()
    result = run_toml(profile, tmp_path, settings_for(server.url, tmp_path))
    assert time.monotonic() - started < 30
    assert result.exit_code == ExitCode.CANNOT_PROCEED
    assert result.error is not None and "no valid token" in result.error
    assert "answered 500: token store down" in result.error
    assert issued["n"] >= 1 + 2 * 4  # retried with backoff while the token lasted, and after
    # no data request failed for want of a token: each one sent was answered 201
    assert count(result, status="201") == server.hits["POST /data/ed-fi/students"] > 10
    failed = result.registry.view("http_req_failed")
    assert failed is not None and failed.rate_parts()[0] == 0


@pytest.mark.serial
def test_a_token_that_expires_mid_run_is_refreshed_with_no_failed_request(
    sandbox: SandboxHandle, settings: object, tmp_path: Path
) -> None:
    sandbox.set_faults(token_lifetime_s=2)
    profile = """
[scenarios.load]
executor = "constant-vus"
vus = 2
duration = "4s"
workload = "create"
options = { resource = "students", think_time = "50ms" }
"""
    result = run_toml(profile, tmp_path, settings)  # type: ignore[arg-type]
    failed = result.registry.view("http_req_failed")
    assert failed is not None and failed.rate_parts()[0] == 0
    assert count(result, "auth_token_requests", status="200") >= 2
    assert sandbox.state.stats.count("POST /oauth/token", 200) == count(
        result, "auth_token_requests"
    )


@pytest.mark.parametrize("expires_in", [1_764_620_000, 0, -5, None, "soon"])
def test_an_absurd_expires_in_assumes_a_sane_lifetime_and_warns_once(
    fake_server: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str], expires_in: object
) -> None:
    def token(h: Handler) -> None:
        body: dict[str, object] = {"access_token": "t1"}
        if expires_in is not None:
            body["expires_in"] = expires_in
        h.reply(200, body)

    server = fake_server(fake_dms(token=token))
    profile = """
[scenarios.load]
executor = "shared-iterations"
vus = 2
iterations = 30
workload = "create"
options = { resource = "students" }
"""
    result = run_toml(profile, tmp_path, settings_for(server.url, tmp_path))
    assert result.exit_code == ExitCode.OK
    assert server.hits["POST /oauth/token"] == 1  # not refetched on every request
    assert count(result, status="201") == 30
    warnings = [line for line in capsys.readouterr().err.splitlines() if "expires_in" in line]
    assert len(warnings) == 1 and "assuming 300 s" in warnings[0]


def test_a_truncated_json_body_fails_the_check_and_the_vu_lives_on(
    fake_server: Start, tmp_path: Path
) -> None:
    def data(h: Handler) -> None:
        if h.command == "POST":
            h.reply(201, b"", {"Location": f"{h.path}/{abs(hash(h.body))}"})
        elif "totalCount" in h.path:
            h.reply(200, b"[]", {"Total-Count": "5"})
        else:
            h.reply(200, b'[{"studentUniqueId": "a", "firstNa')

    server = fake_server(fake_dms(data=data))
    profile = """
[scenarios.load]
executor = "shared-iterations"
vus = 2
iterations = 12
workload = "query"
options = { seed_students = 5, kinds = ["limit", "field"] }
"""
    result = run_toml(profile, tmp_path, settings_for(server.url, tmp_path))
    assert result.exit_code == ExitCode.OK
    checks = result.registry.view("checks", {"check": "query limit: returns a non-empty page"})
    assert checks is not None and checks.rate_parts() == (0, 6)
    assert count(result, "iterations") == 12  # every iteration completed: no VU died


HUGE = 100 * 1024 * 1024


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_100_mb_body_fails_the_request_and_memory_stays_bounded(
    fake_server: Start, tmp_path: Path, framing: str
) -> None:
    block = b"x" * (1024 * 1024)

    def huge(h: Handler) -> None:
        h.send_response(200)
        if framing == "content-length":
            h.send_header("Content-Length", str(HUGE))
        else:
            h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for _ in range(HUGE // len(block)):
            if framing == "chunked":
                h.wfile.write(b"%x\r\n" % len(block) + block + b"\r\n")
            else:
                h.wfile.write(block)
        if framing == "chunked":
            h.wfile.write(b"0\r\n\r\n")

    server = fake_server(huge)
    (tmp_path / "p.toml").write_text(
        _http(f"{server.url}/big", "shared-iterations", vus=2, iterations=4)
    )
    script = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from dmsload.engine.runner import RunOptions, run_profile\n"
        "from dmsload.profile import load_profile\n"
        "from dmsload.workloads import builtin_workloads\n"
        "p = load_profile(Path('p.toml'), builtin_workloads(), env={})\n"
        "r = run_profile(p, RunOptions(quiet=True, handle_signals=False))\n"
        "v = r.registry.view('http_reqs', {'error': 'response body too large'})\n"
        "print(int(v.counter_total()) if v else 0,"
        " resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    too_large, peak_mib = map(int, done.stdout.split())
    assert too_large == 4 == server.hits["GET /big"]
    assert peak_mib < 200, peak_mib  # two VUs buffering 100 MB each would pass 400 MiB


def test_a_full_disk_under_out_counts_lost_samples_and_does_not_slow_requests(
    fake_server: Start, tmp_path: Path
) -> None:
    server = fake_server(_ok)
    (tmp_path / "p.toml").write_text(
        _http(f"{server.url}/x", "shared-iterations", vus=2, iterations=200)
    )
    done = dmsload(
        "run", "p.toml", "--out", "json=/dev/full", "--summary-export", "s.json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["metrics"]["http_reqs"]["count"] == 200 == server.hits["GET /x"]
    said = done.stdout + done.stderr
    assert "output json=/dev/full: 0 samples written" in said, said[-2000:]
    assert "could not be delivered" in said and "No space left on device" in said


@pytest.mark.serial
def test_a_stalled_disk_under_out_does_not_slow_the_requests(
    fake_server: Start, tmp_path: Path
) -> None:
    """The output's writer is stuck (a FIFO nobody reads for 3 s): the schedule still runs
    to time, and once the disk moves again every sample is written."""
    server = fake_server(_ok)
    fifo = tmp_path / "slow.ndjson"
    os.mkfifo(fifo)
    got = bytearray()

    def slow_disk() -> None:
        with fifo.open("rb") as reader:  # opens when dmsload opens its end
            time.sleep(3.0)
            while chunk := reader.read(65536):
                got.extend(chunk)

    disk = threading.Thread(target=slow_disk)
    disk.start()
    (tmp_path / "p.toml").write_text(
        _http(
            f"{server.url}/x",
            "constant-arrival-rate",
            rate=50,
            duration="2s",
            pre_allocated_vus=5,
            max_vus=5,
        )
    )
    done = dmsload(
        "run", "p.toml", "-q", "--out", f"json={fifo}", "--summary-export", "s.json", cwd=tmp_path
    )
    disk.join(timeout=60)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "s.json").read_text())["metrics"]
    assert metrics["http_reqs"]["count"] == 100 == server.hits["GET /x"]
    assert metrics["dropped_iterations"]["count"] == 0  # no iteration waited for the disk
    reqs = [line for line in bytes(got).splitlines() if b'"metric":"http_reqs"' in line]
    assert len([r for r in reqs if b'"type":"Point"' in r]) == 100
