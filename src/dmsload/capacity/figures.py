"""One step's figures, read from that step's samples alone (its scenario's series)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dmsload.metrics import Registry


@dataclass(frozen=True)
class Percentiles:
    """p50, p95 and p99 of a time trend, ms (0 when it has no sample)."""

    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0

    def to_json(self) -> dict[str, float]:
        """`{"p50": ..., "p95": ..., "p99": ...}`, ms."""
        return {"p50": self.p50, "p95": self.p95, "p99": self.p99}


@dataclass(frozen=True)
class WorkerStep:
    """One `--workers` process's share of a step: what it completed and how hard it worked."""

    worker: int
    iterations: int
    generator_cpu: float
    start_lag: Percentiles

    def to_json(self) -> dict[str, Any]:
        """The worker's entry in a step's `workers` list."""
        return {
            "worker": self.worker,
            "iterations": self.iterations,
            "generator_cpu": self.generator_cpu,
            "start_lag_ms": self.start_lag.to_json(),
        }


@dataclass(frozen=True)
class StepLoad:
    """What a step offered: its number (from 1), scenario, rate and how long it held it."""

    number: int
    scenario: str
    offered_rate: int
    duration_s: float


@dataclass
class StepFigures:
    """What one step gave, and what the judge made of it."""

    load: StepLoad
    iterations: int = 0
    requests: int = 0
    achieved_rate: float = 0.0
    error_rate: float = 0.0
    dropped_iterations: int = 0
    duration: Percentiles = field(default_factory=Percentiles)
    """http_req_duration: the service time."""
    intended: Percentiles = field(default_factory=Percentiles)
    """http_req_latency_intended: from each iteration's scheduled start."""
    generator_cpu: float = 0.0
    """The generator's event-loop CPU over the step, as a fraction of one core."""
    start_lag: Percentiles = field(default_factory=Percentiles)
    """How late the event loop woke for timers during the step, ms (as iterations start)."""
    broken_rules: list[str] = field(default_factory=list)
    generator_limit: str | None = None
    """Why the generator, not the target, was the limit at this step (None: it was not)."""
    workers: list[WorkerStep] | None = None
    """Each worker's share (`--workers` N > 1; None in one process): `generator_cpu` and
    `start_lag` above are then the worst over them."""

    @property
    def ok(self) -> bool:
        """No rule broken and the generator kept up."""
        return not self.broken_rules and self.generator_limit is None

    def to_json(self) -> dict[str, Any]:
        """The step's entry in the summary JSON's `capacity.steps`."""
        document: dict[str, Any] = {
            "step": self.load.number,
            "scenario": self.load.scenario,
            "offered_rate": self.load.offered_rate,
            "duration_s": self.load.duration_s,
            "achieved_rate": self.achieved_rate,
            "iterations": self.iterations,
            "http_reqs": self.requests,
            "error_rate": self.error_rate,
            "dropped_iterations": self.dropped_iterations,
            "http_req_duration": self.duration.to_json(),
            "http_req_latency_intended": self.intended.to_json(),
            "generator_cpu": self.generator_cpu,
            "start_lag_ms": self.start_lag.to_json(),
            "broken_rules": list(self.broken_rules),
            "generator_limit": self.generator_limit,
        }
        if self.workers is not None:
            document["workers"] = [worker.to_json() for worker in self.workers]
        return document


def _percentiles(registry: Registry, metric: str, scenario: str) -> Percentiles:
    view = registry.view(metric, {"scenario": scenario})
    if view is None or view.count == 0:
        return Percentiles()
    return Percentiles(view.percentile(50), view.percentile(95), view.percentile(99))


def _total(registry: Registry, metric: str, scenario: str) -> int:
    view = registry.view(metric, {"scenario": scenario})
    return 0 if view is None else int(view.counter_total())


def read_step(
    registry: Registry, load: StepLoad, generator_cpu: float, start_lag: Percentiles
) -> StepFigures:
    """The step's figures from the series tagged with its scenario."""
    iterations = _total(registry, "iterations", load.scenario)
    failed = registry.view("http_req_failed", {"scenario": load.scenario})
    trues, samples = (0, 0) if failed is None else failed.rate_parts()
    return StepFigures(
        load=load,
        iterations=iterations,
        requests=_total(registry, "http_reqs", load.scenario),
        achieved_rate=iterations / load.duration_s if load.duration_s > 0 else 0.0,
        error_rate=trues / samples if samples else 0.0,
        dropped_iterations=_total(registry, "dropped_iterations", load.scenario),
        duration=_percentiles(registry, "http_req_duration", load.scenario),
        intended=_percentiles(registry, "http_req_latency_intended", load.scenario),
        generator_cpu=generator_cpu,
        start_lag=start_lag,
    )
