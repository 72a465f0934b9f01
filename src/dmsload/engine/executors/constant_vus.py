"""k6's `constant-vus`: a fixed number of VUs loop for a duration."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal, Self

import anyio
from pydantic import Field

from dmsload.durations import format_duration
from dmsload.engine.executors._loops import loop_until
from dmsload.engine.executors.base import Duration, ExecutorConfig, min_duration_error

if TYPE_CHECKING:
    from dmsload.engine.scenario import ScenarioRuntime
    from dmsload.engine.segments import ExecutionPart


class ConstantVUsConfig(ExecutorConfig):
    """`vus` VUs run iterations back to back for `duration`; then graceful_stop."""

    kind: ClassVar[str] = "constant-vus"
    duration_fields: ClassVar[tuple[str, ...]] = ("duration",)

    executor: Literal["constant-vus"]
    vus: int = Field(1, ge=1)
    duration: Duration

    def rule_errors(self) -> list[tuple[str, str, object]]:
        error = min_duration_error("duration", self.duration)
        return [error] if error else []

    def describe(self) -> str:
        return f"{self.vus} looping VUs for {format_duration(self.duration)}" + self.base_info()

    def regular_duration_ns(self) -> int:
        return self.duration

    def peak_vus(self) -> int:
        return self.vus

    def vu_plan(self) -> list[tuple[int, int]]:
        return [(0, self.vus), (self.duration, 0)]

    def for_part(self, part: ExecutionPart) -> Self:
        """The part's share of the VUs."""
        return self.model_copy(update={"vus": part.scale(self.vus)})

    async def run(self, rt: ScenarioRuntime) -> None:
        vus = [rt.new_vu() for _ in range(self.vus)]
        with rt.deadline_scope(self.duration + self.graceful_stop):
            async with anyio.create_task_group() as tg:
                for vu in vus:
                    tg.start_soon(loop_until, rt, vu, self.duration)
