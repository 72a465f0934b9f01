"""The sandbox's capacity model: at most C DMS requests served at once, each taking at least D ms.

A target with a known knee: below C/D requests per second every request takes about D; above it
requests queue for a free slot, latency grows without bound and throughput stays at C/D.

With a service time, the slots run on a virtual clock (each slot is free again exactly D after
the request it served started, however late the event loop woke), so the knee stays at C/D on
a busy machine: a late wake-up adds latency to one response, never capacity lost for good.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dmsload.sandbox.faults import FaultSettings


class CapacityGate:
    """Serves DMS requests through `concurrency_limit` slots of at least `service_time_ms`."""

    def __init__(self) -> None:
        self._key: tuple[int, float] = (0, 0.0)
        self._free_at: list[float] = []
        self._slots: asyncio.Semaphore | None = None

    def _reshape(self, limit: int, service_s: float) -> None:
        if self._key != (limit, service_s):
            self._key = (limit, service_s)
            self._free_at = [0.0] * limit
            self._slots = asyncio.Semaphore(limit) if limit > 0 else None

    @asynccontextmanager
    async def serving(self, settings: FaultSettings) -> AsyncIterator[None]:
        """Hold the request in its slot: the body runs, the reply waits for the slot's end."""
        limit = settings.concurrency_limit
        service_s = settings.service_time_ms / 1000.0
        if limit <= 0 and service_s <= 0:
            yield
            return
        self._reshape(limit, service_s)
        if service_s <= 0:  # a pure concurrency limit: a real semaphore
            assert self._slots is not None
            async with self._slots:
                yield
            return
        now = time.monotonic()
        if limit > 0:
            start = max(now, heapq.heappop(self._free_at))
            heapq.heappush(self._free_at, start + service_s)
            if start > now:  # queued: the request is handled when its slot begins
                await asyncio.sleep(start - now)
        else:
            start = now
        yield
        remaining = start + service_s - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)
