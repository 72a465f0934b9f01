"""The step judge: runs beside the steps, reads each one as it ends, and stops the run at the
first step past the knee (or where the generator itself was the limit)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from time import perf_counter_ns
from typing import TYPE_CHECKING

import anyio

from dmsload.capacity.figures import Percentiles, StepFigures, WorkerStep, read_step
from dmsload.capacity.knee import broken_rules, generator_limit
from dmsload.capacity.options import CapacityOptions
from dmsload.capacity.plan import StepSchedule
from dmsload.metrics import Registry
from dmsload.metrics.hdr_percentile import values_at_percentiles
from dmsload.metrics.sinks import new_histogram

if TYPE_CHECKING:
    from dmsload.engine.runner import Runner

PROBE_INTERVAL_S = 0.005
"""How often the lag probe asks the event loop to wake it."""
SETTLE_S = 0.05
"""After a step's end, time for its last iterations to be cut and recorded."""


class LagProbe:
    """Measures how late the event loop wakes a timer: the delay every iteration start sees."""

    def __init__(self) -> None:
        self._histogram = new_histogram()

    def take(self) -> Percentiles:
        """p50/p95/p99 of the lag since the last take, ms; starts a new window."""
        histogram, self._histogram = self._histogram, new_histogram()
        if histogram.get_total_count() == 0:
            return Percentiles()
        return Percentiles(
            *(value / 1000.0 for value in values_at_percentiles(histogram, (50.0, 95.0, 99.0)))
        )

    async def run(self) -> None:
        """Sleep PROBE_INTERVAL_S again and again, recording each wake-up's lateness (µs)."""
        while True:
            asked = perf_counter_ns()
            await anyio.sleep(PROBE_INTERVAL_S)
            late_us = (perf_counter_ns() - asked) // 1000 - int(PROBE_INTERVAL_S * 1e6)
            self._histogram.record_value(max(1, late_us))


class StepJudge:
    """The runner's monitor for a capacity search; `steps` holds every step judged so far."""

    def __init__(
        self,
        schedule: Sequence[StepSchedule],
        options: CapacityOptions,
        echo: Callable[[StepFigures], None] | None = None,
    ) -> None:
        self.schedule = list(schedule)
        self.options = options
        self.echo = echo
        self.steps: list[StepFigures] = []
        self._pending: tuple[StepSchedule, float, Percentiles] | None = None

    def finish(self, registry: Registry) -> None:
        """Judge a step that ended as the run did (the run ends before the judge wakes)."""
        if self._pending is not None:
            self._judge(registry)

    async def __call__(self, runner: Runner) -> None:
        """Judge each step as it ends; stop the run at the first one that is not good."""

        async def ended(item: StepSchedule, cpu: float, lag: Percentiles) -> bool:
            self._pending = (item, cpu, lag)
            await anyio.sleep(SETTLE_S)
            if self._judge(runner.registry).ok:
                return True
            runner.stop()
            return False

        await watch_steps(runner, self.schedule, ended)

    def judge_merged(
        self, registry: Registry, item: StepSchedule, workers: Sequence[WorkerStep]
    ) -> StepFigures:
        """Judge one step from a `--workers` parent's merged registry, which holds every
        worker's samples of it: the step is generator-limited if any worker was."""
        cpu = max((w.generator_cpu for w in workers), default=0.0)
        lag = Percentiles(
            *(
                max((getattr(w.start_lag, p) for w in workers), default=0.0)
                for p in ("p50", "p95", "p99")
            )
        )
        self._pending = (item, cpu, lag)
        return self._judge(registry, list(workers))

    def _judge(self, registry: Registry, workers: list[WorkerStep] | None = None) -> StepFigures:
        assert self._pending is not None
        item, cpu, lag = self._pending
        self._pending = None
        figures = read_step(registry, item.load, cpu, lag)
        figures.workers = workers
        previous = self.steps[-1] if self.steps else None
        figures.generator_limit = generator_limit(figures, self.options.generator_cpu_limit)
        figures.broken_rules = broken_rules(figures, previous, self.options.rules)
        self.steps.append(figures)
        if self.echo is not None:
            self.echo(figures)
        return figures


async def _sleep_until(when_ns: int) -> None:
    delay = (when_ns - perf_counter_ns()) / 1e9
    if delay > 0:
        await anyio.sleep(delay)


StepEnded = Callable[[StepSchedule, float, Percentiles], Awaitable[bool]]
"""Told each step's end with the event loop's CPU share and timer lag over it; False stops."""


async def watch_steps(runner: Runner, schedule: Sequence[StepSchedule], ended: StepEnded) -> None:
    """Measure the event loop's CPU and lag over each step of `schedule` and tell `ended`."""
    probe = LagProbe()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(probe.run)
        for item in schedule:
            await _sleep_until(runner.start_ns + item.start_ns)
            probe.take()
            cpu_start, wall_start = time.thread_time(), time.perf_counter()
            await _sleep_until(runner.start_ns + item.start_ns + item.duration_ns)
            cpu = (time.thread_time() - cpu_start) / max(time.perf_counter() - wall_start, 1e-9)
            if not await ended(item, cpu, probe.take()):
                break
        tasks.cancel_scope.cancel()
