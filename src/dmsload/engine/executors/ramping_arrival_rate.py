"""k6's `ramping-arrival-rate`: the start rate follows stages linearly, open model."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from dmsload.durations import format_duration
from dmsload.engine.executors._arrival import ArrivalRateConfig, run_arrivals
from dmsload.engine.executors.base import Stage, alias, sum_stages_ns, validate_stages

if TYPE_CHECKING:
    from dmsload.engine.scenario import ScenarioRuntime


def due_offsets_ns(
    start_rate: int,
    stages: list[Stage],
    time_unit_ns: int,
    indices: Iterable[int] | None = None,
) -> Iterator[int]:
    """k6's `cal`: iteration n is due where the area under the rate line reaches n.

    `indices` are the (0-based) iterations to schedule, in order: an execution segment's
    stripe; every iteration by default.

    The first iteration is due at area 1 (not at t=0). In a ramp from rate f to t over D the
    offset in the stage is x = (f*D - sqrt(D*(f^2*D + 2*(n-done)*(t-f)))) / (f - t); in a flat
    stage x = (n-done)/rate. Fractions of an iteration carry into the next stage.

    Computed in integers (areas are kept in units of 1/(2*time_unit), the root with isqrt), so
    offsets are exact to the nanosecond where k6's float64 arithmetic drifts.
    """
    two_unit = 2 * time_unit_ns
    stage_start = 0
    done2 = 0  # the area of the stages so far, times 2*time_unit
    areas = (n + 1 for n in (itertools.count() if indices is None else indices))
    i = next(areas, None)  # iteration n is due where the area reaches n + 1
    from_rate = start_rate
    for stage in stages:
        to_rate = stage.target
        duration = stage.duration
        end2 = done2 + duration * (from_rate + to_rate)
        if from_rate != to_rate:
            base = from_rate * from_rate * duration
            slope = to_rate - from_rate
            while i is not None and i * two_unit <= end2:
                radicand = duration * (base + (i * two_unit - done2) * slope)
                root = math.isqrt(radicand) if radicand > 0 else 0
                if from_rate > to_rate:
                    if root * root < radicand:  # the root is subtracted: round it up
                        root += 1
                    offset = (from_rate * duration - root) // (from_rate - to_rate)
                else:
                    offset = (root - from_rate * duration) // (to_rate - from_rate)
                yield stage_start + offset
                i = next(areas, None)
        else:
            while i is not None and i * two_unit <= end2:
                yield stage_start + (i * two_unit - done2) // (2 * to_rate)
                i = next(areas, None)
        done2 = end2
        from_rate = to_rate
        stage_start += duration


def planned_iterations(start_rate: int, stages: list[Stage], time_unit_ns: int) -> int:
    """How many iterations the stages plan (the whole area under the rate line)."""
    area2 = 0
    rate = start_rate
    for stage in stages:
        area2 += stage.duration * (rate + stage.target)
        rate = stage.target
    return area2 // (2 * time_unit_ns)


class RampingArrivalRateConfig(ArrivalRateConfig):
    """Iterations start at a rate that ramps linearly through each stage's `target`."""

    kind: ClassVar[str] = "ramping-arrival-rate"

    executor: Literal["ramping-arrival-rate"]
    start_rate: int = Field(0, ge=0, validation_alias=alias("start_rate", "startRate"))
    stages: list[Stage] = Field(default_factory=list)

    def rule_errors(self) -> list[tuple[str, str, object]]:
        errors = self.pool_rule_errors() + validate_stages(self.stages)
        if self.stages and max([self.start_rate, *(s.target for s in self.stages)]) <= 0:
            errors.append(
                (
                    "stages",
                    "either start_rate or one of the stages' targets must be greater than 0",
                    [s.target for s in self.stages],
                )
            )
        return errors

    def describe(self) -> str:
        peak = max([self.start_rate, *(s.target for s in self.stages)])
        return (
            f"Up to {self.per_second(peak):.2f} iterations/s for "
            f"{format_duration(self.regular_duration_ns())} over {len(self.stages)} stages"
            + self.pool_info()
        )

    def regular_duration_ns(self) -> int:
        return sum_stages_ns(self.stages)

    def vu_plan(self) -> list[tuple[int, int]]:
        return [(0, self.pre_allocated_vus), (self.regular_duration_ns(), 0)]

    def progress_total(self) -> int:
        """Iterations planned, for the progress line."""
        return self.share_of(planned_iterations(self.start_rate, self.stages, self.time_unit))

    def rate_plan(self) -> list[tuple[int, float]]:
        """(offset ns, iterations/s) at each stage boundary, for `dmsload validate`."""
        points = [(0, self.per_second(self.start_rate))]
        offset = 0
        for stage in self.stages:
            offset += stage.duration
            points.append((offset, self.per_second(stage.target)))
        return points

    async def run(self, rt: ScenarioRuntime) -> None:
        await run_arrivals(
            rt,
            due_offsets_ns(self.start_rate, self.stages, self.time_unit, self.iteration_indices()),
            self.regular_duration_ns(),
            self.graceful_stop,
            self.pre_allocated_vus,
            self.vu_ceiling(),
        )
