"""k6's `constant-arrival-rate`: start `rate` iterations per `time_unit`, open model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from dmsload.durations import format_duration
from dmsload.engine.executors._arrival import ArrivalRateConfig, run_arrivals
from dmsload.engine.executors.base import Duration, min_duration_error

if TYPE_CHECKING:
    from dmsload.engine.scenario import ScenarioRuntime


def due_offset_ns(index: int, rate: int, time_unit_ns: int) -> int:
    """When iteration `index` (0-based) is due: index * time_unit / rate, from t=0."""
    return index * time_unit_ns // rate


def planned_iterations(rate: int, time_unit_ns: int, duration_ns: int) -> int:
    """How many iterations fall due before `duration_ns`."""
    return -(-duration_ns * rate // time_unit_ns)


class ConstantArrivalRateConfig(ArrivalRateConfig):
    """Iterations start at a fixed rate, evenly spaced, whatever the response times."""

    kind: ClassVar[str] = "constant-arrival-rate"
    duration_fields: ClassVar[tuple[str, ...]] = ("duration",)

    executor: Literal["constant-arrival-rate"]
    rate: int = Field(gt=0)
    duration: Duration

    def rule_errors(self) -> list[tuple[str, str, object]]:
        errors = self.pool_rule_errors()
        error = min_duration_error("duration", self.duration)
        if error:
            errors.append(error)
        return errors

    def describe(self) -> str:
        return (
            f"{self.per_second(self.rate):.2f} iterations/s for "
            f"{format_duration(self.duration)}" + self.pool_info()
        )

    def regular_duration_ns(self) -> int:
        return self.duration

    def vu_plan(self) -> list[tuple[int, int]]:
        return [(0, self.pre_allocated_vus), (self.duration, 0)]

    def progress_total(self) -> int:
        """Iterations planned, for the progress line."""
        return self.share_of(planned_iterations(self.rate, self.time_unit, self.duration))

    def due_offsets(self) -> Iterator[int]:
        """Every due offset, in order, until the duration ends."""
        for index in self.iteration_indices():
            due = due_offset_ns(index, self.rate, self.time_unit)
            if due >= self.duration:
                return
            yield due

    async def run(self, rt: ScenarioRuntime) -> None:
        await run_arrivals(
            rt,
            self.due_offsets(),
            self.duration,
            self.graceful_stop,
            self.pre_allocated_vus,
            self.vu_ceiling(),
        )
