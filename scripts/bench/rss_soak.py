#!/usr/bin/env python3
"""Memory over a long run: dmsload's RSS through 30 minutes of mixed-crud at 1,000 iterations/s.

dmsload runs profiles/mixed-crud.toml's scenario (constant-arrival-rate, C/R/U/D/Q
20/40/20/5/15 on students, at most 200 VUs, all 200 allocated before the start so that VUs
added after a dropped iteration do not count as growth) against a fresh
`dmsload sandbox --latency MS` on loopback, for --minutes. It is the workload that exercises
what grows in real use: documents each VU keeps to read, update and delete, URLs with ids,
per-request tags, error texts. The RSS of the dmsload process is read from /proc every
--every seconds. Only the client is judged: the sandbox keeps every stored document in memory,
so its own RSS grows with the run by design.

The check passes when the RSS growth from the first minute's sample to the end stays under
--limit percent (5 by default). Printed: a sample a minute, RSS at 1 minute, at the end and its
peak, the growth, and what the run did (requests, failures, dropped iterations). Exit 0 when it
passes, 1 when the growth is at or above the limit, or when the run failed (a run whose requests
fail exercises nothing), 2 on bad arguments.

    nice -n 19 .venv/bin/python scripts/bench/rss_soak.py              # 30 minutes
    .venv/bin/python scripts/bench/rss_soak.py --ci                    # 2.5 minutes (.ci/run)
    .venv/bin/python scripts/bench/rss_soak.py --minutes 10 --rate 500

Pinned where possible: dmsload on CPU 0, the sandbox on CPU 1 (`taskset`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dms_workloads import CLIENT_KEY, CLIENT_SECRET, sandbox
from peers import DMSLOAD, machine, taskset

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
CI_MINUTES = 2.5
"""`--ci`: long enough to judge the growth after the first minute, short enough for CI."""


def rss_mb(pid: int) -> float | None:
    """The resident set of one process, in MB (None once it has exited: a zombie has none)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * PAGE_BYTES / 1e6 if pages else None


def profile(rate: int, seconds: int) -> str:
    """profiles/mixed-crud.toml's scenario at `rate` for `seconds`, its 200 VUs allocated at
    the start, with no thresholds."""
    return (
        "[scenarios.mixed_crud]\n"
        'executor = "constant-arrival-rate"\n'
        f'rate = {rate}\ntime_unit = "1s"\nduration = "{seconds}s"\n'
        "pre_allocated_vus = 200\nmax_vus = 200\n"
        'workload = "mixed-crud"\n'
        'options = { resource = "students", weights = '
        "{ create = 20, read = 40, update = 20, delete = 5, query = 15 } }\n"
    )


@dataclass(frozen=True)
class Verdict:
    """The RSS at one minute, at the end and its peak, and the growth between the first two."""

    at_1min_mb: float
    end_mb: float
    peak_mb: float

    @property
    def growth_pct(self) -> float:
        return (self.end_mb - self.at_1min_mb) * 100 / self.at_1min_mb


def judge(samples: list[tuple[float, float]], after_s: float = 60.0) -> Verdict:
    """From (seconds since start, MB) samples: the first at or after `after_s` and the last."""
    later = [mb for at, mb in samples if at >= after_s]
    if len(later) < 2:
        raise SystemExit(f"the run gave {len(later)} RSS samples after {after_s:.0f} s: too short")
    return Verdict(later[0], later[-1], max(mb for _, mb in samples))


def soak(url: str, args: argparse.Namespace, work: Path) -> tuple[list[tuple[float, float]], int]:
    """Run dmsload to its end, sampling its RSS; the samples and its exit status."""
    seconds = round(args.minutes * 60)
    toml = work / "soak.toml"
    toml.write_text(profile(args.rate, seconds))
    env = {**os.environ, "DMSLOAD_CLIENT_KEY": CLIENT_KEY, "DMSLOAD_CLIENT_SECRET": CLIENT_SECRET}
    cmd = [*taskset("0"), DMSLOAD, "run", str(toml), "--dms-url", url, "--quiet", "--no-color",
           "--summary-export", str(work / "export.json")]  # fmt: skip
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env)  # taskset execs: same pid
    started = time.monotonic()
    deadline = started + seconds + 120  # bounded: start-up, graceful stop and the summary
    samples: list[tuple[float, float]] = []
    next_minute = 60.0
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(args.every)
        mb = rss_mb(process.pid)
        if mb is None:
            break
        at = time.monotonic() - started
        samples.append((at, mb))
        if at >= next_minute:
            print(f"  {at / 60:5.1f} min  RSS {mb:7.1f} MB", flush=True)
            next_minute += 60.0
    if process.poll() is None:
        process.kill()
    return samples, process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the run (30)")
    parser.add_argument("--ci", action="store_true", help=f"a {CI_MINUTES}-minute run, for CI")
    parser.add_argument("--rate", type=int, default=1000, help="iterations/s (1000)")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples (5)")
    parser.add_argument("--limit", type=float, default=5.0, help="allowed growth, percent (5)")
    parser.add_argument("--latency-ms", type=float, default=2.0, help="sandbox --latency (2)")
    args = parser.parse_args()
    if args.ci:
        args.minutes = CI_MINUTES
    if args.minutes < 1.5 or args.rate < 1 or not 0.1 <= args.every <= 30:
        parser.error("--minutes >= 1.5 (growth is judged after the first minute), --rate >= 1, "
                     "--every from 0.1 to 30")  # fmt: skip
    print(f"machine: {machine()}")
    print(
        f"dmsload mixed-crud at {args.rate}/s for {args.minutes:g} min against dmsload sandbox "
        f"--latency {args.latency_ms:g}; dmsload's RSS every {args.every:g} s "
        "(the sandbox's own memory grows with the documents it stores: not judged)"
    )
    with tempfile.TemporaryDirectory(prefix="dmsload-rss-") as tmp, sandbox(args.latency_ms) as url:
        work = Path(tmp)
        samples, status = soak(url, args, work)
        export = work / "export.json"
        metrics = json.loads(export.read_text())["metrics"] if export.exists() else None
    if metrics is None:
        print(f"FAILED: dmsload exited with {status} and wrote no summary")
        return 1
    requests = metrics["http_reqs"]["count"]
    failed = metrics["http_req_failed"]["passes"]
    dropped = metrics.get("dropped_iterations", {}).get("count", 0)
    print(
        f"run: exit {status}, {requests:,} requests ({requests / (args.minutes * 60):,.0f}/s), "
        f"{failed:,} failed, {dropped:,} iterations dropped"
    )
    verdict = judge(samples)
    print(
        f"RSS at 1 min {verdict.at_1min_mb:.1f} MB, at the end {verdict.end_mb:.1f} MB, "
        f"peak {verdict.peak_mb:.1f} MB: growth {verdict.growth_pct:+.2f}% "
        f"(limit {args.limit:g}%)"
    )
    if status not in (0, 99) or not requests or failed > 0.01 * requests:
        print("FAILED: the run did not proceed, or over 1% of its requests failed")
        return 1
    if verdict.growth_pct >= args.limit:
        print(f"FAILED: RSS grew {verdict.growth_pct:.2f}% after the first minute")
        return 1
    print("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
