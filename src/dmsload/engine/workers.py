"""`--workers N`: N worker processes, each on its own segment of an even sequence; the parent
merges what they record exactly, shows the progress, judges the thresholds and stops them.

The wire, one `multiprocessing` pipe per worker:
- worker → parent: `ready` (setup done), then about once a second `report` (the registry
  state recorded since the last report, as in `metrics.wire`, plus progress counters), and
  at the end `final` (the last state and the run's outcome);
- parent → worker: `go` (the start time shared by every worker), `stop` (graceful, as a
  first SIGINT), `hard` (at once: a second signal, abort_on_fail, a dead worker) and `end`
  (graceful, not an interruption: a capacity search found its knee).

A capacity search's worker also reports at each step's end: a `report` with everything up to
then, followed by `step` (the step's number, the iterations it completed in it, the event
loop's CPU and timer lag over it), so the parent judges a step once every worker's `step`
arrived: its figures are then complete.

Each worker fetches its own OAuth token (README: "More than one core"). Workers ignore SIGINT
and SIGTERM: the parent relays them, so a Ctrl-C reaching the whole process group still stops
everyone once, gracefully.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import signal
import time
import traceback
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any, TextIO

import anyio

from dmsload.dms.data import RunData
from dmsload.engine.runner import (
    THRESHOLD_INTERVAL_S,
    Runner,
    RunOptions,
    RunResult,
)
from dmsload.engine.segments import ExecutionPart, even_sequence, parse_sequence
from dmsload.metrics import (
    Registry,
    ThresholdEngine,
    ThresholdResult,
    define_builtin_metrics,
    make_tags,
)
from dmsload.metrics.kinds import TagSet
from dmsload.metrics.registry import Metric
from dmsload.metrics.wire import Payload, drain, encode, merge_payload
from dmsload.outputs.session import OutputSession
from dmsload.outputs.tap import SampleTap
from dmsload.outputs.timeline import Timeline
from dmsload.profile import Profile
from dmsload.signals import preserved

if TYPE_CHECKING:
    from dmsload.capacity.figures import Percentiles
    from dmsload.capacity.monitor import StepJudge
    from dmsload.capacity.plan import StepSchedule
    from dmsload.settings import ConnectionSettings

REPORT_INTERVAL_S = 1.0
"""How often a worker sends what it recorded."""
_POLL_S = 0.05
_PARENT_OWNED = frozenset({"vus", "vus_max"})
"""Gauges the parent sets itself (the sum over workers), not merged from the workers'."""

WireSample = tuple[int, str, TagSet, float]
"""(perf_counter ns, metric name, tags, value): a sample as a worker sends it."""
Progress = dict[str, tuple[int, int, int, int, int, int, int]]
"""scenario → (completed, interrupted, dropped, active VUs, allocated VUs, requests, failed)."""
StepMark = tuple[int, int, float, tuple[float, float, float]]
"""(step number, iterations completed in it, event-loop CPU share, timer lag p50/p95/p99 ms):
a worker reached a step's end and reported everything it recorded of the step."""


@dataclass(frozen=True)
class WorkerJob:
    """What one worker process runs: its part of the profile and how to connect."""

    index: int
    workers: int
    profile: Profile
    run_id: str
    seed: int | None
    salt: str
    pinned: bool
    """The run id was asked for (`--run-id`), as in RunData."""
    verbose: bool
    insecure: bool
    connection: ConnectionSettings | None
    samples: bool
    """Send every sample too (the parent streams `--out` and keeps the timeline)."""
    steps: tuple[StepSchedule, ...] = ()
    """A capacity search's steps: report at the end of each (none: an ordinary run)."""


def worker_parts(profile: Profile, workers: int) -> list[Profile]:
    """The profile's parts over the even sequence of `workers` segments."""
    sequence = parse_sequence(even_sequence(workers))
    parts = []
    for segment in sequence:
        part = ExecutionPart.create(segment, sequence)
        parts.append(
            replace(
                profile,
                scenarios={
                    name: replace(s, config=s.config.for_part(part))
                    for name, s in profile.scenarios.items()
                },
                thresholds={},  # the parent judges the merged data
            )
        )
    return parts


# ---- the worker process -------------------------------------------------------------------


def _progress(runner: Runner) -> Progress:
    result: Progress = {}
    for rt in runner.runtimes:
        p = rt.progress
        c = rt.recorder.counters
        result[rt.name] = (
            p.completed,
            p.interrupted,
            p.dropped,
            p.active_vus,
            p.allocated_vus,
            c.requests,
            c.failed,
        )
    return result


class _WorkerSide:
    """A worker's end of the pipe: reports, and obeys go/stop/hard."""

    def __init__(self, conn: Connection, job: WorkerJob) -> None:
        self.conn = conn
        self.job = job
        self.go: float | None = None
        self.go_event: anyio.Event | None = None
        self.runner: Runner | None = None
        self.parent_gone = False
        self.tap: SampleTap | None = None
        self.pending: tuple[StepSchedule, float, Percentiles] | None = None
        """A step that ended, with its CPU and lag, but was not reported yet (the run may end
        first)."""

    def samples(self) -> list[WireSample]:
        """The samples recorded since the last report (none unless the parent asked)."""
        if self.tap is None:
            return []
        return [
            (ns, metric.name, tags, value)
            for ns, metric, tags, value in self.tap.take()
            if metric.name not in _PARENT_OWNED
        ]

    def send(self, message: tuple[Any, ...]) -> None:
        try:
            self.conn.send(message)
        except (BrokenPipeError, EOFError, OSError):
            self.parent_gone = True

    async def start_gate(self) -> float | None:
        """Tell the parent setup is done; wait for the shared start time."""
        self.send(("ready", self.job.index))
        assert self.go_event is not None
        await self.go_event.wait()
        return self.go

    async def listen(self) -> None:
        """Obey the parent; a parent that went away stops the run at once."""
        assert self.go_event is not None
        while True:
            try:
                while self.conn.poll():
                    message = self.conn.recv()
                    if message[0] == "go":
                        self.go = message[1]
                        self.go_event.set()
                    elif self.runner is not None and message[0] == "end":
                        self.runner.stop()
                    elif self.runner is not None:
                        self.runner.interrupt(hard=message[0] == "hard")
                        self.go_event.set()
            except (EOFError, OSError):
                self.parent_gone = True
            if self.parent_gone:
                if self.runner is not None:
                    self.runner.interrupt(hard=True)
                self.go_event.set()
                return
            await anyio.sleep(_POLL_S)

    def flush(self) -> None:
        """Send what was recorded since the last report."""
        assert self.runner is not None
        payload = encode(drain(self.runner.registry))
        samples = self.samples()
        self.send(("report", self.job.index, payload, _progress(self.runner), samples))

    async def report(self) -> None:
        """Send what was recorded since the last report, about once a second."""
        while True:
            await anyio.sleep(REPORT_INTERVAL_S)
            self.flush()

    def pending_mark(self) -> StepMark | None:
        """The pending step's mark, its iterations counted now: what was reported so far."""
        if self.pending is None or self.runner is None:
            return None
        item, cpu, lag = self.pending
        done = sum(
            rt.progress.completed for rt in self.runner.runtimes if rt.name == item.load.scenario
        )
        return (item.load.number, done, cpu, (lag.p50, lag.p95, lag.p99))

    async def mark_steps(self, runner: Runner) -> None:
        """The runner's monitor in a capacity search: at each step's end (once its last
        iterations were recorded), report everything, then the step's CPU and lag."""
        # imported here: dmsload.capacity imports this module
        from dmsload.capacity.monitor import SETTLE_S, watch_steps

        async def ended(item: StepSchedule, cpu: float, lag: Percentiles) -> bool:
            self.pending = (item, cpu, lag)
            await anyio.sleep(SETTLE_S)
            self.flush()
            self.send(("step", self.job.index, self.pending_mark()))
            self.pending = None
            return True

        await watch_steps(runner, self.job.steps, ended)

    async def run(self) -> None:
        job = self.job
        self.go_event = anyio.Event()
        run_data = RunData(
            run_id=job.run_id,
            seed=job.seed,
            worker=job.index,
            workers=job.workers,
            pinned=job.pinned,
            salt=job.salt,
        )
        options = RunOptions(
            quiet=True,
            verbose=job.verbose,
            insecure=job.insecure,
            handle_signals=False,
            connection=job.connection,
            run_data=run_data,
            start_gate=self.start_gate,
            monitor=self.mark_steps if job.steps else None,
        )
        runner = self.runner = Runner(job.profile, options)
        if job.samples:
            self.tap = runner.registry.tap = SampleTap()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.listen)
            tg.start_soon(self.report)
            result = await runner.run()
            tg.cancel_scope.cancel()
        session = runner.dms.started
        info = {
            "error": result.error,
            "elapsed_s": result.elapsed_s,
            "interrupted": result.interrupted,
            "warnings": result.warnings,
            "scenarios": result.scenario_names,
            "discovery": None if session is None else dict(session.discovery),
            "data_api_url": None if session is None else session.data_api_url,
            "step_mark": self.pending_mark(),
        }
        payload = encode(drain(runner.registry))
        self.send(("final", job.index, payload, _progress(runner), info, self.samples()))


def worker_main(conn: Connection, job: WorkerJob) -> None:
    """A worker process's entry point: run its part and report to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    side = _WorkerSide(conn, job)
    backend_options: dict[str, object] = {}
    try:
        import uvloop  # noqa: F401

        backend_options["use_uvloop"] = True
    except ImportError:
        pass
    try:
        anyio.run(side.run, backend="asyncio", backend_options=backend_options)
    except BaseException as exc:  # the parent must learn why, in one line
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {frames[-1].name}:{frames[-1].lineno}" if frames else ""
        side.send(("failed", job.index, f"{exc}{where}"))
        raise SystemExit(1) from None
    finally:
        conn.close()
        gc.freeze()  # the process's exit then skips scanning the heap: a quarter second of CPU


# ---- the parent ---------------------------------------------------------------------------


@dataclass
class _Worker:
    """The parent's view of one worker."""

    index: int
    process: BaseProcess
    conn: Connection
    ready: bool = False
    final: dict[str, Any] | None = None
    failure: str | None = None
    """How the worker ended badly (died, or failed), for the summary."""
    progress: Progress = field(default_factory=dict)
    marks: dict[int, StepMark] = field(default_factory=dict)
    """step number → the worker's mark of that step's end (a capacity search)."""

    @property
    def done(self) -> bool:
        return self.final is not None or self.failure is not None

    def tell(self, message: tuple[Any, ...]) -> None:
        if self.done:
            return
        with contextlib.suppress(BrokenPipeError, EOFError, OSError):
            self.conn.send(message)


def _how_it_ended(process: BaseProcess) -> str:
    code = process.exitcode
    if code is None:
        return "stopped reporting"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


class WorkerPool:
    """Runs a profile in N worker processes and merges their results into one RunResult."""

    def __init__(
        self,
        profile: Profile,
        options: RunOptions,
        workers: int,
        judge: StepJudge | None = None,
    ) -> None:
        self.profile = profile
        self.judge = judge
        """A capacity search's judge: each step is judged on the merged registry once every
        worker reported its end."""
        self._next_step = 0
        self._knee = False
        self._steps_seen = Registry()
        """What each worker recorded of each step up to its mark of the step's end, the
        figures the judge reads: a step's later samples count in the run, not in its step."""
        self.options = options
        self.count = workers
        self.registry = Registry()
        self.metrics = define_builtin_metrics(self.registry)
        for scenario in profile.scenarios.values():
            for name, (kind, contains) in scenario.workload.metrics.items():
                self.registry.define(name, kind, contains)
        self.engine = ThresholdEngine(profile.thresholds)
        self.workers: list[_Worker] = []
        self.interrupted = False
        self.aborted_by: ThresholdResult | None = None
        self.error: str | None = None
        self.start_ns = 0
        self.stream: TextIO = options.progress_stream
        self.session: OutputSession | None = None
        self._progress_drawn = False
        if options.outputs or options.timeline:
            timeline = Timeline() if options.timeline else None
            self.session = OutputSession(self.registry, options.outputs, timeline)

    def _log(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
        self._progress_drawn = False

    # ---- processes --------------------------------------------------------------------
    def _spawn(self) -> None:
        run_data = self.options.run_data or RunData.create()
        self.run_id = run_data.run_id
        context = multiprocessing.get_context("spawn")
        for index, part in enumerate(worker_parts(self.profile, self.count)):
            job = WorkerJob(
                index=index,
                workers=self.count,
                profile=part,
                run_id=run_data.run_id,
                seed=run_data.seed,
                salt=run_data.salt,
                pinned=run_data.pinned,
                verbose=self.options.verbose,
                insecure=self.options.insecure,
                connection=self.options.connection,
                samples=self.session is not None,
                steps=() if self.judge is None else tuple(self.judge.schedule),
            )
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=worker_main, args=(child_end, job), name=f"dmsload-worker-{index}"
            )
            process.start()
            child_end.close()
            self.workers.append(_Worker(index, process, parent_end))

    def _tell_all(self, message: tuple[Any, ...]) -> None:
        for worker in self.workers:
            worker.tell(message)

    def _receive(self, worker: _Worker) -> None:
        """Take every message the worker has sent; notice when it died."""
        try:
            while not worker.done and worker.conn.poll():
                self._handle(worker, worker.conn.recv())
        except (EOFError, OSError):
            pass
        if not worker.done and not worker.process.is_alive():
            worker.process.join(timeout=1)
            worker.failure = (
                f"worker {worker.index} (pid {worker.process.pid}) {_how_it_ended(worker.process)}"
            )
            self._on_failure(worker)

    def _handle(self, worker: _Worker, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ready":
            worker.ready = True
        elif kind == "report":
            self._merge(worker, message[2])
            worker.progress = message[3]
            self._stream(worker.index, message[4])
        elif kind == "final":
            self._merge(worker, message[2])
            worker.progress = message[3]
            worker.final = message[4]
            self._stream(worker.index, message[5])
            if worker.final.get("step_mark") is not None:
                self._mark(worker, worker.final["step_mark"])
            if worker.final["error"] and self.error is None:
                # as one process would: the run cannot proceed (setup failed, --start-at missed)
                self.error = f"worker {worker.index}: {worker.final['error']}"
                self._log(f"dmsload: the run failed: {self.error}")
                self._tell_all(("hard",))
        elif kind == "step":
            self._mark(worker, message[2])
        elif kind == "failed":
            worker.failure = f"worker {worker.index} failed: {message[2]}"
            self._on_failure(worker)

    def _mark(self, worker: _Worker, mark: StepMark) -> None:
        """A worker reached a step's end; judge every step that all workers reached."""
        worker.marks[mark[0]] = mark
        self._judge_steps()

    def _judge_steps(self) -> None:
        """Judge, in order, each step every worker has reported the end of; at the first one
        that is not good, end every worker's run (the knee is found)."""
        from dmsload.capacity.figures import Percentiles, WorkerStep  # see mark_steps

        judge = self.judge
        if judge is None:
            return
        while not self._knee and self._next_step < len(judge.schedule):
            item = judge.schedule[self._next_step]
            marks = [w.marks.get(item.load.number) for w in self.workers]
            if any(m is None for m in marks):
                return
            shares = [
                WorkerStep(w.index, m[1], m[2], Percentiles(*m[3]))
                for w, m in zip(self.workers, marks, strict=True)
                if m is not None
            ]
            self._next_step += 1
            if not judge.judge_merged(self._steps_seen, item, shares).ok:
                self._knee = True
                self._tell_all(("end",))

    def _stream(self, index: int, samples: list[WireSample]) -> None:
        """Hand a worker's samples to the outputs and the timeline, tagged `worker`."""
        if self.session is None or not samples:
            return
        tap = self.session.tap
        metrics: dict[str, Metric] = {}
        tagged: dict[TagSet, TagSet] = {}
        worker = str(index)
        for ns, name, tags, value in samples:
            metric = metrics.get(name)
            if metric is None:
                metric = self.registry.get(name)
                if metric is None:  # a metric the worker defined first: its state follows
                    continue
                metrics[name] = metric
            with_worker = tagged.get(tags)
            if with_worker is None:
                with_worker = tagged[tags] = make_tags({**dict(tags), "worker": worker})
            tap.put_at(ns, metric, with_worker, value)

    def _merge(self, worker: _Worker, payload: Payload) -> None:
        merge_payload(self.registry, payload, skip=_PARENT_OWNED)
        if self.judge is None:
            return
        open_steps = {
            ("scenario", item.load.scenario)
            for item in self.judge.schedule
            if item.load.number not in worker.marks
        }
        before_marks: Payload = []
        for name, kind, contains, series in payload:
            kept = [(tags, state) for tags, state in series if open_steps.intersection(tags)]
            if kept:
                before_marks.append((name, kind, contains, kept))
        merge_payload(self._steps_seen, before_marks)

    def _on_failure(self, worker: _Worker) -> None:
        assert worker.failure is not None
        if self.error is None:
            self.error = f"{worker.failure}; the other workers were stopped"
            self._log(f"dmsload: {worker.failure}: stopping every worker")
        self._tell_all(("hard",))

    # ---- control ----------------------------------------------------------------------
    def interrupt(self, name: str) -> None:
        """A signal: the first stops every worker gracefully, the second at once."""
        if not self.interrupted:
            self.interrupted = True
            self._log(
                f"dmsload: {name}: stopping every worker gracefully; send it again to stop at once"
            )
            self._tell_all(("stop",))
        else:
            self._log(f"dmsload: {name}: stopping every worker now")
            self._tell_all(("hard",))

    async def _watch_signals(self) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                self.interrupt(signal.Signals(signum).name)

    def _elapsed_s(self) -> float:
        return (perf_counter_ns() - self.start_ns) / 1e9 if self.start_ns else 0.0

    def _sample_vus(self) -> None:
        active = sum(p[3] for w in self.workers for p in w.progress.values())
        allocated = sum(p[4] for w in self.workers for p in w.progress.values())
        base = make_tags({})
        self.registry.add(self.metrics.vus, float(active), base)
        self.registry.add(self.metrics.vus_max, float(allocated), base)

    def _check_thresholds(self) -> None:
        now = self._elapsed_s()
        failed = self.engine.should_abort(self.engine.evaluate(self.registry, now), now)
        if failed is not None and self.aborted_by is None:
            self.aborted_by = failed
            self._log(
                f"dmsload: threshold {failed.selector} '{failed.threshold.source}' failed with "
                "abort_on_fail: stopping every worker"
            )
            self._tell_all(("hard",))

    def _draw(self, line: str) -> None:
        """The progress line: redrawn in place on a terminal (unless a message came after
        it), one line a time otherwise."""
        if self._progress_drawn and self.stream.isatty():
            self.stream.write("\x1b[1F\x1b[2K")
        self._log(line)
        self._progress_drawn = True

    def _progress_line(self, last: list[int], interval_s: float) -> str:
        totals = [0] * 7
        for worker in self.workers:
            for counts in worker.progress.values():
                totals = [a + b for a, b in zip(totals, counts, strict=True)]
        completed, interrupted, dropped, active, allocated, requests, failed = totals
        rps = (requests - last[0]) / interval_s if interval_s > 0 else 0.0
        last[0] = requests
        planned = [s.config.progress_total() for s in self.profile.scenarios.values()]
        total = "" if any(p is None for p in planned) else f"/{sum(p or 0 for p in planned)}"
        live = sum(1 for w in self.workers if not w.done)
        extra = (f" {interrupted} interrupted" if interrupted else "") + (
            f" {dropped} dropped" if dropped else ""
        )
        err = 100.0 * failed / requests if requests else 0.0
        return (
            f"running ({self._elapsed_s():.1f}s) workers {live}/{self.count}  VUs {active}/"
            f"{allocated}  iters {completed}{total}{extra}  req/s {rps:.1f}  errors {err:.2f}%"
        )

    async def _supervise(self) -> None:
        """Start everyone together, then merge, judge and print until every worker is done."""
        interval = self.options.progress_interval_s or 1.0
        while not all(w.ready or w.done for w in self.workers):
            for worker in self.workers:
                self._receive(worker)
            await anyio.sleep(_POLL_S)
        start_at = self.options.start_at or time.time() + 0.05
        self._tell_all(("go", start_at))
        await anyio.sleep(max(0.0, start_at - time.time()))
        self.start_ns = perf_counter_ns()
        if self.session is not None:
            self.session.begin(self.start_ns)
        self.registry.add(self.metrics.vus, 0.0, make_tags({}))
        last_print = last_eval = last_vus = 0.0
        last_requests = [0]
        while not all(w.done for w in self.workers):
            for worker in self.workers:
                self._receive(worker)
            now = self._elapsed_s()
            if now - last_vus >= 1.0:
                last_vus = now
                self._sample_vus()
            if now - last_eval >= THRESHOLD_INTERVAL_S:
                last_eval = now
                self._check_thresholds()
            if not self.options.quiet and now - last_print >= interval:
                self._draw(self._progress_line(last_requests, now - last_print))
                last_print = now
            await anyio.sleep(_POLL_S)

    async def run(self) -> RunResult:
        """Run every worker to its end; the merged result, whatever stopped the run."""
        started_at = time.time()
        self._spawn()
        async with anyio.create_task_group() as streams:
            if self.session is not None:
                self.session.start(streams)
            try:
                async with anyio.create_task_group() as tg:
                    if self.options.handle_signals:
                        tg.start_soon(self._watch_signals)
                    await self._supervise()
                    tg.cancel_scope.cancel()
            finally:
                with anyio.CancelScope(shield=True):
                    await self._reap()
                    self.registry.add(self.metrics.vus, 0.0, make_tags({}))
                    if self.session is not None:
                        await self.session.finish(streams)
        finals = [w.final for w in self.workers if w.final is not None]
        # the run lasted as long as its longest part; the parent's own clock also counts the
        # workers' teardown and their last report
        elapsed = max((f["elapsed_s"] for f in finals), default=self._elapsed_s())
        session = self.session
        warnings = [text for f in finals for text in f["warnings"]]
        warnings += [w.failure for w in self.workers if w.failure is not None]
        errors = [
            f"worker {w.index}: {w.final['error']}"
            for w in self.workers
            if w.final and w.final["error"]
        ]
        error = self.error or (errors[0] if errors else None)
        first = next((f for f in finals if f["discovery"] is not None), None)
        scenario_names = next((f["scenarios"] for f in finals), list(self.profile.scenarios))
        return RunResult(
            registry=self.registry,
            metrics=self.metrics,
            thresholds=self.engine.evaluate(self.registry, elapsed),
            elapsed_s=elapsed,
            started_at=started_at,
            ended_at=time.time(),
            interrupted=self.interrupted,
            aborted_by=self.aborted_by,
            warnings=warnings,
            scenario_names=scenario_names,
            error=error,
            run_id=self.run_id,
            discovery=None if first is None else first["discovery"],
            data_api_url=None if first is None else first["data_api_url"],
            timeline=None
            if session is None or session.timeline is None
            else session.timeline.to_json(),
            outputs=[] if session is None else session.reports(),
        )

    async def _reap(self) -> None:
        """Wait for every worker to exit (5 s after the last report, then kill it)."""
        deadline = time.monotonic() + 5.0
        for worker in self.workers:
            if not worker.done:  # the supervisor was cancelled: stop it now
                worker.tell(("hard",))
        while any(w.process.is_alive() for w in self.workers) and time.monotonic() < deadline:
            for worker in self.workers:
                self._receive(worker)
            await anyio.sleep(_POLL_S)
        for worker in self.workers:
            if worker.process.is_alive():
                worker.process.kill()
            worker.process.join(timeout=5)
            worker.conn.close()


def run_workers(
    profile: Profile, options: RunOptions, workers: int, judge: StepJudge | None = None
) -> RunResult:
    """Run `profile` in `workers` processes and return the merged result; a capacity search
    passes its `judge`, which the parent runs on the merged registry at each step's end."""
    pool = WorkerPool(profile, options, workers, judge)
    with preserved():
        return anyio.run(pool.run, backend="asyncio")
