"""A stall of the event loop leaves a backlog of due iterations: it is started between loop
turns, so the VUs it wakes come back as it drains and the pool does not run dry."""

from __future__ import annotations

import time

import anyio.lowlevel
import pytest
from pydantic import BaseModel

from dmsload.engine.runner import RunOptions, run_profile
from dmsload.engine.vu import VU
from dmsload.profile import profile_from_mapping
from dmsload.workloads import BaseWorkload, WorkloadSpec, builtin_workloads

STALL_S = 0.03
RATE = 2000


class _NoOptions(BaseModel):
    """The stalling workload takes no option."""


class _StallOnce(BaseWorkload):
    """Each iteration takes two loop turns; the 200th blocks the loop for STALL_S (as a long
    callback, a collection or the machine would)."""

    def __init__(self) -> None:
        self.iterations = 0

    async def iteration(self, vu: VU) -> None:
        self.iterations += 1
        if self.iterations == 200:
            time.sleep(STALL_S)
        await anyio.lowlevel.checkpoint()
        await anyio.lowlevel.checkpoint()


@pytest.mark.serial  # a rate: not beside other tests
def test_a_stall_of_the_loop_drops_no_iteration_when_vus_come_back_in_time() -> None:
    workload = _StallOnce()
    specs = dict(builtin_workloads())
    specs["stall"] = WorkloadSpec(
        name="stall",
        summary="blocks the loop once",
        options_model=_NoOptions,
        factory=lambda _options, _ctx: workload,
    )
    # 8 VUs cover 4 ms of arrivals; the stall leaves 60 due at once
    doc = {
        "scenarios": {
            "s": {
                "executor": "constant-arrival-rate",
                "rate": RATE,
                "duration": "1s",
                "pre_allocated_vus": 8,
                "workload": "stall",
            }
        }
    }
    profile = profile_from_mapping(doc, specs, source="test.toml")
    result = run_profile(profile, RunOptions(quiet=True, handle_signals=False))
    assert result.error is None
    dropped = result.registry.view("dropped_iterations")
    assert workload.iterations >= 1990
    assert dropped is None or dropped.counter_total() == 0
