"""The runtime of one scenario: its clock, stop handling, VUs and iteration accounting."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from time import perf_counter_ns
from typing import cast

import anyio
import anyio.lowlevel

from dmsload.engine.executors.base import ExecutorConfig
from dmsload.engine.precise_timer import PreciseTimer
from dmsload.engine.vu import VU
from dmsload.http import HttpClient, RequestRecorder
from dmsload.http.tls import TlsSource
from dmsload.metrics import BuiltinMetrics, Registry, make_tags
from dmsload.metrics.sinks import CounterSink, TrendSink
from dmsload.workloads.base import RunCannotProceed, Workload

IterationErrorSink = Callable[[str, BaseException], None]


_SLEEP_SLICE_NS = 100_000_000
LOOP_TICK_NS = 1_000_000
"""uvloop keeps time and timers in whole milliseconds: a timer sleep is rounded up by this."""
_SPIN_BELOW_NS = 50_000
"""Closer than this to a due time, yielding loop turns (about 4 µs of CPU each) costs less
than blocking and being woken (about 50 µs of CPU on a 2-vCPU VM: scripts/bench/timer_cost.py)."""


@dataclass
class ScenarioProgress:
    """Live counters of one scenario, read by the progress line and the summary."""

    active_vus: int = 0
    allocated_vus: int = 0
    running: int = 0
    completed: int = 0
    interrupted: int = 0
    dropped: int = 0
    errors: int = 0
    started: bool = False
    finished: bool = False


class ScenarioRuntime:
    """What an executor drives: timing relative to its start, VUs, iterations, stopping."""

    def __init__(
        self,
        *,
        name: str,
        config: ExecutorConfig,
        workload: Workload,
        registry: Registry,
        metrics: BuiltinMetrics,
        scenario_tags: Mapping[str, str],
        vu_ids: Iterator[int],
        ssl_context: TlsSource,
        recorder: RequestRecorder,
        timeout_s: float,
        on_iteration_error: IterationErrorSink,
    ) -> None:
        self.name = name
        self.config = config
        self.workload = workload
        self.registry = registry
        self.metrics = metrics
        self.scenario_tags = dict(scenario_tags)
        self.tags = make_tags(scenario_tags)
        self.progress = ScenarioProgress()
        self.recorder = recorder
        self.stopping = False
        self.stop_event = anyio.Event()
        self.start_ns = 0
        self._t0 = 0.0
        self._vu_ids = vu_ids
        self._ssl = ssl_context
        self._timeout_s = timeout_s
        self._scopes: list[anyio.CancelScope] = []
        self._on_iteration_error = on_iteration_error
        self._timer: PreciseTimer | None = None
        self._vus_in_scenario = 0
        self._sinks: tuple[CounterSink, TrendSink] | None = None
        self._lateness: TrendSink | None = None
        self._sinks_epoch = -1
        self.warnings: list[str] = []

    # ---- clock ---------------------------------------------------------------------------
    def begin(self) -> None:
        """Mark t=0 of the scenario (after its start_time)."""
        self.start_ns = perf_counter_ns()
        self._t0 = anyio.current_time()
        self.progress.started = True
        # a zero sample, so that `dropped_iterations: count<1` judges a run that dropped none
        # (k6 would have no samples and pass it silently; dmsload would say "no data")
        self.registry.add(self.metrics.dropped_iterations, 0.0, self.tags)

    def elapsed_ns(self) -> int:
        """Nanoseconds since the scenario began."""
        return perf_counter_ns() - self.start_ns if self.start_ns else 0

    def loop_deadline(self, offset_ns: int) -> float:
        """The event-loop time of an offset from the scenario start (for cancel scopes)."""
        return self._t0 + offset_ns / 1e9

    async def sleep_until(self, offset_ns: int) -> bool:
        """Sleep until `offset_ns` after the start; False if a stop came first.

        Sleeps in slices of at most 100 ms, checking for a stop between them. Inside
        `precise_timing()` each slice is a timerfd wait, which wakes the loop at the due time
        itself, and the last `_SPIN_BELOW_NS` are loop turns. Otherwise it is a timer sleep;
        uvloop's timers tick in whole milliseconds (a sub-millisecond sleep returns at once),
        so each is rounded up by a tick: late by under 1 ms. Never early either way, and the
        schedule stays absolute.
        """
        target = self.start_ns + offset_ns
        timer = self._timer
        while not self.stopping:
            now = perf_counter_ns()
            remaining = target - now
            if remaining <= 0:
                break
            if timer is not None:
                if remaining <= _SPIN_BELOW_NS:
                    await anyio.lowlevel.checkpoint()  # other tasks run; no block, no wake
                else:
                    await timer.wait_until(min(target, now + _SLEEP_SLICE_NS))
            else:
                await anyio.sleep((min(remaining, _SLEEP_SLICE_NS) + LOOP_TICK_NS) / 1e9)
        return not self.stopping

    @contextmanager
    def precise_timing(self) -> Iterator[None]:
        """Within this block `sleep_until` wakes at the due time to the microsecond (a timerfd;
        on platforms without one, the millisecond timers stay)."""
        timer = PreciseTimer.open()
        self._timer = timer
        try:
            yield
        finally:
            self._timer = None
            if timer is not None:
                timer.close()

    def deadline_scope(self, offset_ns: int) -> anyio.CancelScope:
        """A cancel scope that ends at `offset_ns`, pulled in by a graceful stop request."""
        scope = anyio.CancelScope(deadline=self.loop_deadline(offset_ns))
        if self.stopping:
            scope.deadline = min(scope.deadline, anyio.current_time() + self._stop_grace_s())
        self._scopes.append(scope)
        return scope

    def _stop_grace_s(self) -> float:
        return self.config.graceful_stop / 1e9

    # ---- stopping ------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Graceful stop: start no new iteration; running ones get graceful_stop to finish."""
        if self.stopping:
            return
        self.stopping = True
        self.stop_event.set()
        if self.start_ns:
            limit = anyio.current_time() + self._stop_grace_s()
            for scope in self._scopes:
                scope.deadline = min(scope.deadline, limit)

    def hard_stop(self) -> None:
        """Interrupt everything now."""
        self.stopping = True
        self.stop_event.set()
        for scope in self._scopes:
            scope.cancel()

    def warn(self, message: str) -> None:
        """Keep a warning for the summary (once per distinct message)."""
        text = f"scenario {self.name}: {message}"
        if text not in self.warnings:
            self.warnings.append(text)

    # ---- VUs -----------------------------------------------------------------------------
    def new_vu(self) -> VU:
        """Create (initialize) one VU with its own connection."""
        self._vus_in_scenario += 1
        http = HttpClient(self.recorder, ssl_context=self._ssl, timeout_s=self._timeout_s)
        vu = VU(
            next(self._vu_ids),
            self._vus_in_scenario,
            self.name,
            http,
            self.registry,
            self.metrics.checks,
            self.scenario_tags,
        )
        self.progress.allocated_vus += 1
        return vu

    async def release_vu(self, vu: VU) -> None:
        """Close a VU's connection, even while the scenario is being cancelled."""
        with anyio.CancelScope(shield=True):
            await vu.http.aclose()
            for extra in vu.extra_http:
                await extra.aclose()

    # ---- iterations ----------------------------------------------------------------------
    async def iterate(self, vu: VU, intended_ns: int | None = None) -> bool:
        """Run one iteration of the workload; False if it raised (it is still counted)."""
        vu.http.intended_ns = intended_ns
        progress = self.progress
        start = perf_counter_ns()
        registry = self.registry
        sinks = None
        if registry.tap is None:  # the common case: straight into the scenario's own sinks
            sinks = self._sinks
            if sinks is None or self._sinks_epoch != registry.epoch:
                sinks = self._iteration_sinks()
        if intended_ns is not None:
            if sinks is not None:
                lateness = self._lateness
                if lateness is None:  # only arrival-rate scenarios have the series
                    lateness = self._lateness = cast(
                        TrendSink, self.metrics.iteration_start_lateness.sink(self.tags)
                    )
                lateness.add_scaled((start - intended_ns) // 1000)
            else:
                registry.add_trend_ns(
                    self.metrics.iteration_start_lateness, start - intended_ns, self.tags
                )
        progress.running += 1
        ok = True
        try:
            await self.workload.iteration(vu)
        except anyio.get_cancelled_exc_class():
            progress.running -= 1
            progress.interrupted += 1
            vu.iteration += 1
            raise
        except RunCannotProceed:
            progress.running -= 1
            progress.errors += 1
            raise
        except Exception as exc:  # a workload bug must not kill the VU; k6 logs and goes on
            ok = False
            progress.errors += 1
            self._on_iteration_error(self.name, exc)
        progress.running -= 1
        vu.iteration += 1
        progress.completed += 1
        end = perf_counter_ns()
        if sinks is not None and self._sinks_epoch == registry.epoch:
            iterations = sinks[0]
            iterations.total += 1.0
            iterations.samples += 1
            sinks[1].add_scaled((end - start) // 1000)
        else:  # an output listens (the tap sees each sample), or a drain moved the series out
            registry.add(self.metrics.iterations, 1.0, self.tags)
            registry.add_trend_ns(self.metrics.iteration_duration, end - start, self.tags)
        return ok

    def _iteration_sinks(self) -> tuple[CounterSink, TrendSink]:
        """The scenario's `iterations` and `iteration_duration` sinks, kept (with its
        `iteration_start_lateness` one) until the registry's series are moved out (its
        epoch): two tag-set lookups per iteration less (~6% of the closed loop's
        instructions went to hashing the tag set)."""
        metrics = self.metrics
        sinks = (
            cast(CounterSink, metrics.iterations.sink(self.tags)),
            cast(TrendSink, metrics.iteration_duration.sink(self.tags)),
        )
        self._lateness = None
        self._sinks = sinks
        self._sinks_epoch = self.registry.epoch
        return sinks

    def drop(self, count: int, extra_tags: Mapping[str, str] | None = None) -> None:
        """Count iterations that never started (k6's dropped_iterations)."""
        if count <= 0:
            return
        self.progress.dropped += count
        tags = make_tags({**self.scenario_tags, **extra_tags}) if extra_tags else self.tags
        self.registry.add(self.metrics.dropped_iterations, float(count), tags)
