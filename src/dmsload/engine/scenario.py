"""The runtime of one scenario: its clock, stop handling, VUs and iteration accounting."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from time import perf_counter_ns

import anyio

from dmsload.engine.executors.base import ExecutorConfig
from dmsload.engine.vu import VU
from dmsload.http import HttpClient, RequestRecorder
from dmsload.http.tls import TlsSource
from dmsload.metrics import BuiltinMetrics, Registry, make_tags
from dmsload.workloads.base import RunCannotProceed, Workload

IterationErrorSink = Callable[[str, BaseException], None]


_SLEEP_SLICE_S = 0.1
_TIMER_RESOLUTION_S = 0.001


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
        self._vus_in_scenario = 0
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

        Plain sleeps in slices of at most 100 ms, checking for a stop between them. uvloop
        truncates timer delays to whole milliseconds, so a sub-millisecond sleep would return
        at once and the loop would spin; each sleep is therefore rounded up by the timer's
        resolution: a wake-up is late by under 1 ms, never early, and the schedule stays
        absolute. (A cancel scope with a deadline spins the same way inside anyio.)
        """
        target = self.start_ns + offset_ns
        while not self.stopping:
            delay = (target - perf_counter_ns()) / 1e9
            if delay <= 0:
                break
            await anyio.sleep(min(delay, _SLEEP_SLICE_S) + _TIMER_RESOLUTION_S)
        return not self.stopping

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
        self.registry.add(self.metrics.iterations, 1.0, self.tags)
        self.registry.add_trend_ns(self.metrics.iteration_duration, end - start, self.tags)
        return ok

    def drop(self, count: int, extra_tags: Mapping[str, str] | None = None) -> None:
        """Count iterations that never started (k6's dropped_iterations)."""
        if count <= 0:
            return
        self.progress.dropped += count
        tags = make_tags({**self.scenario_tags, **extra_tags}) if extra_tags else self.tags
        self.registry.add(self.metrics.dropped_iterations, float(count), tags)
