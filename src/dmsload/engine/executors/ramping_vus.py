"""k6's `ramping-vus`: VUs ramp in whole steps along stages, with graceful ramp-down."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, Self

import anyio
import anyio.lowlevel
from pydantic import Field, PrivateAttr

from dmsload.durations import NS_PER_S, format_duration
from dmsload.engine.executors.base import (
    Duration,
    ExecutorConfig,
    Stage,
    alias,
    sum_stages_ns,
    validate_stages,
)

if TYPE_CHECKING:
    from dmsload.engine.scenario import ScenarioRuntime
    from dmsload.engine.segments import ExecutionPart
    from dmsload.engine.vu import VU


@dataclass(frozen=True)
class Step:
    """From `offset_ns` on, `vus` VUs are planned."""

    offset_ns: int
    vus: int


def _go_div(a: int, b: int) -> int:
    """Integer division truncating toward zero, as Go's `/` on int64."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def raw_execution_steps(start_vus: int, stages: list[Stage], zero_end: bool) -> list[Step]:
    """k6's getRawExecutionSteps: the planned VU count over time, one step per VU change.

    In a stage from `f` to `t` VUs over D ending at E, VU n (f < n <= t) starts at
    E - D*(t-n)/(t-f); on the way down the count falls to n-1 at E - D*(t-n+1)/(t-f).
    """
    steps = [Step(0, start_vus)]

    def add(offset: int, vus: int) -> None:
        if steps[-1].vus != vus:
            steps.append(Step(offset, vus))

    time_till_end = 0
    from_vus = start_vus
    for stage in stages:
        end_vus = stage.target
        duration = stage.duration
        time_till_end += duration
        diff = end_vus - from_vus
        if diff == 0:
            continue
        if duration == 0:
            add(time_till_end, end_vus)
            from_vus = end_vus
            continue
        if diff < 0:
            for n in range(from_vus, end_vus, -1):
                add(time_till_end - _go_div(duration * (end_vus - n + 1), diff), n - 1)
        else:
            for n in range(from_vus, end_vus + 1):
                add(time_till_end - _go_div(duration * (end_vus - n), diff), n)
        from_vus = end_vus
    if zero_end and steps[-1].vus != 0:
        steps.append(Step(time_till_end, 0))
    return steps


def part_steps(steps: list[Step], scale: Callable[[int], int]) -> list[Step]:
    """The steps of one execution segment: VU n of the whole test belongs to the part whose
    stripe holds index n-1, so the part's count at any time is its share of the whole's
    count (k6 interleaves VUs between instances this way); steps that change nothing go."""
    result = [Step(0, scale(steps[0].vus))]
    for step in steps[1:]:
        vus = scale(step.vus)
        if vus != result[-1].vus:
            result.append(Step(step.offset_ns, vus))
    return result


def reserve_for_graceful_ramp_downs(
    raw: list[Step], graceful_ramp_down_ns: int, end_offset_ns: int
) -> list[Step]:
    """k6's reserveVUsForGracefulRampDowns: keep ramped-down VUs reserved while they may
    still be finishing an iteration, without planning more than the peak."""
    new: list[Step] = []
    last_planned = 0
    last_downward = 0
    i = 0
    while i < len(raw):
        step = raw[i]
        if i == 0 or step.vus > last_planned:
            new.append(step)
            last_planned = step.vus
            i += 1
            continue
        if step.vus == last_planned:
            i += 1
            continue
        with_timeout = step.offset_ns + graceful_ramp_down_ns
        skipped = False
        ramping_down = True
        for adv in range(max(last_downward, i + 1), len(raw)):
            ahead = raw[adv]
            if ahead.offset_ns > with_timeout:
                break
            if ahead.vus >= last_planned:
                i = adv - 1
                skipped = True
                break
            if ramping_down:
                if raw[adv - 1].vus > ahead.vus:
                    last_downward = adv
                else:
                    ramping_down = False
        if skipped:
            i += 1
            continue
        if with_timeout >= end_offset_ns:
            break
        new.append(Step(with_timeout, step.vus))
        last_planned = step.vus
        i += 1
    return new


def execution_requirements(
    start_vus: int,
    stages: list[Stage],
    graceful_ramp_down_ns: int,
    graceful_stop_ns: int,
    scale: Callable[[int], int] | None = None,
) -> list[Step]:
    """k6's GetExecutionRequirements: VUs reserved over time, ending with 0 at
    sum(stages) + graceful_stop; `scale` gives one execution segment's share."""
    steps = raw_execution_steps(start_vus, stages, zero_end=False)
    if scale is not None:
        steps = part_steps(steps, scale)
    end = sum_stages_ns(stages) + graceful_stop_ns
    if graceful_ramp_down_ns > 0:
        steps = reserve_for_graceful_ramp_downs(steps, graceful_ramp_down_ns, end)
    if steps[-1].vus != 0:
        steps.append(Step(end, 0))
    return steps


class RampingVUsConfig(ExecutorConfig):
    """VUs ramp from `start_vus` through each stage's `target`."""

    kind: ClassVar[str] = "ramping-vus"
    duration_fields: ClassVar[tuple[str, ...]] = ("graceful_ramp_down",)

    executor: Literal["ramping-vus"]
    start_vus: int = Field(1, ge=0, validation_alias=alias("start_vus", "startVUs"))
    stages: list[Stage] = Field(default_factory=list)
    graceful_ramp_down: Duration = Field(
        30 * NS_PER_S, validation_alias=alias("graceful_ramp_down", "gracefulRampDown")
    )
    _part: ExecutionPart | None = PrivateAttr(None)
    """The execution segment this config runs; None: the whole test."""

    def for_part(self, part: ExecutionPart) -> Self:
        """The part's VUs: its share of the whole's VU count at every instant."""
        copy = self.model_copy()
        copy._part = part
        return copy

    def raw_steps(self) -> list[Step]:
        """The planned VU count over time (this part's, under an execution segment)."""
        steps = raw_execution_steps(self.start_vus, self.stages, zero_end=True)
        return steps if self._part is None else part_steps(steps, self._part.scale)

    def rule_errors(self) -> list[tuple[str, str, object]]:
        errors = validate_stages(self.stages)
        if max([self.start_vus, *(s.target for s in self.stages)]) <= 0:
            errors.append(
                (
                    "stages",
                    "either start_vus or one of the stages' targets must be greater than 0",
                    [s.target for s in self.stages],
                )
            )
        return errors

    def describe(self) -> str:
        return (
            f"Up to {self.peak_vus()} looping VUs for "
            f"{format_duration(self.regular_duration_ns())} over {len(self.stages)} stages"
            + self.base_info(f"gracefulRampDown: {format_duration(self.graceful_ramp_down)}")
        )

    def regular_duration_ns(self) -> int:
        return sum_stages_ns(self.stages)

    def peak_vus(self) -> int:
        return max(step.vus for step in self.requirements())

    def requirements(self) -> list[Step]:
        """VUs reserved over time (graceful ramp-downs included)."""
        return execution_requirements(
            self.start_vus,
            self.stages,
            self.graceful_ramp_down,
            self.graceful_stop,
            None if self._part is None else self._part.scale,
        )

    def vu_plan(self) -> list[tuple[int, int]]:
        return [(s.offset_ns, s.vus) for s in self.raw_steps()]

    async def run(self, rt: ScenarioRuntime) -> None:
        raw = self.raw_steps()
        graceful = self.requirements()
        handles = [_VUHandle(rt, rt.new_vu()) for _ in range(max(s.vus for s in graceful))]
        idle = _IdleTracker(handles)
        with rt.deadline_scope(self.regular_duration_ns() + self.graceful_stop):
            async with anyio.create_task_group() as tg:
                for handle in handles:
                    tg.start_soon(handle.loop, idle)
                try:
                    handled = await _walk_steps(rt, raw, graceful, handles)
                    idle.raw_done = True
                    idle.check()
                    async with anyio.create_task_group() as rest:
                        rest.start_soon(_remaining_graceful, rt, graceful[handled:], handles)
                        await idle.event.wait()
                        rest.cancel_scope.cancel()
                finally:
                    for handle in handles:
                        handle.finish()


async def _walk_steps(
    rt: ScenarioRuntime, raw: list[Step], graceful: list[Step], handles: list[_VUHandle]
) -> int:
    """Apply raw steps (start / gracefully stop VUs) and graceful steps (hard-stop VUs) in
    time order until the raw steps end; returns how many graceful steps were applied."""
    i = j = 0
    cur_raw = cur_graceful = 0
    while i < len(raw):
        r = raw[i]
        g = graceful[j] if j < len(graceful) else None
        if g is not None and g.offset_ns < r.offset_ns:
            if not await rt.sleep_until(g.offset_ns):
                break
            for k in range(g.vus, cur_graceful):
                handles[k].hard_stop()
            cur_graceful = g.vus
            j += 1
        else:
            if not await rt.sleep_until(r.offset_ns):
                break
            for k in range(cur_raw, r.vus):
                handles[k].start()
            for k in range(r.vus, cur_raw):
                handles[k].graceful_stop()
            cur_raw = r.vus
            i += 1
    for handle in handles:
        handle.graceful_stop()
    return j


async def _remaining_graceful(
    rt: ScenarioRuntime, steps: list[Step], handles: list[_VUHandle]
) -> None:
    """After the last stage, hard-stop VUs whose graceful ramp-down window ran out."""
    for step in steps:
        if not await rt.sleep_until(step.offset_ns):
            return
        for handle in handles[step.vus :]:
            handle.hard_stop()


class _IdleTracker:
    """Sets `event` once the stages are over and no VU is running an iteration."""

    def __init__(self, handles: list[_VUHandle]) -> None:
        self.handles = handles
        self.raw_done = False
        self.event = anyio.Event()

    def check(self) -> None:
        if self.raw_done and not any(h.running for h in self.handles):
            self.event.set()


class _VUHandle:
    """One VU slot of a ramping-vus executor: started, gracefully stopped or hard stopped."""

    def __init__(self, rt: ScenarioRuntime, vu: VU) -> None:
        self.rt = rt
        self.vu = vu
        self.wanted = False
        self.running = False
        self.done = False
        self.scope: anyio.CancelScope | None = None
        self.wake = anyio.Event()

    def start(self) -> None:
        self.wanted = True
        self.wake.set()

    def graceful_stop(self) -> None:
        self.wanted = False

    def hard_stop(self) -> None:
        self.wanted = False
        if self.scope is not None:
            self.scope.cancel()

    def finish(self) -> None:
        self.done = True
        self.hard_stop()
        self.wake.set()

    async def loop(self, idle: _IdleTracker) -> None:
        rt = self.rt
        try:
            while not self.done:
                if not self.wanted:
                    self.wake = anyio.Event()
                    await self.wake.wait()
                    continue
                self.running = True
                rt.progress.active_vus += 1
                try:
                    while self.wanted and not rt.stopping:
                        with anyio.CancelScope() as scope:
                            self.scope = scope
                            await rt.iterate(self.vu)
                        self.scope = None
                        await anyio.lowlevel.checkpoint()
                finally:
                    self.scope = None
                    self.running = False
                    rt.progress.active_vus -= 1
                    idle.check()
                if rt.stopping:
                    return
        finally:
            await rt.release_vu(self.vu)
