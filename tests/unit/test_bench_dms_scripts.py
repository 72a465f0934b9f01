"""The DMS bench scripts: the profiles they write load, and the memory check's verdict."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dmsload.profile import load_profile
from dmsload.workloads import builtin_workloads

BENCH = Path(__file__).resolve().parents[2] / "scripts" / "bench"
sys.path.insert(0, str(BENCH))

import dms_workloads  # noqa: E402
import rss_soak  # noqa: E402


@pytest.mark.parametrize("workload", dms_workloads.WORKLOADS)
def test_the_bench_profile_is_the_k6_scenario(workload: str, tmp_path: Path) -> None:
    path = tmp_path / "bench.toml"
    path.write_text(dms_workloads.dmsload_profile(workload, 400, 20, 50))
    profile = load_profile(path, builtin_workloads())
    scenario = profile.scenarios["bench"]
    assert scenario.workload.name == workload
    config = scenario.config
    assert (config.rate, config.pre_allocated_vus, config.max_vus) == (400, 50, 100)
    assert config.duration == 20 * 10**9


def test_the_soak_profile_is_mixed_crud_at_the_rate_with_every_vu_up_front(
    tmp_path: Path,
) -> None:
    path = tmp_path / "soak.toml"
    path.write_text(rss_soak.profile(1000, 1800))
    scenario = load_profile(path, builtin_workloads()).scenarios["mixed_crud"]
    assert scenario.workload.name == "mixed-crud"
    config = scenario.config
    assert (config.rate, config.pre_allocated_vus, config.max_vus) == (1000, 200, 200)


def test_growth_is_judged_from_the_first_minute_to_the_end() -> None:
    samples = [(5.0, 50.0), (30.0, 90.0), (61.0, 100.0), (300.0, 104.0), (600.0, 104.9)]
    verdict = rss_soak.judge(samples)
    assert (verdict.at_1min_mb, verdict.end_mb, verdict.peak_mb) == (100.0, 104.9, 104.9)
    assert verdict.growth_pct == pytest.approx(4.9)
    with pytest.raises(SystemExit):
        rss_soak.judge([(10.0, 50.0), (70.0, 60.0)])  # one sample after a minute: too short
