"""What every executor config shares: k6's common scenario options and the executor contract."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

from dmsload.durations import NS_PER_S, DurationError, format_duration, parse_duration_ns

if TYPE_CHECKING:
    from dmsload.engine.scenario import ScenarioRuntime
    from dmsload.engine.segments import ExecutionPart

MIN_DURATION_NS = NS_PER_S
SCENARIO_NAME = re.compile(r"^[0-9a-zA-Z_-]+$")


def _duration(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f'durations are strings with a unit, e.g. "30s" or "1m30s" (got {value!r})'
        )
    try:
        return parse_duration_ns(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None


Duration = Annotated[int, BeforeValidator(_duration)]
"""A k6 duration string in the profile, held as integer nanoseconds."""


def alias(snake: str, *camel: str) -> AliasChoices:
    """Accept the snake_case key and k6's camelCase spelling(s)."""
    return AliasChoices(snake, *camel)


class Stage(BaseModel):
    """One stage of a ramping executor: reach `target` over `duration`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    duration: Duration
    target: Annotated[int, Field(ge=0)]


class ExecutorConfig(BaseModel, ABC):
    """k6's BaseConfig: options every scenario has, plus the executor contract."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    kind: ClassVar[str]
    duration_fields: ClassVar[tuple[str, ...]] = ()
    """Fields that `--time-scale` multiplies (rates and time_unit never scale)."""

    start_time: Duration = Field(0, validation_alias=alias("start_time", "startTime"))
    graceful_stop: Duration = Field(
        30 * NS_PER_S, validation_alias=alias("graceful_stop", "gracefulStop")
    )
    tags: dict[str, str] = Field(default_factory=dict)
    workload: str | None = Field(None, validation_alias=alias("workload", "exec"))
    options: dict[str, Any] | None = None

    # ---- the contract ------------------------------------------------------------------
    def rule_errors(self) -> list[tuple[str, str, object]]:
        """Cross-field rules, as k6's Validate(): every problem as (key, message, value)."""
        return []

    @abstractmethod
    def describe(self) -> str:
        """The one-line description `dmsload validate` prints (k6's GetDescription)."""

    @abstractmethod
    def regular_duration_ns(self) -> int:
        """How long the executor runs before graceful_stop (for iteration-based ones, the cap)."""

    @abstractmethod
    def peak_vus(self) -> int:
        """The most VUs the executor may ever hold at once."""

    @abstractmethod
    def vu_plan(self) -> list[tuple[int, int]]:
        """The planned VU count over time as (offset ns, VUs) steps; the last is 0 VUs."""

    @abstractmethod
    def for_part(self, part: ExecutionPart) -> Self:
        """This executor's share of the test in one execution segment (k6's rules)."""

    @abstractmethod
    async def run(self, rt: ScenarioRuntime) -> None:
        """Drive VUs along the schedule until done, stopped or past graceful_stop."""

    def progress_total(self) -> int | None:
        """Iterations planned, where the executor plans a count (None for looping ones)."""
        return None

    # ---- shared helpers ----------------------------------------------------------------
    def total_duration_ns(self) -> int:
        """Regular duration plus graceful_stop: the hard end of the executor."""
        return self.regular_duration_ns() + self.graceful_stop

    def scaled(self, factor: float) -> Self:
        """A copy with every duration multiplied by `factor` (`--time-scale`)."""
        update: dict[str, Any] = {}
        for name in ("start_time", "graceful_stop", *self.duration_fields):
            update[name] = round(getattr(self, name) * factor)
        stages = getattr(self, "stages", None)
        if stages is not None:
            update["stages"] = [
                Stage.model_construct(duration=round(s.duration * factor), target=s.target)
                for s in stages
            ]
        return self.model_copy(update=update)

    def base_info(self, extra: str = "") -> str:
        """k6's getBaseInfo suffix: (startTime, gracefulStop, extras)."""
        parts = []
        if self.start_time:
            parts.append(f"startTime: {format_duration(self.start_time)}")
        parts.append(f"gracefulStop: {format_duration(self.graceful_stop)}")
        if extra:
            parts.append(extra)
        return " (" + ", ".join(parts) + ")"


def min_duration_error(key: str, value_ns: int) -> tuple[str, str, object] | None:
    """k6 refuses durations under one second for timed executors."""
    if value_ns < MIN_DURATION_NS:
        return (key, "must be at least 1s", format_duration(value_ns))
    return None


def sum_stages_ns(stages: list[Stage]) -> int:
    """Total duration of a list of stages."""
    return sum(s.duration for s in stages)


def validate_stages(stages: list[Stage]) -> list[tuple[str, str, object]]:
    """k6's validateStages: at least one stage."""
    if not stages:
        return [("stages", "needs at least one stage", [])]
    return []
