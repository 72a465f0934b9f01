"""The sample tap: every sample the registry records, timestamped, in a bounded buffer.

The registry calls `put` on its hot path when streaming outputs or a timeline are on; an
output session drains the buffer every 200 ms and hands the batch to each output. When the
buffer is full (the drain task starved), samples are counted as lost, never waited for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from time import perf_counter_ns
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dmsload.metrics.kinds import TagSet
    from dmsload.metrics.registry import Metric

DEFAULT_TAP_CAPACITY = 1_000_000
"""Samples the tap holds between two drains (about 100 MB at most)."""


Sample = tuple[int, "Metric", "TagSet", float]
"""One sample: (perf_counter ns when recorded, metric, tags, value in display units: ms for
time trends). A plain tuple: building it is the tap's whole per-sample cost."""


@dataclass(frozen=True)
class Clock:
    """Maps `perf_counter_ns` readings to wall-clock Unix nanoseconds."""

    offset_ns: int

    @classmethod
    def now(cls) -> Clock:
        """A clock aligned at this instant."""
        return cls(time.time_ns() - perf_counter_ns())

    def wall_ns(self, perf_ns: int) -> int:
        """Unix time in ns of a perf_counter reading."""
        return perf_ns + self.offset_ns


class SampleTap:
    """The registry's hook: a bounded list of samples, swapped out by the drain."""

    __slots__ = ("_buffer", "capacity", "lost")

    def __init__(self, capacity: int = DEFAULT_TAP_CAPACITY) -> None:
        self.capacity = capacity
        self.lost = 0
        self._buffer: list[Sample] = []

    def put(self, metric: Metric, tags: TagSet, value: float) -> None:
        """Record one sample now (called by the registry for every sample)."""
        buffer = self._buffer
        if len(buffer) < self.capacity:
            buffer.append((perf_counter_ns(), metric, tags, value))
        else:
            self.lost += 1

    def put_at(self, perf_ns: int, metric: Metric, tags: TagSet, value: float) -> None:
        """Record one sample taken elsewhere (a worker process: perf_counter is the system's
        monotonic clock, so its readings compare across processes)."""
        if len(self._buffer) < self.capacity:
            self._buffer.append((perf_ns, metric, tags, value))
        else:
            self.lost += 1

    def take(self) -> list[Sample]:
        """Every sample since the last take, oldest first."""
        batch = self._buffer
        self._buffer = []
        return batch
