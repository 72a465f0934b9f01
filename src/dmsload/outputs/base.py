"""What every streaming output shares: a bounded queue fed by the session, a writer loop, and
an account of what was written, lost and not delivered."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import anyio

from dmsload.metrics.kinds import TagSet
from dmsload.metrics.thresholds import Threshold
from dmsload.outputs.tap import Clock, Sample

DEFAULT_QUEUE_SAMPLES = 2_000_000
"""Samples an output may have waiting before new ones are dropped (and counted)."""


class OutputError(Exception):
    """An output that cannot start: a bad `--out` argument, a file that cannot be created."""


@dataclass(frozen=True)
class OutputContext:
    """What outputs may need to know about the run."""

    clock: Clock
    thresholds: Mapping[str, Sequence[Threshold]] = field(default_factory=dict)
    drop_tags: frozenset[str] = frozenset()
    """Tags the streams leave out of every sample (`--k6-tags`: dmsload's own tags)."""


DMSLOAD_TAGS = frozenset({"operation", "resource"})
"""The tags dmsload's DMS workloads add that k6 has no counterpart for (`--k6-tags` drops them)."""


def kept_tags(tags: TagSet, drop: frozenset[str]) -> TagSet:
    """`tags` without the dropped keys (computed once per series by each output)."""
    if not drop:
        return tags
    return tuple(pair for pair in tags if pair[0] not in drop)


@dataclass(frozen=True)
class OutputReport:
    """An output's account at the end of the run, for the summary and the JSON export."""

    label: str
    written: int
    lost: int
    undelivered: int
    warnings: tuple[str, ...]

    def lines(self) -> list[str]:
        """Summary notes: one line, plus a line per warning."""
        text = f"output {self.label}: {self.written:,} samples written"
        if self.lost:
            text += f", {self.lost:,} LOST (its queue was full: the output was slower than the run)"
        if self.undelivered:
            text += f", {self.undelivered:,} could not be delivered"
        return [text, *(f"output {self.label}: {warning}" for warning in self.warnings)]

    def to_json(self) -> dict[str, object]:
        """Its entry in the summary JSON."""
        return {
            "output": self.label,
            "written": self.written,
            "lost": self.lost,
            "undelivered": self.undelivered,
            "warnings": list(self.warnings),
        }


class Output(ABC):
    """A streaming output: the session offers it batches; its `run` loop writes them."""

    kind: str = ""
    ctx: OutputContext
    """Set by `open`."""

    def __init__(self, target: str, queue_samples: int = DEFAULT_QUEUE_SAMPLES) -> None:
        self.target = target
        self.queue_samples = queue_samples
        self.written = 0
        self.lost = 0
        self.undelivered = 0
        self.warnings: list[str] = []
        self._queue: deque[list[Sample]] = deque()
        self._queued = 0
        self._in_flight = 0
        self._wake: anyio.Event | None = None
        self._done: anyio.Event | None = None
        self._closing = False

    @property
    def label(self) -> str:
        """`kind=target`, as given to `--out` (never holding a secret)."""
        return f"{self.kind}={self.target}"

    def open(self, ctx: OutputContext) -> None:
        """Prepare before the run starts (create files); raises OutputError."""
        self.ctx = ctx

    def offer(self, batch: list[Sample]) -> None:
        """Queue a batch without waiting; a batch that does not fit is counted as lost."""
        if not batch:
            return
        if self._queued + len(batch) > self.queue_samples:
            self.lost += len(batch)
            return
        self._queue.append(batch)
        self._queued += len(batch)
        if self._wake is not None:
            self._wake.set()

    def request_close(self) -> None:
        """No more batches: `run` writes what is queued, then returns."""
        self._closing = True
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """Write queued batches as they come, until closed and empty."""
        self._done = anyio.Event()
        try:
            while True:
                self._wake = anyio.Event()
                while self._queue:
                    batch = self._queue.popleft()
                    self._queued -= len(batch)
                    self._in_flight = len(batch)
                    await self.write(batch)
                    self._in_flight = 0
                if self._closing:
                    return
                await self._wake.wait()
        finally:
            self._done.set()

    async def wait_done(self) -> None:
        """Until `run` has returned (at once if it never started)."""
        if self._done is not None:
            await self._done.wait()

    def abandon(self) -> None:
        """Count what is queued or being written as lost (the session gave up waiting)."""
        self.lost += self._queued + self._in_flight
        self._queue.clear()
        self._queued = self._in_flight = 0
        self.warn_once("gave up waiting for it to finish writing")

    @abstractmethod
    async def write(self, batch: list[Sample]) -> None:
        """Write one batch (count it in `written`, or in `undelivered`)."""

    async def finish(self) -> None:
        """Flush and release everything after the last batch (override as needed)."""
        return None

    def warn_once(self, text: str) -> None:
        """Keep a warning for the summary, once."""
        if text not in self.warnings:
            self.warnings.append(text)

    def report(self) -> OutputReport:
        """The account for the summary."""
        return OutputReport(
            self.label, self.written, self.lost, self.undelivered, tuple(self.warnings)
        )
