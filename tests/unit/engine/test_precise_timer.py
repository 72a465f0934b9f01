"""PreciseTimer: a timerfd wait on uvloop that never returns before its deadline."""

from __future__ import annotations

import os
import random
import sys
from time import perf_counter_ns

import anyio
import anyio.lowlevel
import pytest

from dmsload.engine.precise_timer import PreciseTimer

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="timerfd is Linux's")


def _run(coro_fn: object) -> object:
    return anyio.run(coro_fn, backend="asyncio", backend_options={"use_uvloop": True})  # type: ignore[arg-type]


@linux_only
def test_waits_end_at_or_after_their_deadline_never_before() -> None:
    rng = random.Random(13)
    early: list[int] = []

    async def main() -> None:
        with PreciseTimer.open() as timer:  # type: ignore[union-attr]
            for _ in range(300):
                deadline = perf_counter_ns() + rng.randrange(0, 2_000_000)
                await timer.wait_until(deadline)
                woke = perf_counter_ns()
                if woke < deadline:
                    early.append(deadline - woke)

    _run(main)
    assert early == []


@linux_only
def test_a_deadline_already_past_returns_and_the_timer_can_be_reused() -> None:
    woke: list[int] = []

    async def main() -> None:
        timer = PreciseTimer.open()
        assert timer is not None
        with timer:
            await timer.wait_until(perf_counter_ns() - 5_000_000)
            woke.append(perf_counter_ns())
            await timer.wait_until(0)  # the clock's origin: long past, and not a disarm
            deadline = perf_counter_ns() + 3_000_000
            await timer.wait_until(deadline)
            woke.append(perf_counter_ns() - deadline)

    _run(main)
    assert len(woke) == 2 and woke[1] >= 0


@linux_only
def test_other_tasks_run_while_a_task_waits() -> None:
    steps: list[int] = []

    async def main() -> None:
        async def busy() -> None:  # needs the loop, not a timer: ready at once
            for step in range(20):
                steps.append(step)
                await anyio.lowlevel.checkpoint()

        with PreciseTimer.open() as timer:  # type: ignore[union-attr]
            async with anyio.create_task_group() as tg:
                tg.start_soon(busy)
                await timer.wait_until(perf_counter_ns() + 50_000_000)
                assert len(steps) == 20

    _run(main)


@linux_only
def test_close_stops_watching_and_releases_the_descriptor() -> None:
    async def main() -> None:
        timer = PreciseTimer.open()
        assert timer is not None
        fd = timer._fd
        os.fstat(fd)
        timer.close()
        with pytest.raises(OSError):
            os.fstat(fd)
        timer.close()  # twice is harmless
        again = PreciseTimer.open()  # the loop no longer watches the old descriptor number
        assert again is not None
        with again:
            await again.wait_until(perf_counter_ns() + 1_000_000)

    _run(main)


def test_open_needs_a_running_loop() -> None:
    assert PreciseTimer.open() is None


def test_open_gives_none_where_there_is_no_timerfd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert PreciseTimer.open() is None
