"""Options and VU plan the iteration-count executors share (shared- and per-vu-iterations)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from dmsload.durations import NS_PER_S, format_duration
from dmsload.engine.executors.base import Duration, ExecutorConfig, alias, min_duration_error


class IterationsConfig(ExecutorConfig):
    """`vus` VUs run a number of `iterations`, all within `max_duration` (k6's defaults)."""

    duration_fields: ClassVar[tuple[str, ...]] = ("max_duration",)

    vus: int = Field(1, ge=1)
    iterations: int = Field(1, ge=1)
    max_duration: Duration = Field(
        600 * NS_PER_S, validation_alias=alias("max_duration", "maxDuration")
    )

    def max_duration_errors(self) -> list[tuple[str, str, object]]:
        """k6's rule on maxDuration."""
        error = min_duration_error("max_duration", self.max_duration)
        return [error] if error else []

    def describe_iterations(self, what: str) -> str:
        """The `validate` line: what runs, then the common options."""
        return what + self.base_info(f"maxDuration: {format_duration(self.max_duration)}")

    def regular_duration_ns(self) -> int:
        return self.max_duration

    def peak_vus(self) -> int:
        return self.vus

    def vu_plan(self) -> list[tuple[int, int]]:
        return [(0, self.vus), (self.max_duration, 0)]
