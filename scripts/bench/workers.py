"""Throughput and CPU per request of `--workers 1` and `--workers 2` where the client is the limit.

nginx (pinned to one core with taskset) serves a 64 KiB JSON document on loopback; dmsload
runs a closed loop of GETs, each with a check that parses the body (`expect_json`). Printed,
for a plain run, `--workers 1`, a pool of one worker process (the Python API: what the
machinery costs), and `--workers 2`: req/s and CPU µs per request (dmsload's processes only),
then the ratios the targets are about (2 workers ≥ 1.7× one; `--workers 1` ≤ 5% dearer than a
plain run).

    python scripts/bench/workers.py [--vus 32] [--duration 15]

nginx comes from Debian (`apt-get install -y nginx`). Load goes to 127.0.0.1 only and every
run is bounded by --duration. On a 2-core machine nginx shares a core with one worker.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from peers import nginx, taskset

POOL_OF_ONE = """
import sys
from pathlib import Path
from dmsload.cli_options import load_or_exit
from dmsload.engine.runner import RunOptions
from dmsload.engine.workers import run_workers
from dmsload.metrics import SummaryContext, write_k6_summary_export

profile = load_or_exit(Path(sys.argv[1]), None, None, None, 1.0)
result = run_workers(profile, RunOptions(quiet=True), 1)
ctx = SummaryContext(elapsed_s=result.elapsed_s, trend_stats=profile.summary_trend_stats,
                     scenarios=result.scenario_names, interrupted=False, notes=[], mode="compact")
write_k6_summary_export(Path(sys.argv[2]), result.registry, result.thresholds, ctx)
"""


def _document() -> bytes:
    """A JSON document of 64 KiB: a list of student-like records."""
    records = []
    size = 2
    index = 0
    while True:
        record = {
            "studentUniqueId": f"S-{index:08d}",
            "firstName": "Ava",
            "lastSurname": "Garcia",
            "birthDate": "2010-05-17",
            "grades": [index % 7, index % 11, index % 13],
        }
        text = json.dumps(record)
        if size + len(text) + 1 > 64 * 1024:
            break
        records.append(record)
        size += len(text) + 1
        index += 1
    body = json.dumps(records).encode()
    return body + b" " * (64 * 1024 - len(body))


def measure(cmd: list[str], timeout: float) -> float:
    """Run a command; return the CPU seconds it and its descendants used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=False, timeout=timeout, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run(label: str, cmd: list[str], export: Path, duration: int) -> dict[str, float | str]:
    cpu = measure(cmd, duration + 120)
    metrics = json.loads(export.read_text())["metrics"]
    count = metrics["http_reqs"]["count"]
    failed = metrics.get("checks", {}).get("fails", 0)
    return {
        "label": label,
        "req_s": count / duration,
        "cpu_us_per_req": cpu * 1e6 / count if count else float("nan"),
        "requests": count,
        "failed_checks": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vus", type=int, default=32)
    parser.add_argument("--duration", type=int, default=15)
    args = parser.parse_args()
    dmsload = str(Path(sys.executable).with_name("dmsload"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp, nginx({"doc.json": _document()}) as base:
        workdir = Path(tmp)
        url = f"{base}/doc.json"
        profile = workdir / "bench.toml"
        profile.write_text(
            f'vus = {args.vus}\nduration = "{args.duration}s"\nworkload = "http"\n'
            f'options = {{ url = "{url}", name = "doc", expect_json = true }}\n'
        )
        plain = [dmsload, "run", str(profile), "--quiet", "--summary-export"]
        cases = [
            ("plain", [*taskset("0"), *plain], []),
            ("--workers 1", [*taskset("0"), *plain], ["--workers", "1"]),
            (
                "pool of 1",
                [*taskset("0"), sys.executable, "-c", POOL_OF_ONE, str(profile)],
                [],
            ),
            ("--workers 2", [*taskset("0,1"), *plain], ["--workers", "2"]),
        ]
        for label, cmd, extra in cases:
            export = workdir / f"{label.strip('-').replace(' ', '_')}.json"
            rows.append(run(label, [*cmd, str(export), *extra], export, args.duration))
    print(
        f"closed loop, {args.vus} VUs, {args.duration}s, GET of a 64 KiB JSON document from "
        f"nginx (pinned to CPU 1) with a check that parses it; {os.cpu_count()} CPUs"
    )
    print(f"{'run':<12} {'req/s':>8} {'CPU µs/req':>11} {'requests':>9} {'failed checks':>14}")
    for row in rows:
        print(
            f"{row['label']:<12} {row['req_s']:>8.0f} {row['cpu_us_per_req']:>11.1f} "
            f"{row['requests']:>9.0f} {row['failed_checks']:>14}"
        )
    by = {str(row["label"]): row for row in rows}

    def ratio(a: str, b: str, key: str) -> float:
        return float(by[a][key]) / float(by[b][key])

    print(
        f"--workers 2 / --workers 1 req/s: {ratio('--workers 2', '--workers 1', 'req_s'):.2f}x "
        "(target ≥ 1.7x)"
    )
    for label in ("--workers 1", "pool of 1"):
        cost = ratio(label, "plain", "cpu_us_per_req") - 1
        print(f"{label} CPU per request against plain: {cost:+.1%} (target ≤ +5%)")


if __name__ == "__main__":
    main()
