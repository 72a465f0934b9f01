"""iteration_start_lateness: recorded by the arrival-rate executors only, never early, shown
in the full summary."""

from __future__ import annotations

from time import perf_counter_ns
from typing import Any

import pytest
from pydantic import BaseModel

from dmsload.engine.precise_timer import PreciseTimer, timerfd_available
from dmsload.engine.runner import RunOptions, RunResult, run_profile
from dmsload.engine.vu import VU
from dmsload.metrics.summary import SummaryContext, summary_lines
from dmsload.profile import profile_from_mapping
from dmsload.workloads import BaseWorkload, WorkloadSpec, builtin_workloads


class _NoOptions(BaseModel):
    """The probe workload takes no option."""


class _StartProbe(BaseWorkload):
    """Records, for each iteration, when it started against when it was scheduled."""

    def __init__(self) -> None:
        self.offsets_ns: list[int | None] = []

    async def iteration(self, vu: VU) -> None:
        now = perf_counter_ns()
        intended = vu.http.intended_ns
        self.offsets_ns.append(None if intended is None else now - intended)


def _run(executor: dict[str, Any], workloads: dict[str, WorkloadSpec] | None = None) -> RunResult:
    specs = dict(builtin_workloads())
    specs.update(workloads or {})
    doc = {"scenarios": {"s": executor}}
    profile = profile_from_mapping(doc, specs, source="test.toml")
    return run_profile(profile, RunOptions(quiet=True, handle_signals=False))


def _probe() -> tuple[_StartProbe, dict[str, WorkloadSpec]]:
    probe = _StartProbe()
    spec = WorkloadSpec(
        name="probe",
        summary="records start offsets",
        options_model=_NoOptions,
        factory=lambda _options, _ctx: probe,
    )
    return probe, {"probe": spec}


def _summary_text(result: RunResult, mode: str) -> str:
    ctx = SummaryContext(
        elapsed_s=result.elapsed_s, trend_stats=["med", "p(99)"], scenarios=["s"], mode=mode
    )
    return "\n".join(line.plain for line in summary_lines(result.registry, [], ctx))


@pytest.mark.parametrize("clock", ["timerfd", "millisecond timers"])
def test_arrival_rate_iterations_never_start_before_their_scheduled_time(
    clock: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if clock == "timerfd" and not timerfd_available():
        pytest.skip("no timerfd on this platform")
    if clock != "timerfd":
        monkeypatch.setattr(PreciseTimer, "open", classmethod(lambda cls: None))
    probe, specs = _probe()
    executor = {
        "executor": "constant-arrival-rate",
        "rate": 200,
        "duration": "1s",
        "pre_allocated_vus": 5,
        "workload": "probe",
    }
    result = _run(executor, specs)
    offsets = [offset for offset in probe.offsets_ns if offset is not None]
    assert len(offsets) == len(probe.offsets_ns) >= 195
    assert min(offsets) >= 0, "an iteration started before its scheduled time"
    lateness = result.registry.view("iteration_start_lateness")
    iterations = result.registry.view("iterations")
    assert lateness is not None and iterations is not None
    assert lateness.count == iterations.value("count", result.elapsed_s) == len(offsets)


def test_ramping_arrival_rate_records_lateness_and_the_full_summary_shows_it(echo: Any) -> None:
    executor = {
        "executor": "ramping-arrival-rate",
        "start_rate": 20,
        "pre_allocated_vus": 5,
        "stages": [{"target": 60, "duration": "1s"}],
        "workload": "http",
        "options": {"url": echo.url + "/x"},
    }
    result = _run(executor)
    lateness = result.registry.view("iteration_start_lateness")
    assert lateness is not None and lateness.count >= 20
    assert "iteration_start_lateness" in _summary_text(result, "full")
    assert "iteration_start_lateness" not in _summary_text(result, "compact")


def test_closed_loop_executors_have_no_schedule_so_no_lateness(echo: Any) -> None:
    executor = {
        "executor": "shared-iterations",
        "vus": 2,
        "iterations": 20,
        "workload": "http",
        "options": {"url": echo.url + "/x"},
    }
    result = _run(executor)
    lateness = result.registry.view("iteration_start_lateness")
    assert lateness is None or lateness.count == 0
    assert "iteration_start_lateness" not in _summary_text(result, "full")
