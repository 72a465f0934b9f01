"""The runner: starts every scenario at its start_time, watches thresholds and signals,
and always reaches the summary."""

from __future__ import annotations

import itertools
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any, TextIO

import anyio
import anyio.lowlevel

from dmsload.dms.data import RunData
from dmsload.dms.overrides import Overrides
from dmsload.dms.session import DmsConnector
from dmsload.durations import NS_PER_S
from dmsload.engine.gc_tuning import load_phase_gc
from dmsload.engine.gil_tuning import load_phase_gil
from dmsload.engine.precise_timer import timerfd_available
from dmsload.engine.progress import ProgressPrinter
from dmsload.engine.scenario import LOOP_TICK_NS, ScenarioRuntime
from dmsload.engine.vu import VU
from dmsload.error_text import describe_exception, location
from dmsload.http import HttpClient, RequestRecorder, SharedTls
from dmsload.http.redact import body_excerpt
from dmsload.metrics import (
    BuiltinMetrics,
    Registry,
    TagSet,
    ThresholdEngine,
    ThresholdResult,
    define_builtin_metrics,
    make_tags,
)
from dmsload.metrics.kinds import GROUP_TAG, SETUP_SCENARIO, MetricKind
from dmsload.metrics.sinks import TrendSink
from dmsload.outputs.base import Output, OutputReport
from dmsload.outputs.session import OutputSession
from dmsload.outputs.timeline import Timeline
from dmsload.profile import Profile
from dmsload.signals import preserved
from dmsload.workloads import Workload, WorkloadContext

if TYPE_CHECKING:
    from dmsload.settings import ConnectionSettings

THRESHOLD_INTERVAL_S = 2.0  # k6 re-evaluates thresholds every 2 s
START_AT_TOLERANCE_S = 1.0
"""`start_at` may have passed by this much (clock skew) and the run still starts."""


class ExitCode(IntEnum):
    """dmsload's exit statuses (k6's codes where k6 has one)."""

    OK = 0
    CANNOT_PROCEED = 1
    USAGE = 2
    THRESHOLDS_FAILED = 99
    INTERRUPTED = 105


@dataclass
class RunOptions:
    """How to run, beyond the profile itself."""

    quiet: bool = False
    verbose: bool = False
    progress_stream: TextIO = field(default_factory=lambda: sys.stderr)
    progress_interval_s: float | None = None  # None: 1 s on a terminal, 5 s otherwise
    insecure: bool = False
    handle_signals: bool = True
    connection: ConnectionSettings | None = None
    """Where DMS workloads connect; None: from the environment and .env when first needed."""
    run_data: RunData | None = None
    """The run id and seed of generated data; None: a fresh random run id."""
    outputs: Sequence[Output] = ()
    """Streaming outputs (`--out`), already opened."""
    timeline: bool = False
    """Keep the per-second time series (for `--summary-json` and the HTML report)."""
    start_at: float | None = None
    """Unix time at which the schedule's t=0 falls (`--start-at`), after setup; None: at once."""
    start_gate: Callable[[], Awaitable[float | None]] | None = None
    """Awaited after setup, before t=0: returns the start time (Unix s) to wait for, or None
    for at once (a `--workers` worker waits there for the others)."""
    monitor: Callable[[Runner], Coroutine[Any, Any, None]] | None = None
    """A task run beside the scenarios from t=0 until they end (`capacity` judges its steps
    with it, and may call `Runner.stop`)."""


@dataclass
class RunResult:
    """Everything the summary and the exports need."""

    registry: Registry
    metrics: BuiltinMetrics
    thresholds: list[ThresholdResult]
    elapsed_s: float
    started_at: float
    ended_at: float
    interrupted: bool = False
    aborted_by: ThresholdResult | None = None
    warnings: list[str] = field(default_factory=list)
    scenario_names: list[str] = field(default_factory=list)
    error: str | None = None
    run_id: str = ""
    discovery: dict[str, Any] | None = None
    """The DMS discovery document (`GET /`), when a DMS workload connected."""
    data_api_url: str | None = None
    """The DMS data API the run used, when a DMS workload connected."""
    timeline: dict[str, Any] | None = None
    """The per-second time series (`Timeline.to_json`), when asked for."""
    outputs: list[OutputReport] = field(default_factory=list)
    """What each streaming output wrote, lost or could not deliver."""

    @property
    def exit_code(self) -> ExitCode:
        """105 on a signal, 1 on an internal failure, 99 on a failed threshold, else 0."""
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.error is not None:
            return ExitCode.CANNOT_PROCEED
        if self.aborted_by is not None or any(r.ok is False for r in self.thresholds):
            return ExitCode.THRESHOLDS_FAILED
        return ExitCode.OK


class _RateLimitedLog:
    """At most `per_second` lines a second to a stream; counts what it held back."""

    def __init__(self, stream: TextIO, per_second: int = 10) -> None:
        self.stream = stream
        self.per_second = per_second
        self.window = 0
        self.used = 0
        self.suppressed = 0

    def __call__(self, text: str) -> None:
        now = int(time.monotonic())
        if now != self.window:
            self.window = now
            self.used = 0
        if self.used >= self.per_second:
            self.suppressed += 1
            return
        self.used += 1
        self.stream.write(text + "\n")
        self.stream.flush()


class Runner:
    """Runs one profile to the end (or to a stop) and returns its result."""

    def __init__(self, profile: Profile, options: RunOptions | None = None) -> None:
        self.profile = profile
        self.options = options or RunOptions()
        self._tls = SharedTls(verify=not self.options.insecure)
        """One SSL context for the whole run, made at the first TLS connection."""
        self.registry = Registry()
        self.metrics = define_builtin_metrics(self.registry)
        for scenario in profile.scenarios.values():
            for name, (kind, contains) in scenario.workload.metrics.items():
                self.registry.define(name, kind, contains)
        self.engine = ThresholdEngine(profile.thresholds)
        self._log = _RateLimitedLog(self.options.progress_stream)
        self._interrupted = False
        self._aborted_by: ThresholdResult | None = None
        self._start_ns = 0
        self._runtimes: list[ScenarioRuntime] = []
        self._cancel_all: Callable[[], None] = lambda: None
        self.run_data = self.options.run_data or RunData.create()
        self.dms = DmsConnector(
            self.registry,
            self.run_data,
            self.options.connection,
            notice=self._log if self.options.verbose else None,
            overrides=Overrides(profile.documents),
        )
        self._workloads: list[Workload] = []
        self.outputs = OutputSession(
            self.registry,
            self.options.outputs,
            Timeline() if self.options.timeline else None,
        )

    # ---- wiring --------------------------------------------------------------------------
    def _on_failure(
        self, scenario: str, method: str, name: str, status: int, error: str | None, body: bytes
    ) -> None:
        detail = f" error={error!r}" if error else ""
        excerpt = body_excerpt(body)
        if excerpt:
            detail += f" body: {excerpt}"  # last: the rest of the line is the body's start
        request = name if name.startswith(f"{method} ") else f"{method} {name}"
        self._log(f"dmsload: request failed: scenario={scenario} {request} status={status}{detail}")

    def _on_iteration_error(self, scenario: str, exc: BaseException) -> None:
        message, where = describe_exception(exc), location(exc)
        if where and not message.startswith("internal error"):
            message += f" ({where.strip()})"
        self._log(f"dmsload: iteration error in scenario {scenario}: {message}")

    def _build_runtimes(self) -> list[ScenarioRuntime]:
        ssl_context = self._tls
        vu_ids = itertools.count(1)
        runtimes = []
        for name, scenario in self.profile.scenarios.items():
            tags = {**self.profile.tags, **scenario.config.tags, "scenario": name, GROUP_TAG: ""}
            recorder = RequestRecorder(
                self.registry,
                self.metrics,
                tags,
                on_failure=self._on_failure if self.options.verbose else None,
            )
            workload = scenario.workload.factory(
                scenario.options,
                WorkloadContext(registry=self.registry, scenario=name, dms=self.dms),
            )
            self._workloads.append(workload)
            runtimes.append(
                ScenarioRuntime(
                    name=name,
                    config=scenario.config,
                    workload=workload,
                    registry=self.registry,
                    metrics=self.metrics,
                    scenario_tags=tags,
                    vu_ids=vu_ids,
                    ssl_context=ssl_context,
                    recorder=recorder,
                    timeout_s=self.profile.request_timeout_ns / NS_PER_S,
                    on_iteration_error=self._on_iteration_error,
                )
            )
        return runtimes

    async def _prepare(self) -> None:
        """Every workload's `prepare`, in profile order, before the clock starts (k6's
        setup()); their requests are recorded with `scenario=setup`."""
        tags = {**self.profile.tags, "scenario": SETUP_SCENARIO, GROUP_TAG: ""}
        recorder = RequestRecorder(
            self.registry,
            self.metrics,
            tags,
            on_failure=self._on_failure if self.options.verbose else None,
        )
        http = HttpClient(
            recorder,
            ssl_context=self._tls,
            timeout_s=self.profile.request_timeout_ns / NS_PER_S,
        )
        vu = VU(0, 0, SETUP_SCENARIO, http, self.registry, self.metrics.checks, tags)
        try:
            for workload in self._workloads:
                await workload.prepare(vu)
        finally:
            with anyio.CancelScope(shield=True):
                await http.aclose()
                for extra in vu.extra_http:
                    await extra.aclose()

    async def _close(self) -> None:
        with anyio.CancelScope(shield=True):
            for workload in self._workloads:
                try:
                    await workload.close()
                except Exception as exc:  # closing must not hide the run's result
                    self._log(f"dmsload: closing a workload failed: {describe_exception(exc)}")
            await self.dms.aclose()

    @property
    def runtimes(self) -> list[ScenarioRuntime]:
        """The scenarios' runtimes (empty until the run starts)."""
        return self._runtimes

    # ---- control -------------------------------------------------------------------------
    @property
    def start_ns(self) -> int:
        """`perf_counter_ns()` at t=0 of the run (0 before it starts)."""
        return self._start_ns

    def elapsed_s(self) -> float:
        """Seconds since the run started."""
        return (perf_counter_ns() - self._start_ns) / 1e9 if self._start_ns else 0.0

    def stop(self) -> None:
        """Graceful stop of every scenario (the first Ctrl-C)."""
        for rt in self._runtimes:
            rt.request_stop()

    def hard_stop(self) -> None:
        """Interrupt everything now (the second Ctrl-C, or abort_on_fail)."""
        for rt in self._runtimes:
            rt.hard_stop()
        self._cancel_all()

    def interrupt(self, hard: bool = False) -> None:
        """What SIGINT does, from another source (a `--workers` parent): the first call
        stops gracefully and marks the run interrupted; `hard` (or a second call) stops now."""
        if hard or self._interrupted:
            self._interrupted = True
            self.hard_stop()
        else:
            self._interrupted = True
            self.stop()

    async def _scenario(self, rt: ScenarioRuntime) -> None:
        if not await _sleep_or_stop(rt, self._start_ns + rt.config.start_time):
            rt.progress.finished = True
            return
        rt.begin()
        try:
            await rt.config.run(rt)
        finally:
            rt.progress.finished = True

    async def _watch_signals(self) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                if not self._interrupted:
                    self._log(
                        f"dmsload: {signal.Signals(signum).name}: stopping gracefully; "
                        "send it again to stop at once"
                    )
                else:
                    self._log(f"dmsload: {signal.Signals(signum).name}: stopping now")
                self.interrupt()

    def _sample_vus(self, base: TagSet) -> None:
        """Set the `vus` and `vus_max` gauges from the scenarios' live counts."""
        active = sum(rt.progress.active_vus for rt in self._runtimes)
        allocated = sum(rt.progress.allocated_vus for rt in self._runtimes)
        self.registry.add(self.metrics.vus, float(active), base)
        self.registry.add(self.metrics.vus_max, float(allocated), base)

    async def _fold_threshold_trends(self) -> None:
        """Fold the samples the thresholds' trends have not folded yet a step at a time,
        yielding between steps: evaluating would fold each series' buffer at once, a stall of
        the loop of up to ~1.3 ms per series every THRESHOLD_INTERVAL_S."""
        for name in self.engine.metric_names:
            metric = self.registry.get(name)
            if metric is None or metric.kind is not MetricKind.TREND:
                continue
            for sink in list(metric.series.values()):
                assert isinstance(sink, TrendSink)
                while sink.fold_pending():
                    await anyio.lowlevel.checkpoint()

    async def _tick(self, printer: ProgressPrinter | None) -> None:
        interval = self.options.progress_interval_s
        if interval is None:
            interval = 1.0  # as k6: redrawn on a terminal, a plain block otherwise
        last_print = 0.0
        last_eval = 0.0
        base = make_tags({})
        while True:
            await anyio.sleep(min(1.0, interval))
            now = self.elapsed_s()
            self._sample_vus(base)
            if now - last_eval >= THRESHOLD_INTERVAL_S:
                last_eval = now
                await self._fold_threshold_trends()
                failed = self.engine.should_abort(self.engine.evaluate(self.registry, now), now)
                if failed is not None and self._aborted_by is None:
                    self._aborted_by = failed
                    self._log(
                        f"dmsload: threshold {failed.selector} '{failed.threshold.source}' "
                        "failed with abort_on_fail: stopping the run"
                    )
                    self.hard_stop()
            if printer is not None and now - last_print >= interval:
                printer.draw(now - last_print, perf_counter_ns() - self._start_ns)
                last_print = now

    async def run(self) -> RunResult:
        """Run every scenario; return the result, whatever stopped the run."""
        started_at = time.time()
        self._runtimes = self._build_runtimes()
        stream = self.options.progress_stream
        printer = None
        if not self.options.quiet:
            printer = ProgressPrinter(self._runtimes, stream, live=stream.isatty())
        async with anyio.create_task_group() as streams:
            self.outputs.start(streams)
            try:
                error = await self._run_scenarios(printer)
                await self._close()
                elapsed = self.elapsed_s()
                if printer is not None and self._start_ns:
                    printer.draw(max(elapsed % 1.0, 0.001), perf_counter_ns() - self._start_ns)
                # no closing `vus` sample: as k6, the gauge ends at its last sampled value
            finally:
                with anyio.CancelScope(shield=True):
                    await self.outputs.finish(streams)
        results = self.engine.evaluate(self.registry, elapsed)
        warnings = [w for rt in self._runtimes for w in rt.warnings]
        session = self.dms.started
        if self._log.suppressed:
            warnings.append(f"{self._log.suppressed} log lines were suppressed (rate limit)")
        return RunResult(
            registry=self.registry,
            metrics=self.metrics,
            thresholds=results,
            elapsed_s=elapsed,
            started_at=started_at,
            ended_at=time.time(),
            interrupted=self._interrupted,
            aborted_by=self._aborted_by,
            warnings=warnings,
            scenario_names=[rt.name for rt in self._runtimes],
            error=error,
            run_id=self.run_data.run_id,
            discovery=None if session is None else dict(session.discovery),
            data_api_url=None if session is None else session.data_api_url,
            timeline=None if self.outputs.timeline is None else self.outputs.timeline.to_json(),
            outputs=self.outputs.reports(),
        )

    async def _wait_for_start(self, start_at: float | None) -> str | None:
        """Sleep until `start_at` (a signal ends the wait); why the run cannot start, if it
        passed more than START_AT_TOLERANCE_S ago (the parts of a split run would not line up)."""
        if start_at is None:
            return None
        late = time.time() - start_at
        if late > START_AT_TOLERANCE_S:
            return (
                f"--start-at passed {late:.1f} s ago (setup ended too late); the parts of a "
                "split run would not line up, so this one does not start"
            )
        if late < 0 and not self.options.quiet:
            self._log(f"dmsload: waiting {-late:.1f} s for --start-at")
        while not self._interrupted:
            remaining = start_at - time.time()
            if remaining <= 0:
                break
            await anyio.sleep(min(remaining, 0.1))
        return None

    async def _run_scenarios(self, printer: ProgressPrinter | None) -> str | None:
        """Prepare, then run every scenario to its end; the error that ended the run, if any."""
        try:
            async with anyio.create_task_group() as outer:
                self._cancel_all = outer.cancel_scope.cancel
                if self.options.handle_signals:
                    outer.start_soon(self._watch_signals)
                await self._prepare()
                timerfd_available()  # the C library is looked up now, not at a scenario's start
                # the collection of start-up's heap (tens of ms) happens before t=0, never
                # inside the schedule: the first scenarios would start late by it
                with load_phase_gc(), load_phase_gil():
                    start_at = self.options.start_at
                    if self.options.start_gate is not None:
                        start_at = await self.options.start_gate()
                    missed = await self._wait_for_start(start_at)
                    if missed is not None:
                        self._log(f"dmsload: {missed}")
                        outer.cancel_scope.cancel()
                        return missed
                    self._start_ns = perf_counter_ns()
                    self.outputs.begin(self._start_ns)
                    self.registry.add(self.metrics.vus, 0.0, make_tags({}))  # timeline's t=0
                    outer.start_soon(self._tick, printer)
                    if self.options.monitor is not None:
                        outer.start_soon(self.options.monitor, self)
                    async with anyio.create_task_group() as scenarios:
                        for rt in self._runtimes:
                            scenarios.start_soon(self._scenario, rt)
                outer.cancel_scope.cancel()
        except Exception as exc:  # the run must still reach the summary
            leaf = _first_leaf(exc)
            error = describe_exception(leaf)
            self._log(f"dmsload: the run failed: {error}")
            return error
        return None


def _first_leaf(exc: BaseException) -> BaseException:
    """The first real exception inside (possibly nested) task-group exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


async def _sleep_or_stop(rt: ScenarioRuntime, until_ns: int) -> bool:
    """Wait for `until_ns` (never returning before it) unless the scenario is stopped first."""
    while not rt.stopping:
        delay = (until_ns - perf_counter_ns()) / 1e9
        if delay <= 0:
            break
        # the loop's clock is uvloop's whole milliseconds: a deadline on it alone can end
        # up to 1 ms early, so round up by a tick and check the clock again
        with anyio.move_on_after(delay + LOOP_TICK_NS / 1e9):
            await rt.stop_event.wait()
    return not rt.stopping


def run_profile(profile: Profile, options: RunOptions | None = None) -> RunResult:
    """Run a profile on uvloop where available and return its result."""
    runner = Runner(profile, options)
    backend_options: dict[str, object] = {}
    try:
        import uvloop  # noqa: F401

        backend_options["use_uvloop"] = True
    except ImportError:
        pass
    with preserved():
        return anyio.run(runner.run, backend="asyncio", backend_options=backend_options)
