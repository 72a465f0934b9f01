"""A generator that cannot start its iterations on time is never reported as the target's knee.

The workload here burns 2 ms of the event loop's CPU per iteration and sends nothing: at 800/s
one core cannot keep up whatever the machine (on a busy one, iterations start late sooner), so
the search must end by then with "not found: the generator was the limit" (its CPU, or
iterations starting late), exit 1, and say so in the table and the summary JSON.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from dmsload.capacity.command import _search
from dmsload.capacity.options import CapacityOptions, StepRule
from dmsload.engine.runner import ExitCode, RunOptions
from dmsload.engine.vu import VU
from dmsload.profile import profile_from_mapping
from dmsload.run_report import ReportOptions
from dmsload.workloads.base import BaseWorkload, Workload, WorkloadContext, WorkloadSpec

pytestmark = pytest.mark.serial  # a capacity search: the knee depends on the CPU it gets


class _BurnOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ms: float = 2.0


class _Burn(BaseWorkload):
    """Keeps the event loop busy for `ms` per iteration."""

    def __init__(self, ms: float) -> None:
        self.seconds = ms / 1000.0

    async def iteration(self, vu: VU) -> None:
        end = time.perf_counter() + self.seconds
        while time.perf_counter() < end:
            pass


def _factory(options: BaseModel, ctx: WorkloadContext) -> Workload:
    assert isinstance(options, _BurnOptions)
    return _Burn(options.ms)


BURN = WorkloadSpec("burn", "burns CPU, sends nothing", _BurnOptions, _factory)


@pytest.mark.slow
def test_a_starved_generator_is_reported_as_the_limit_not_as_a_knee(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = {
        "scenarios": {
            "burn": {"executor": "constant-vus", "vus": 1, "duration": "1s", "workload": "burn"}
        }
    }
    profile = profile_from_mapping(document, {"burn": BURN}, source="burn.toml")
    options = CapacityOptions(
        start_rate=100,
        step=StepRule("multiply", 2),
        step_duration_ns=2_000_000_000,
        max_rate=3200,
        max_vus=50,
    )
    summary = tmp_path / "burn.json"
    run_options = RunOptions(quiet=True, handle_signals=False, timeline=True)
    code = _search(profile, "burn", options, run_options, ReportOptions(), summary, quiet=True)
    assert code == ExitCode.CANNOT_PROCEED
    section = json.loads(summary.read_bytes())["capacity"]
    knee = section["knee"]
    assert (knee["found"], knee["rate"], knee["reason"]) == (False, None, "generator")
    assert knee["text"].startswith("not found: the generator was the limit at ")
    steps = section["steps"]
    assert steps[-1]["generator_limit"] == knee["stopped_at"]["generator_limit"]
    assert steps[-1]["offered_rate"] <= 800  # 800/s needs 1.6 cores
    assert all(step["generator_limit"] is None for step in steps[:-1])
    out = capsys.readouterr().out
    assert "GENERATOR LIMIT" in out and "not found: the generator was the limit" in out
    assert "knee at" not in out
