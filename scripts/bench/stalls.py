"""Where the event loop stalls during an open-model run, and what it was doing.

Runs `constant-arrival-rate` (the `http` workload, one GET of a small JSON file from nginx on
CPU 1) inside this process, pinned to CPU 0, with:

- a heartbeat task on the loop (a 1 ms sleep, again and again) and a watchdog thread on
  CPU 1 that, whenever the heartbeat is late by more than `--lag` ms (a stall, beyond the
  heartbeat's own 2 ms: its sleep rounded up to uvloop's tick), reads how much CPU the
  loop thread used meanwhile: most of the lag on CPU means the loop was busy (the stack it
  was in is sampled and counted); little means it was not running at all (the GIL held by
  another thread, or the machine preempting it);
- every garbage collection during the load (`gc.callbacks`, wall time);
- each iteration's start lateness, grouped by 100 ms window, to show when late starts
  cluster (a periodic stall shows as a regular pattern).

`--out KIND=TARGET` adds a streaming output (`csv=/tmp/x.csv`), whose writer thread then
competes for the GIL. `--src DIR` runs dmsload from another tree's `src/` (a before/after).

    python scripts/bench/stalls.py [--rate 2000] [--duration 10] [--lag 2] [--out csv=/tmp/x.csv]

The watchdog takes the GIL to sample a stack, so it perturbs what it measures a little; use
`open_model.py` for the figures, this for the causes. Load goes to 127.0.0.1 only; the run is
bounded by its duration.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

from peers import SMALL_JSON, machine, nginx

HEARTBEAT_SLACK_S = 0.002
"""A heartbeat's normal gap: its 1 ms sleep, rounded up to uvloop's next 1 ms tick."""


class Watchdog:
    """Samples the loop thread's stack while the heartbeat is late."""

    def __init__(self, lag_s: float) -> None:
        self.lag_s = lag_s
        self.loop_thread = threading.get_ident()
        self.clock = time.pthread_getcpuclockid(self.loop_thread)
        self.beat = (time.perf_counter(), 0.0)
        self.busy: Counter[str] = Counter()
        self.off_cpu: list[tuple[float, float, float]] = []  # (t, lag ms, loop CPU ms)
        self.start = 0.0
        self.stopped = False

    async def heartbeat(self) -> None:
        while True:
            self.beat = (time.perf_counter(), time.clock_gettime(self.clock))
            await asyncio.sleep(0.001)

    def watch(self) -> None:
        os.sched_setaffinity(0, {1})
        seen = 0.0
        while not self.stopped:
            time.sleep(0.0002)
            at, cpu_at = self.beat
            lag = time.perf_counter() - at - HEARTBEAT_SLACK_S
            if lag <= self.lag_s or at == seen or not self.start:
                continue
            seen = at
            used = time.clock_gettime(self.clock) - cpu_at
            if used > 0.7 * lag:
                frame = sys._current_frames().get(self.loop_thread)
                stack = traceback.extract_stack(frame)[-6:]
                where = " < ".join(
                    f"{Path(f.filename).name}:{f.lineno}:{f.name}" for f in reversed(stack)
                )
                self.busy[where] += 1
            else:
                self.off_cpu.append((at - self.start, lag * 1e3, used * 1e3))


def run(args: argparse.Namespace) -> None:
    from dmsload.engine.runner import Runner, RunOptions, run_profile
    from dmsload.outputs.base import OutputContext
    from dmsload.outputs.spec import parse_output
    from dmsload.outputs.tap import Clock
    from dmsload.profile import load_profile
    from dmsload.workloads import builtin_workloads

    os.sched_setaffinity(0, {0})
    watchdog = Watchdog(args.lag / 1000)
    pauses: list[tuple[float, int, float]] = []
    started: dict[str, float] = {}

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if not watchdog.start:
            return
        if phase == "start":
            started["t"] = time.perf_counter()
        else:
            now = time.perf_counter()
            pauses.append(
                (started["t"] - watchdog.start, int(info["generation"]), now - started["t"])
            )

    async def monitor(_runner: Runner) -> None:
        watchdog.start = time.perf_counter()
        await watchdog.heartbeat()

    outputs = []
    if args.out:
        output = parse_output(args.out)
        output.open(OutputContext(clock=Clock.now()))
        outputs.append(output)
    with nginx({"doc.json": SMALL_JSON}) as base:
        profile_path = Path(f"/tmp/dmsload-stalls-{os.getpid()}.toml")
        profile_path.write_text(
            "[scenarios.open]\n"
            'executor = "constant-arrival-rate"\n'
            f'rate = {args.rate}\nduration = "{args.duration}s"\n'
            f"pre_allocated_vus = {args.vus}\nmax_vus = {args.vus}\n"
            'workload = "http"\n'
            f'options = {{ url = "{base}/doc.json", name = "doc" }}\n'
        )
        profile = load_profile(profile_path, builtin_workloads(), env={})
        profile_path.unlink()
        thread = threading.Thread(target=watchdog.watch, daemon=True)
        thread.start()
        gc.callbacks.append(on_gc)
        result = run_profile(
            profile,
            RunOptions(quiet=True, handle_signals=False, monitor=monitor, outputs=outputs),
        )
        gc.callbacks.remove(on_gc)
        watchdog.stopped = True
    dropped = result.registry.view("dropped_iterations")
    lateness = result.registry.view("iteration_start_lateness")
    print(f"machine: {machine()}")
    print(f"rate {args.rate}/s for {args.duration}s, {args.vus} VUs, output: {args.out or 'none'}")
    if lateness is not None:
        p50, p99, top = (lateness.percentile(p) for p in (50, 99, 100))
        print(f"start lateness p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {top:.1f} ms")
    print(f"dropped iterations: {dropped.counter_total() if dropped else 0:.0f}")
    during = [p for p in pauses if p[0] <= args.duration]
    print(f"collections during the load: {len(during)}", end="")
    if during:
        longest = max(during, key=lambda p: p[2])
        print(
            f", longest {longest[2] * 1e3:.1f} ms (generation {longest[1]} at {longest[0]:.2f} s)"
        )
    else:
        print()
    late = [lag for lag in watchdog.off_cpu if lag[0] <= args.duration]
    print(f"stalls over {args.lag} ms with the loop thread off CPU: {len(late)}")
    for at, lag_ms, used_ms in late[:12]:
        print(f"  at {at:6.2f} s: {lag_ms:5.1f} ms late, loop thread on CPU {used_ms:.1f} ms")
    total = sum(watchdog.busy.values())
    print(f"stalls over {args.lag} ms with the loop thread busy: {total}, in:")
    for where, count in watchdog.busy.most_common(12):
        print(f"  {count:4} {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--vus", type=int, default=100)
    parser.add_argument("--lag", type=float, default=2.0, help="heartbeat lateness (ms) to report")
    parser.add_argument("--out", help="a streaming output, as --out takes it")
    parser.add_argument("--src", type=Path, help="run dmsload from this tree's src/ instead")
    args = parser.parse_args()
    if args.src is not None and os.environ.get("DMSLOAD_STALLS_SRC") != str(args.src):
        env = {
            **os.environ,
            "PYTHONPATH": str(args.src / "src"),
            "DMSLOAD_STALLS_SRC": str(args.src),
        }
        raise SystemExit(
            subprocess.run([sys.executable, *sys.argv], env=env, check=False).returncode
        )
    run(args)


if __name__ == "__main__":
    main()
