"""A `--workers` parent's step judge: each step is judged on the exact merge of what every
worker recorded of it up to its mark of the step's end, and a knee ends every worker."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from dmsload.capacity.monitor import StepJudge
from dmsload.capacity.options import CapacityOptions, KneeRules, StepRule
from dmsload.capacity.plan import step_profile
from dmsload.engine.runner import RunOptions
from dmsload.engine.workers import WorkerPool, _Worker
from dmsload.metrics import Registry, define_builtin_metrics, make_tags
from dmsload.metrics.wire import Payload, drain, encode
from dmsload.profile import load_profile
from dmsload.workloads import builtin_workloads

PROFILE = """
[scenarios.health]
executor = "constant-vus"
vus = 1
duration = "1s"
workload = "http"
options = { url = "http://127.0.0.1:9/health" }
"""


class _Recorder:
    """One worker's registry: what it records of the steps, drained into payloads."""

    def __init__(self) -> None:
        self.registry = Registry()
        self.metrics = define_builtin_metrics(self.registry)

    def iterations(self, scenario: str, durations_ms: list[float], failed: int = 0) -> Payload:
        tags = make_tags({"scenario": scenario})
        for index, ms in enumerate(durations_ms):
            self.registry.add(self.metrics.iterations, 1.0, tags)
            self.registry.add(self.metrics.http_reqs, 1.0, tags)
            self.registry.add(self.metrics.http_req_duration, ms, tags)
            self.registry.add(self.metrics.http_req_failed, float(index < failed), tags)
        self.registry.add(self.metrics.dropped_iterations, 0.0, tags)
        return encode(drain(self.registry))


@pytest.fixture
def pool(tmp_path: Path) -> Any:
    path = tmp_path / "p.toml"
    path.write_text(PROFILE)
    profile = load_profile(path, builtin_workloads())
    options = CapacityOptions(
        start_rate=10,
        step=StepRule.parse("+10"),
        step_duration_ns=1_000_000_000,
        max_steps=3,
        rules=KneeRules(min_throughput=0.95, max_p95_growth=None, max_error_rate=0.01),
    )
    stepped, schedule = step_profile(profile, "health", options)
    judge = StepJudge(schedule, options)
    pool = WorkerPool(stepped, RunOptions(quiet=True), 2, judge)
    ends = []
    for index in range(2):
        parent_end, child_end = multiprocessing.Pipe()
        pool.workers.append(_Worker(index, multiprocessing.current_process(), parent_end))
        ends.append(child_end)
    pool.test_ends = ends
    return pool


def test_a_step_is_judged_once_every_worker_marked_it_on_their_merged_samples(pool: Any) -> None:
    judge, (w0, w1) = pool.judge, pool.workers
    r0, r1 = _Recorder(), _Recorder()
    # step 1 offers 10/s for 1 s: 5 iterations from each worker
    pool._merge(w0, r0.iterations("step-01", [10, 20, 30, 40, 50]))
    pool._mark(w0, (1, 5, 0.40, (0.1, 0.5, 0.9)))
    assert judge.steps == []  # worker 1 has not reached the step's end yet
    # worker 0 records one more iteration of step 1 after its mark: it is late for the step
    pool._merge(w0, r0.iterations("step-01", [999]))
    pool._merge(w1, r1.iterations("step-01", [15, 25, 35, 45, 55]))
    pool._mark(w1, (1, 5, 0.70, (0.2, 0.3, 2.5)))
    [step] = judge.steps
    assert step.iterations == 10 == sum(w.iterations for w in step.workers)
    assert step.requests == 10 and step.achieved_rate == 10.0
    assert step.duration.p95 == pytest.approx(55, rel=0.01)  # not the late 999 ms
    assert step.generator_cpu == 0.70
    assert (step.start_lag.p50, step.start_lag.p95, step.start_lag.p99) == (0.2, 0.5, 2.5)
    assert [(w.worker, w.generator_cpu) for w in step.workers] == [(0, 0.40), (1, 0.70)]
    assert step.ok and step.to_json()["workers"][1]["iterations"] == 5
    # the run's own registry has every sample, the late one too
    assert pool.registry.view("iterations", {"scenario": "step-01"}).counter_total() == 11
    assert not any(end.poll() for end in pool.test_ends)


def test_the_first_step_past_the_knee_ends_every_worker(pool: Any) -> None:
    judge, (w0, w1) = pool.judge, pool.workers
    r0, r1 = _Recorder(), _Recorder()
    for worker, recorder in ((w0, r0), (w1, r1)):
        pool._merge(worker, recorder.iterations("step-01", [10] * 5))
        pool._mark(worker, (1, 5, 0.1, (0.1, 0.1, 0.1)))
    # step 2 offers 20/s; worker 1 marks first, with only 8 of its 10: 18/s is below 95%
    pool._merge(w1, r1.iterations("step-02", [10] * 8))
    pool._mark(w1, (2, 8, 0.1, (0.1, 0.1, 0.1)))
    assert len(judge.steps) == 1
    pool._merge(w0, r0.iterations("step-02", [10] * 10))
    pool._mark(w0, (2, 10, 0.1, (0.1, 0.1, 0.1)))
    assert [s.ok for s in judge.steps] == [True, False]
    assert judge.steps[1].iterations == 18
    assert judge.steps[1].broken_rules[0].startswith("throughput")
    assert [end.recv() for end in pool.test_ends] == [("end",), ("end",)]
    # a later mark judges nothing more
    pool._mark(w0, (3, 30, 0.1, (0.1, 0.1, 0.1)))
    pool._mark(w1, (3, 30, 0.1, (0.1, 0.1, 0.1)))
    assert len(judge.steps) == 2


def test_a_step_is_generator_limited_if_any_worker_saturated(pool: Any) -> None:
    judge, (w0, w1) = pool.judge, pool.workers
    for worker, cpu in ((w0, 0.2), (w1, 0.97)):
        pool._merge(worker, _Recorder().iterations("step-01", [10] * 5))
        pool._mark(worker, (1, 5, cpu, (0.1, 0.1, 0.1)))
    [step] = judge.steps
    assert step.generator_limit is not None and "97%" in step.generator_limit
