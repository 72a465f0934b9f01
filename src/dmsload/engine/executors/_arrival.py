"""The open-model run loop shared by the arrival-rate executors."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Iterator
from time import perf_counter_ns
from typing import TYPE_CHECKING, Self

import anyio
import anyio.lowlevel
from pydantic import Field, PrivateAttr

from dmsload.durations import NS_PER_S, format_duration
from dmsload.engine.executors.base import Duration, ExecutorConfig, alias
from dmsload.engine.segments import NO_INDICES, ExecutionPart, Stripe

if TYPE_CHECKING:
    from dmsload.engine.scenario import ScenarioRuntime
    from dmsload.engine.vu import VU


_STARTED_AT_ONCE = 8
"""Pre-allocated VUs started before the first iteration; the rest start beside the schedule."""
_OVERDUE_NS = 200_000
_LOW_WATER = 4
"""Later than `_OVERDUE_NS` past a due time (the loop was held up) with at most `_LOW_WATER`
VUs idle, the schedule yields one loop turn before it starts the iteration: a backlog of due
iterations is then started between the loop's reads of responses, so VUs come back as it
drains, instead of the pool running dry (dropped iterations) behind one stall. With VUs to
spare the backlog is handed out at once, so it does not wait a loop turn per iteration."""


async def run_arrivals(
    rt: ScenarioRuntime,
    due_offsets_ns: Iterable[int],
    regular_ns: int,
    graceful_stop_ns: int,
    pre_allocated_vus: int,
    max_vus: int,
) -> None:
    """Start one iteration at each due offset by handing it to an idle VU without blocking.

    As k6: when no VU is idle the iteration is dropped (counted in `dropped_iterations`,
    never queued or retried) and, below `max_vus`, one more VU is started. Each iteration
    carries its intended start so latency can be measured from it (coordinated omission).
    A VU rejoins the idle list synchronously when its iteration ends, so no hand-off is lost
    to scheduling delays.
    """
    # an idle VU waits on its own future; the schedule sets it to the iteration's intended
    # start (None: stop). A raw future costs half an anyio Event's create, wait and set.
    idle: list[asyncio.Future[int | None]] = []
    closing = False
    allocated = 0
    warned = False
    loop = asyncio.get_running_loop()

    async def worker(vu: VU, first_ns: int | None) -> None:
        rt.progress.active_vus += 1
        try:
            if first_ns is not None:  # started for a due iteration
                await rt.iterate(vu, first_ns)
            while not closing:
                slot: asyncio.Future[int | None] = loop.create_future()
                idle.append(slot)
                intended_ns = await slot
                if intended_ns is None:
                    break
                await rt.iterate(vu, intended_ns)
        finally:
            rt.progress.active_vus -= 1
            await rt.release_vu(vu)

    def hand_off(intended_ns: int | None) -> bool:
        """Give the most recently idle VU its next iteration (None: tell it to stop)."""
        while idle:
            slot = idle.pop()
            if not slot.done():  # a VU cancelled while idle leaves its slot cancelled
                slot.set_result(intended_ns)
                return True
        return False

    with rt.deadline_scope(regular_ns + graceful_stop_ns), rt.precise_timing():
        async with anyio.create_task_group() as tg:

            def spawn(first_ns: int | None = None) -> None:
                nonlocal allocated
                allocated += 1
                tg.start_soon(worker, rt.new_vu(), first_ns)

            async def start_the_rest() -> None:
                """The pre-allocated VUs past the first few, one per loop turn beside the
                schedule: anyio starts a task in ~45 µs, and 100 at once made the first
                iteration ~5 ms late."""
                while allocated < pre_allocated_vus and not closing:
                    spawn()
                    await anyio.lowlevel.checkpoint()

            eager = min(pre_allocated_vus, _STARTED_AT_ONCE)
            for _ in range(eager):
                spawn()
            for _ in range(1000):  # let them reach the idle list
                if len(idle) >= eager:
                    break
                await anyio.lowlevel.checkpoint()
            tg.start_soon(start_the_rest)
            try:
                for due in due_offsets_ns:
                    if due > regular_ns:
                        break
                    if not await rt.sleep_until(due):
                        break
                    intended_ns = rt.start_ns + due
                    if len(idle) <= _LOW_WATER and perf_counter_ns() - intended_ns > _OVERDUE_NS:
                        await anyio.lowlevel.checkpoint()
                    if hand_off(intended_ns):
                        continue
                    if allocated < pre_allocated_vus:  # one of the pool not started yet
                        spawn(intended_ns)
                        continue
                    rt.drop(1)
                    if allocated < max_vus:
                        spawn()
                    elif not warned:
                        warned = True
                        rt.warn(
                            f"Insufficient VUs, reached {max_vus} active VUs and cannot "
                            "initialize more"
                        )
            finally:
                closing = True
                while hand_off(None):
                    pass


class ArrivalRateConfig(ExecutorConfig):
    """Options both arrival-rate executors share: time_unit and the VU pool bounds."""

    time_unit: Duration = Field(NS_PER_S, validation_alias=alias("time_unit", "timeUnit"))
    pre_allocated_vus: int = Field(
        ge=0, validation_alias=alias("pre_allocated_vus", "preAllocatedVUs")
    )
    max_vus: int | None = Field(None, ge=0, validation_alias=alias("max_vus", "maxVUs"))
    _stripe: Stripe | None = PrivateAttr(None)
    """The iterations this part starts (an execution segment's stripe); None: every one."""

    def for_part(self, part: ExecutionPart) -> Self:
        """The part's share of the VU pool, and the iterations of its stripe. As k6, the stripe
        comes from the sequence re-cut by max_vus: a part without VUs starts no iteration."""
        by_vus = part.for_value(self.vu_ceiling())
        copy = self.model_copy(
            update={
                "pre_allocated_vus": part.scale(self.pre_allocated_vus),
                "max_vus": part.scale(self.vu_ceiling()),
            }
        )
        copy._stripe = NO_INDICES if by_vus is None else by_vus.stripe
        return copy

    def iteration_indices(self) -> Iterator[int]:
        """The global (0-based) indices of the iterations this part starts, in order."""
        return itertools.count() if self._stripe is None else self._stripe.indices()

    def share_of(self, planned: int) -> int:
        """How many of the first `planned` iterations of the whole test this part starts."""
        return planned if self._stripe is None else self._stripe.count_below(planned)

    def vu_ceiling(self) -> int:
        """max_vus, which defaults to pre_allocated_vus."""
        return self.pre_allocated_vus if self.max_vus is None else self.max_vus

    def pool_rule_errors(self) -> list[tuple[str, str, object]]:
        """k6's checks on time_unit and the VU pool."""
        errors: list[tuple[str, str, object]] = []
        if self.time_unit <= 0:
            errors.append(("time_unit", "must be more than 0", format_duration(self.time_unit)))
        ceiling = self.vu_ceiling()
        if ceiling < self.pre_allocated_vus:
            errors.append(
                (
                    "max_vus",
                    f"can't be less than pre_allocated_vus ({self.pre_allocated_vus})",
                    ceiling,
                )
            )
        elif ceiling <= 0:
            errors.append(("max_vus", "pre_allocated_vus or max_vus must be more than 0", ceiling))
        return errors

    def peak_vus(self) -> int:
        return self.vu_ceiling()

    def pool_info(self) -> str:
        """The `(maxVUs: a-b, gracefulStop: ...)` suffix."""
        return f" (maxVUs: {self.pre_allocated_vus}-{self.vu_ceiling()}, " + self.base_info()[2:]

    def per_second(self, rate: float) -> float:
        """A rate per time_unit as iterations per second (this part's share of it)."""
        if not self.time_unit:
            return 0.0
        share = 1.0 if self._stripe is None else self._stripe.share()
        return rate * share * NS_PER_S / self.time_unit
