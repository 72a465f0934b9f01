"""The output session of one run: installs the tap, drains it every 200 ms into the timeline
and every output, runs the outputs' writer loops, and closes them at the end, whatever ended
the run."""

from __future__ import annotations

import time
from collections.abc import Sequence
from time import perf_counter_ns

import anyio
from anyio.abc import TaskGroup

from dmsload.metrics.registry import Registry
from dmsload.outputs.base import Output, OutputReport
from dmsload.outputs.tap import SampleTap
from dmsload.outputs.timeline import Timeline

DRAIN_INTERVAL_S = 0.2
"""How often samples move from the tap to the outputs (k6's JSON output flushes as often)."""
CLOSE_TIMEOUT_S = 30.0
"""How long the end of the run waits for outputs to write what they hold."""


class OutputSession:
    """Streams a registry's samples to outputs and a timeline for the length of a run."""

    def __init__(
        self,
        registry: Registry,
        outputs: Sequence[Output],
        timeline: Timeline | None,
        tap: SampleTap | None = None,
    ) -> None:
        self.registry = registry
        self.outputs = list(outputs)
        self.timeline = timeline
        self.tap = tap or SampleTap()
        self._stop: anyio.Event | None = None
        self._stopped = False

    @property
    def active(self) -> bool:
        """Whether anything listens (no tap is installed otherwise)."""
        return bool(self.outputs) or self.timeline is not None

    def begin(self, start_ns: int) -> None:
        """t = 0 of the run."""
        if self.timeline is not None:
            self.timeline.begin(start_ns)

    def start(self, group: TaskGroup) -> None:
        """Install the tap and start the drain loop and each output's writer in `group`."""
        if not self.active:
            return
        self._stop = anyio.Event()
        self.registry.tap = self.tap
        group.start_soon(self._drain_loop)
        for output in self.outputs:
            group.start_soon(output.run)

    def _dispatch(self) -> None:
        batch = self.tap.take()
        if self.timeline is not None:
            self.timeline.note_cpu(perf_counter_ns(), time.process_time())
            self.timeline.consume(batch)
        for output in self.outputs:
            output.offer(batch)

    async def _drain_loop(self) -> None:
        assert self._stop is not None
        while not self._stopped:
            with anyio.move_on_after(DRAIN_INTERVAL_S):
                await self._stop.wait()
            self._dispatch()

    async def finish(self, group: TaskGroup) -> None:
        """The last drain, then each output writes what it holds and closes (bounded in time).

        Call it shielded from cancellation, then leave `group`.
        """
        if not self.active:
            return
        end_ns = perf_counter_ns()
        self.registry.tap = None
        self._stopped = True
        if self._stop is not None:
            self._stop.set()
        self._dispatch()
        if self.timeline is not None:
            self.timeline.finish(end_ns)
        for output in self.outputs:
            output.request_close()
        with anyio.move_on_after(CLOSE_TIMEOUT_S) as scope:
            for output in self.outputs:
                await output.wait_done()
            for output in self.outputs:
                await output.finish()
        if scope.cancelled_caught:
            for output in self.outputs:
                output.abandon()
            group.cancel_scope.cancel()

    def reports(self) -> list[OutputReport]:
        """Every output's account, with what the tap itself could not hold."""
        reports = [output.report() for output in self.outputs]
        if self.tap.lost:
            reports.append(
                OutputReport("tap", 0, self.tap.lost, 0, ("the sample buffer overflowed",))
            )
        return reports
