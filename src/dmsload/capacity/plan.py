"""The profiles a capacity search runs: one scenario per step, then the soak."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pydantic import BaseModel

from dmsload.capacity.figures import StepLoad
from dmsload.capacity.options import CapacityOptions
from dmsload.durations import NS_PER_S
from dmsload.engine.executors.constant_arrival_rate import ConstantArrivalRateConfig
from dmsload.profile import Profile, Scenario
from dmsload.workloads.base import Workload, WorkloadContext, WorkloadSpec

if TYPE_CHECKING:
    from dmsload.engine.vu import VU

WARMUP_SCENARIO = "warmup"
"""The warm-up's scenario name; its samples are kept out of every figure."""


def step_scenario(number: int) -> str:
    """The scenario name of step `number` (from 1): `step-01`, `step-02`, ..."""
    return f"step-{number:02d}"


@dataclass(frozen=True)
class StepSchedule:
    """A step's load and when it starts, from t=0 of the run."""

    load: StepLoad
    start_ns: int
    duration_ns: int


class _Follower:
    """Another step's handle on the one shared workload: it neither prepares nor closes it."""

    def __init__(self, leader: Workload) -> None:
        self._leader = leader

    async def prepare(self, vu: VU) -> None:
        """The leader prepared the workload once for every step."""

    async def iteration(self, vu: VU) -> None:
        """One iteration of the shared workload."""
        await self._leader.iteration(vu)

    async def close(self) -> None:
        """The leader closes the workload once."""


class _SharedFactory:
    """A workload factory whose first workload leads and every later one follows it; a class,
    not a closure, so that a step profile pickles whole to `--workers` processes (each
    process then has its own leader)."""

    def __init__(self, inner: Callable[[BaseModel, WorkloadContext], Workload]) -> None:
        self._inner = inner
        self._leader: Workload | None = None

    def __call__(self, options: BaseModel, ctx: WorkloadContext) -> Workload:
        if self._leader is not None:
            return _Follower(self._leader)
        self._leader = self._inner(options, ctx)
        return self._leader


def shared_workload(spec: WorkloadSpec) -> WorkloadSpec:
    """The same workload spec, but every scenario built from it shares one workload instance,
    prepared (seeded) once: the steps of a search are one load at growing rates."""
    return replace(spec, factory=_SharedFactory(spec.factory))


def _scenario(
    base: Scenario,
    name: str,
    spec: WorkloadSpec,
    rate: int,
    start_ns: int,
    duration_ns: int,
    options: CapacityOptions,
    tags: dict[str, str],
    graceful_stop_ns: int,
) -> Scenario:
    pre_allocated, ceiling = options.vus_for(rate)
    config = ConstantArrivalRateConfig.model_construct(
        executor="constant-arrival-rate",
        rate=rate,
        duration=duration_ns,
        time_unit=NS_PER_S,
        pre_allocated_vus=pre_allocated,
        max_vus=ceiling,
        start_time=start_ns,
        graceful_stop=graceful_stop_ns,
        tags={**base.config.tags, **tags},
        workload=base.workload.name,
        options=base.config.options,
    )
    return Scenario(name, config, spec, base.options)


def step_profile(
    profile: Profile, scenario: str, options: CapacityOptions
) -> tuple[Profile, list[StepSchedule]]:
    """The search as one run: the warm-up (if any), then every step back to back, each its
    own scenario tagged `step=N` and `offered_rate=R`. Thresholds belong to the soak."""
    base = profile.scenarios[scenario]
    spec = shared_workload(base.workload)
    scenarios: dict[str, Scenario] = {}
    at = 0
    if options.warmup_ns > 0:
        scenarios[WARMUP_SCENARIO] = _scenario(
            base,
            WARMUP_SCENARIO,
            spec,
            options.start_rate,
            0,
            options.warmup_ns,
            options,
            {"step": "0", "offered_rate": str(options.start_rate)},
            0,
        )
        at = options.warmup_ns
    schedule: list[StepSchedule] = []
    for number, rate in enumerate(options.rates(), start=1):
        name = step_scenario(number)
        scenarios[name] = _scenario(
            base,
            name,
            spec,
            rate,
            at,
            options.step_duration_ns,
            options,
            {"step": str(number), "offered_rate": str(rate)},
            0,
        )
        load = StepLoad(number, name, rate, options.step_duration_ns / NS_PER_S)
        schedule.append(StepSchedule(load, at, options.step_duration_ns))
        at += options.step_duration_ns
    stepped = replace(profile, scenarios=scenarios, thresholds={})
    return stepped, schedule


def soak_profile(profile: Profile, scenario: str, rate: int, options: CapacityOptions) -> Profile:
    """The soak: the scenario alone, under its own name, at `rate` for the soak's duration,
    judged by the profile's thresholds."""
    base = profile.scenarios[scenario]
    soak = _scenario(
        base,
        scenario,
        base.workload,
        rate,
        0,
        options.soak_ns,
        options,
        {"offered_rate": str(rate)},
        base.config.graceful_stop,
    )
    return replace(profile, scenarios={scenario: soak})
