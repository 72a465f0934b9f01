"""CPU per wait of the ways an event-loop task can wait for a due time, on uvloop, in one process.

Prints the thread CPU time (µs) of one wait, averaged over many, for: a bare loop turn
(`anyio.lowlevel.checkpoint`), a timerfd wait whose deadline has passed (what a late
iteration costs), a timerfd wait 200 µs ahead (an iteration at 5,000/s; also how late it
wakes, in wall time, which a busy machine inflates), and uvloop timer
sleeps of 200 µs (returns at once: uvloop truncates to whole milliseconds) and of 1.2 ms. CPU
time leaves out time the OS gave to other processes, so the figures hold on a busy machine.

    taskset -c 0 python scripts/bench/timer_cost.py [--waits 20000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Callable
from time import perf_counter_ns

import anyio
import anyio.lowlevel

from dmsload.engine.precise_timer import PreciseTimer


async def _cost(label: str, waits: int, wait: Callable[[], Awaitable[None]]) -> None:
    start = time.thread_time()
    for _ in range(waits):
        await wait()
    print(f"{label:<34} {(time.thread_time() - start) * 1e6 / waits:8.1f} µs CPU per wait")


async def main(waits: int) -> None:
    timer = PreciseTimer.open()
    if timer is None:
        raise SystemExit("no timerfd here (Linux only)")
    with timer:
        await _cost("loop turn (checkpoint)", waits, anyio.lowlevel.checkpoint)
        await _cost("timerfd, deadline already past", waits, lambda: timer.wait_until(0))
        blocking = max(waits // 10, 100)
        await _cost(
            "timerfd, 200 µs ahead",
            blocking,
            lambda: timer.wait_until(perf_counter_ns() + 200_000),
        )
        late: list[int] = []

        async def timed() -> None:
            deadline = perf_counter_ns() + 200_000
            await timer.wait_until(deadline)
            late.append(perf_counter_ns() - deadline)

        await _cost("timerfd, 200 µs ahead, timed", blocking, timed)
        late.sort()
        p50, p90, p99 = (late[len(late) * q // 100] / 1e3 for q in (50, 90, 99))
        print(f"  its wake-up lateness: p50 {p50:.1f} µs, p90 {p90:.1f} µs, p99 {p99:.1f} µs")
        await _cost("uvloop sleep(0.0002) (no wait)", blocking, lambda: anyio.sleep(0.0002))
        await _cost("uvloop sleep(0.0012)", blocking, lambda: anyio.sleep(0.0012))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--waits", type=int, default=20000)
    args = parser.parse_args()
    anyio.run(main, args.waits, backend="asyncio", backend_options={"use_uvloop": True})
