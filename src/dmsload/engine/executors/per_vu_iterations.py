"""k6's `per-vu-iterations`: each VU runs the same number of iterations."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import anyio
import anyio.lowlevel
from pydantic import Field

from dmsload.durations import NS_PER_S, format_duration
from dmsload.engine.executors.base import (
    Duration,
    ExecutorConfig,
    alias,
    min_duration_error,
)

if TYPE_CHECKING:
    from dmsload.engine.scenario import ScenarioRuntime
    from dmsload.engine.vu import VU


class PerVUIterationsConfig(ExecutorConfig):
    """Each of `vus` VUs runs `iterations` iterations, within `max_duration`."""

    kind: ClassVar[str] = "per-vu-iterations"
    duration_fields: ClassVar[tuple[str, ...]] = ("max_duration",)

    executor: Literal["per-vu-iterations"]
    vus: int = Field(1, ge=1)
    iterations: int = Field(1, ge=1)
    max_duration: Duration = Field(
        600 * NS_PER_S, validation_alias=alias("max_duration", "maxDuration")
    )

    def rule_errors(self) -> list[tuple[str, str, object]]:
        error = min_duration_error("max_duration", self.max_duration)
        return [error] if error else []

    def describe(self) -> str:
        return f"{self.iterations} iterations for each of {self.vus} VUs" + self.base_info(
            f"maxDuration: {format_duration(self.max_duration)}"
        )

    def regular_duration_ns(self) -> int:
        return self.max_duration

    def peak_vus(self) -> int:
        return self.vus

    def vu_plan(self) -> list[tuple[int, int]]:
        return [(0, self.vus), (self.max_duration, 0)]

    def progress_total(self) -> int:
        """Iterations planned, for the progress line."""
        return self.iterations * self.vus

    async def run(self, rt: ScenarioRuntime) -> None:
        end = self.max_duration
        per_vu = self.iterations

        async def loop(vu: VU) -> None:
            done = 0
            rt.progress.active_vus += 1
            try:
                while not rt.stopping and done < per_vu and rt.elapsed_ns() < end:
                    done += 1
                    await rt.iterate(vu)
                    await anyio.lowlevel.checkpoint()
            finally:
                rt.progress.active_vus -= 1
                rt.drop(per_vu - done, {"vu": str(vu.id)})
                await rt.release_vu(vu)

        vus = [rt.new_vu() for _ in range(self.vus)]
        with rt.deadline_scope(end + self.graceful_stop):
            async with anyio.create_task_group() as tg:
                for vu in vus:
                    tg.start_soon(loop, vu)
