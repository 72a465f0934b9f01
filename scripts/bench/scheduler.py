"""The open-model scheduler and the load-phase collector, each on and off, against nginx.

Runs `constant-arrival-rate` (the `http` workload, one GET of a small JSON file) inside one
dmsload process per configuration, pinned to CPU 0, nginx pinned to CPU 1, and prints per
configuration:

- start lateness (`iteration_start_lateness`) and intended latency p50/p99/max, dropped;
- the scheduler's CPU: the main thread's CPU time over the run, µs per request;
- every garbage collection during the load: how many, and the longest and total pause, both
  in wall time and in the thread's CPU time (CPU time does not count time the OS gave to other
  processes, so it is the collector's own cost even on a busy machine).

Configurations: `clock` is `timerfd` (the scheduler since issue 13) or `ms` (uvloop's 1 ms
timers rounded up, as before); `gc` is `tuned` (collect + freeze before t=0, young threshold
20,000) or `default` (CPython's 700, nothing frozen).

    python scripts/bench/scheduler.py [--rates 2000,5000] [--duration 10] [--repeat 2]

Load goes to 127.0.0.1 only; each run is bounded by its duration plus a minute.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from peers import SMALL_JSON, machine, nginx, taskset

CONFIGS = (("timerfd", "tuned"), ("ms", "tuned"), ("timerfd", "default"), ("ms", "default"))


class GcPauses:
    """Every collection's generation and pause (wall and thread CPU), via gc.callbacks."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, int, int]] = []
        self._start: tuple[int, int] = (0, 0)
        self.active = False

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if not self.active:
            return
        if phase == "start":
            self._start = (time.perf_counter_ns(), time.thread_time_ns())
        else:
            wall = time.perf_counter_ns() - self._start[0]
            cpu = time.thread_time_ns() - self._start[1]
            self.pauses.append((int(info["generation"]), wall, cpu))


def one(url: str, rate: int, duration_s: int, vus: int, clock: str, collector: str) -> None:
    """Run one configuration in this process and print its figures as one JSON line."""
    from dmsload.engine import runner as runner_module
    from dmsload.engine import scenario as scenario_module
    from dmsload.engine.runner import RunOptions, run_profile
    from dmsload.profile import profile_from_mapping
    from dmsload.workloads import builtin_workloads

    if clock == "ms":
        scenario_module.PreciseTimer.open = classmethod(lambda cls: None)  # type: ignore[assignment]
    pauses = GcPauses()
    tuned = runner_module.load_phase_gc

    @contextlib.contextmanager
    def watched() -> Iterator[None]:
        with tuned() if collector == "tuned" else contextlib.nullcontext():
            pauses.active = True
            try:
                yield
            finally:
                pauses.active = False

    runner_module.load_phase_gc = watched  # type: ignore[assignment]
    gc.callbacks.append(pauses)
    doc = {
        "scenarios": {
            "open": {
                "executor": "constant-arrival-rate",
                "rate": rate,
                "duration": f"{duration_s}s",
                "pre_allocated_vus": vus,
                "max_vus": vus,
                "workload": "http",
                "options": {"url": f"{url}/doc.json", "name": "doc"},
            }
        }
    }
    profile = profile_from_mapping(doc, builtin_workloads(), source="scheduler.toml")
    cpu0 = time.thread_time()
    result = run_profile(profile, RunOptions(quiet=True, handle_signals=False))
    cpu = time.thread_time() - cpu0
    registry = result.registry

    def trend(name: str) -> list[float]:
        view = registry.view(name)
        if view is None or not view.count:
            return [float("nan")] * 3
        return [view.percentile(50), view.percentile(99), view.value("max", result.elapsed_s)]

    requests = registry.view("http_reqs")
    dropped = registry.view("dropped_iterations")
    count = requests.counter_total() if requests is not None else 0.0
    print(
        json.dumps(
            {
                "requests": count,
                "dropped": dropped.counter_total() if dropped is not None else 0.0,
                "lateness": trend("iteration_start_lateness"),
                "intended": trend("http_req_latency_intended"),
                "cpu_us": cpu * 1e6 / count if count else float("nan"),
                "gc": pauses.pauses,
            }
        )
    )


def _fmt(values: list[float], digits: int) -> str:
    return "/".join(f"{v:.{digits}f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rates", default="2000,5000")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--vus", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1, help="rounds of every configuration")
    parser.add_argument("--one", nargs=5, metavar=("URL", "RATE", "S", "CLOCK", "GC"))
    args = parser.parse_args()
    if args.one:
        url, rate, seconds, clock, collector = args.one
        one(url, int(rate), int(seconds), args.vus, clock, collector)
        return
    print(f"machine: {machine()}")
    print(
        f"nginx on CPU 1, dmsload on CPU 0, {args.duration} s per run, {args.vus} VUs; "
        "times in ms; CPU per request is the main thread's, start-up excluded"
    )
    print(
        f"{'rate/s':>6} {'clock':<8} {'gc':<8} {'dropped':>7} {'lateness p50/p99/max':>22} "
        f"{'intended p50/p99/max':>22} {'CPU µs/req':>10} {'gc n':>5} "
        f"{'gc max wall/cpu':>16} {'gc total cpu':>12} {'load':>5}"
    )
    with nginx({"doc.json": SMALL_JSON}) as url:
        for _round in range(args.repeat):
            for rate in (int(r) for r in args.rates.split(",")):
                for clock, collector in CONFIGS:
                    cmd = [*taskset("0"), sys.executable, str(Path(__file__).resolve())]
                    cmd += ["--vus", str(args.vus), "--one", url, str(rate)]
                    cmd += [str(args.duration), clock, collector]
                    done = subprocess.run(
                        cmd, capture_output=True, text=True, timeout=args.duration + 60, check=False
                    )
                    if done.returncode != 0 or not done.stdout.strip():
                        print(f"{rate:>6} {clock:<8} {collector:<8} failed: {done.stderr[-300:]}")
                        continue
                    row = json.loads(done.stdout.strip().splitlines()[-1])
                    pauses = row["gc"]
                    walls = [p[1] / 1e6 for p in pauses] or [0.0]
                    cpus = [p[2] / 1e6 for p in pauses] or [0.0]
                    print(
                        f"{rate:>6} {clock:<8} {collector:<8} {row['dropped']:>7.0f} "
                        f"{_fmt(row['lateness'], 3):>22} {_fmt(row['intended'], 2):>22} "
                        f"{row['cpu_us']:>10.1f} {len(pauses):>5} "
                        f"{max(walls):>7.2f}/{max(cpus):<8.2f} {sum(cpus):>12.1f} "
                        f"{os.getloadavg()[0]:>5.2f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
