"""k6's `per-vu-iterations`: each VU runs the same number of iterations."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal, Self

import anyio
import anyio.lowlevel

from dmsload.engine.executors._iterations import IterationsConfig

if TYPE_CHECKING:
    from dmsload.engine.scenario import ScenarioRuntime
    from dmsload.engine.segments import ExecutionPart
    from dmsload.engine.vu import VU


class PerVUIterationsConfig(IterationsConfig):
    """Each of `vus` VUs runs `iterations` iterations, within `max_duration`."""

    kind: ClassVar[str] = "per-vu-iterations"

    executor: Literal["per-vu-iterations"]

    def rule_errors(self) -> list[tuple[str, str, object]]:
        return self.max_duration_errors()

    def describe(self) -> str:
        return self.describe_iterations(f"{self.iterations} iterations for each of {self.vus} VUs")

    def progress_total(self) -> int:
        """Iterations planned, for the progress line."""
        return self.iterations * self.vus

    def for_part(self, part: ExecutionPart) -> Self:
        """The part's share of the VUs; each still runs `iterations` (as k6)."""
        return self.model_copy(update={"vus": part.scale(self.vus)})

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
