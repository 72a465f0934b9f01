"""Run loops shared by the looping (closed-model) executors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel

if TYPE_CHECKING:
    from dmsload.engine.scenario import ScenarioRuntime
    from dmsload.engine.vu import VU


_YIELD_EVERY = 16
"""Iterations between explicit yields to the loop (a power of two)."""


async def loop_until(rt: ScenarioRuntime, vu: VU, end_ns: int) -> None:
    """Iterate until `end_ns` after the start or a stop; the VU is closed afterwards.

    An iteration that sends a request yields to the loop while it waits; one that fails
    before its first await would not, so every `_YIELD_EVERY`th iteration yields
    explicitly too (yielding after each one cost a loop turn per request).
    """
    rt.progress.active_vus += 1
    try:
        while not rt.stopping and rt.elapsed_ns() < end_ns:
            await rt.iterate(vu)
            if not vu.iteration & (_YIELD_EVERY - 1):
                await anyio.lowlevel.checkpoint()
    finally:
        rt.progress.active_vus -= 1
        await rt.release_vu(vu)
