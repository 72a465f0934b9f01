"""The load phase's garbage collection happens before the run's t=0, never inside the schedule.

A full collection of start-up's heap takes tens of milliseconds (146 ms in a test process on a
busy machine); done after t=0, it started the first scenario that much late while later
scenarios kept their times, so a capacity search's first step lost its last iteration."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from dmsload.engine.runner import Runner, RunOptions, run_profile
from dmsload.profile import profile_from_mapping
from dmsload.workloads import builtin_workloads

SLOW_COLLECT_S = 0.9
SLACK_MS = 250
"""How late a scenario may begin on a busy machine (without the fix: SLOW_COLLECT_S late)."""


def _slow_collect(real: Callable[..., int]) -> Callable[..., int]:
    def collect(*args: Any, **kwargs: Any) -> int:
        time.sleep(SLOW_COLLECT_S)  # what a large start-up heap costs
        return real(*args, **kwargs)

    return collect


def test_scenarios_start_at_their_start_time_however_long_the_collection(
    echo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gc, "collect", _slow_collect(gc.collect))
    scenario = {
        "executor": "constant-arrival-rate",
        "rate": 20,
        "duration": "1s",
        "pre_allocated_vus": 2,
        "workload": "http",
        "options": {"url": echo.url + "/x"},
    }
    doc = {
        "scenarios": {
            "first": scenario,
            "second": {**scenario, "start_time": "500ms"},
        }
    }
    profile = profile_from_mapping(doc, builtin_workloads(), source="test.toml")
    offsets_ms: dict[str, float] = {}

    async def watch(runner: Runner) -> None:
        while not all(rt.start_ns for rt in runner.runtimes):
            await anyio.sleep(0.001)
        for rt in runner.runtimes:
            offsets_ms[rt.name] = (rt.start_ns - runner.start_ns) / 1e6

    result = run_profile(profile, RunOptions(quiet=True, handle_signals=False, monitor=watch))
    assert result.error is None
    assert offsets_ms["first"] < SLACK_MS, offsets_ms
    assert 500 <= offsets_ms["second"] < 500 + SLACK_MS, offsets_ms
    iterations = result.registry.view("iterations", {"scenario": "first"})
    assert iterations is not None and iterations.counter_total() == 20
