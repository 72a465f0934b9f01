"""k6's `shared-iterations`: VUs share a fixed number of iterations."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal, Self

import anyio
import anyio.lowlevel

from dmsload.engine.executors._iterations import IterationsConfig

if TYPE_CHECKING:
    from dmsload.engine.scenario import ScenarioRuntime
    from dmsload.engine.segments import ExecutionPart
    from dmsload.engine.vu import VU


class SharedIterationsConfig(IterationsConfig):
    """`iterations` in total, taken one at a time by `vus` VUs, within `max_duration`."""

    kind: ClassVar[str] = "shared-iterations"

    executor: Literal["shared-iterations"]

    def rule_errors(self) -> list[tuple[str, str, object]]:
        errors: list[tuple[str, str, object]] = []
        if self.iterations < self.vus:
            errors.append(
                (
                    "iterations",
                    f"the number of iterations can't be less than the number of VUs ({self.vus})",
                    self.iterations,
                )
            )
        return errors + self.max_duration_errors()

    def describe(self) -> str:
        return self.describe_iterations(f"{self.iterations} iterations shared among {self.vus} VUs")

    def for_part(self, part: ExecutionPart) -> Self:
        """The part's share of the VUs, and of the iterations in proportion to those VUs (k6
        re-cuts the sequence by the VU count, so a part without VUs gets no iteration)."""
        by_vus = part.for_value(self.vus)
        vus = part.scale(self.vus)
        iterations = 0 if by_vus is None or vus == 0 else by_vus.scale(self.iterations)
        return self.model_copy(update={"vus": vus, "iterations": iterations})

    async def run(self, rt: ScenarioRuntime) -> None:
        attempted = 0
        total = self.iterations
        end = self.max_duration

        async def loop(vu: VU) -> None:
            nonlocal attempted
            rt.progress.active_vus += 1
            try:
                while not rt.stopping and attempted < total and rt.elapsed_ns() < end:
                    attempted += 1
                    await rt.iterate(vu)
                    await anyio.lowlevel.checkpoint()
            finally:
                rt.progress.active_vus -= 1
                await rt.release_vu(vu)

        vus = [rt.new_vu() for _ in range(self.vus)]
        try:
            with rt.deadline_scope(end + self.graceful_stop):
                async with anyio.create_task_group() as tg:
                    for vu in vus:
                        tg.start_soon(loop, vu)
        finally:
            rt.drop(total - attempted)

    def progress_total(self) -> int:
        """Iterations planned, for the progress line."""
        return self.iterations
