"""A capacity search: run the steps as one run, judge them, and soak below the knee."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from dmsload.capacity.figures import StepFigures
from dmsload.capacity.knee import Verdict, verdict
from dmsload.capacity.monitor import StepJudge
from dmsload.capacity.options import CapacityOptions
from dmsload.capacity.plan import WARMUP_SCENARIO, soak_profile, step_profile
from dmsload.durations import NS_PER_S
from dmsload.engine.runner import RunOptions, RunResult, run_profile
from dmsload.engine.workers import run_workers
from dmsload.metrics import Registry
from dmsload.profile import Profile

SECTION_VERSION = 1


def _started_scenarios(registry: Registry) -> set[str]:
    """The scenarios that began (each records a zero `dropped_iterations` sample as it does)."""
    metric = registry.get("dropped_iterations")
    if metric is None:
        return set()
    return {value for tags in metric.series for key, value in tags if key == "scenario"}


def without_scenario(registry: Registry, scenario: str) -> Registry:
    """A registry holding every series except those of `scenario` (the warm-up)."""
    kept = Registry()
    unwanted = ("scenario", scenario)
    for metric in registry.metrics():
        mine = kept.define(metric.name, metric.kind, metric.contains)
        for tags, sink in metric.series.items():
            if unwanted not in tags:
                mine.series[tags] = sink
    return kept


@dataclass
class SoakOutcome:
    """The soak after the search: its rate, its run and the profile it ran."""

    rate: int
    duration_s: float
    profile: Profile
    result: RunResult

    def to_json(self) -> dict[str, Any]:
        """The summary JSON's `capacity.soak`."""
        registry = self.result.registry
        iterations = registry.view("iterations")
        duration = registry.view("http_req_duration")
        failed = registry.view("http_req_failed")
        trues, samples = (0, 0) if failed is None else failed.rate_parts()
        elapsed = self.result.elapsed_s
        return {
            "offered_rate": self.rate,
            "duration_s": self.duration_s,
            "achieved_rate": (iterations.counter_total() / elapsed)
            if iterations is not None and elapsed > 0
            else 0.0,
            "http_req_duration_p95_ms": None
            if duration is None or not duration.count
            else duration.percentile(95),
            "error_rate": trues / samples if samples else 0.0,
            "exit_code": int(self.result.exit_code),
            "thresholds_total": len(self.result.thresholds),
            "thresholds_failed": sum(1 for r in self.result.thresholds if r.ok is False),
        }


@dataclass
class CapacityResult:
    """What a capacity search gave: the step run, every judged step, the verdict, the soak."""

    scenario: str
    workload: str
    options: CapacityOptions
    profile: Profile
    """The step profile that ran (one scenario per step)."""
    run: RunResult
    """The step run, warm-up samples removed."""
    steps: list[StepFigures]
    verdict: Verdict
    soak: SoakOutcome | None = None

    def to_json(self) -> dict[str, Any]:
        """The summary JSON's `capacity` section."""
        o = self.options
        return {
            "version": SECTION_VERSION,
            "scenario": self.scenario,
            "workload": self.workload,
            "options": {
                "start_rate": o.start_rate,
                "step": o.step.text(),
                "step_duration_s": o.step_duration_ns / NS_PER_S,
                "warmup_s": o.warmup_ns / NS_PER_S,
                "max_rate": o.max_rate,
                "max_steps": o.max_steps,
                "rules": o.rules.to_json(),
                "generator_cpu_limit": o.generator_cpu_limit,
                "soak_s": o.soak_ns / NS_PER_S,
                "soak_fraction": o.soak_fraction,
            },
            "steps": [step.to_json() for step in self.steps],
            "knee": self.verdict.to_json(),
            "soak": None if self.soak is None else self.soak.to_json(),
        }


def run_steps(
    profile: Profile,
    scenario: str,
    options: CapacityOptions,
    run_options: RunOptions,
    on_step: Callable[[StepFigures], None] | None = None,
    workers: int = 1,
) -> CapacityResult:
    """Run the warm-up and the steps as one run, stopping at the first step past the knee;
    with `workers` > 1, each step's rate is split over that many processes and the parent
    judges each step on their merged figures."""
    stepped, schedule = step_profile(profile, scenario, options)
    judge = StepJudge(schedule, options, on_step)
    if workers > 1:
        result = run_workers(stepped, run_options, workers, judge)
    else:
        result = run_profile(stepped, replace(run_options, monitor=judge))
    judge.finish(result.registry)
    started = _started_scenarios(result.registry)
    names = [n for n in result.scenario_names if n in started and n != WARMUP_SCENARIO]
    registry = result.registry
    if options.warmup_ns > 0:
        registry = without_scenario(registry, WARMUP_SCENARIO)
    result = replace(result, registry=registry, scenario_names=names)
    steps = judge.steps
    completed = (
        not result.interrupted
        and result.error is None
        and (len(steps) == len(schedule) or any(not step.ok for step in steps))
    )
    return CapacityResult(
        scenario=scenario,
        workload=profile.scenarios[scenario].workload.name,
        options=options,
        profile=stepped,
        run=result,
        steps=list(steps),
        verdict=verdict(steps, completed),
    )


def run_soak(
    profile: Profile,
    scenario: str,
    knee: int,
    options: CapacityOptions,
    run_options: RunOptions,
    workers: int = 1,
) -> SoakOutcome:
    """Hold `soak_fraction` of the knee for the soak's duration, under the profile's thresholds
    (split over `workers` processes when more than 1)."""
    rate = max(1, round(knee * options.soak_fraction))
    soaking = soak_profile(profile, scenario, rate, options)
    if workers > 1:
        result = run_workers(soaking, run_options, workers)
    else:
        result = run_profile(soaking, run_options)
    return SoakOutcome(rate, options.soak_ns / NS_PER_S, soaking, result)
