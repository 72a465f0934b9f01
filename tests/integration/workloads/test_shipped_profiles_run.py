"""Each shipped profile, run with --time-scale to a few seconds against the sandbox, exits 0."""

from __future__ import annotations

import pytest

from dmsload.engine.runner import ExitCode
from dmsload.settings import ConnectionSettings

from .conftest import PROFILES, rate_parts, run_file

SCALES = {
    "baseline": 0.01,  # 5m → 3 s
    "concurrent": 0.005,  # 11m → 3.3 s
    "bulk-load": 0.001,  # max 1h → 3.6 s
    "mixed-crud": 0.002,  # 30m → 3.6 s at 1,000/s
    "query-performance": 0.005,  # 10m → 3 s
    "spike": 0.01,  # 4m → 2.4 s, up to 500 VUs
    "sustained": 0.0002,  # 4h → 2.9 s, 200 VUs
    "smoke": 0.15,  # 20s → 3 s
    "capacity": 0.05,  # 1m → 3 s at 50/s
    "change-queries": 0.05,  # 1m15s → 3.75 s, two sync passes (3 s think time)
}


def test_every_profile_has_a_scale() -> None:
    # pipeclean needs a target that serves its OpenAPI specification: test_pipeclean.py runs it
    shipped = {path.stem for path in PROFILES.glob("*.toml")} - {"demo", "pipeclean"}
    assert shipped == set(SCALES)


@pytest.mark.parametrize("name", sorted(SCALES))
def test_profile_runs_scaled_against_the_sandbox_and_passes(
    name: str, settings: ConnectionSettings
) -> None:
    result = run_file(PROFILES / f"{name}.toml", settings, time_scale=SCALES[name])
    assert result.error is None, result.error
    failing = [f"{r.selector} {r.threshold.source}" for r in result.thresholds if r.ok is False]
    assert result.exit_code == ExitCode.OK, failing
    failed, total = rate_parts(result, "http_req_failed")
    assert total > 0 and failed <= 0.01 * total
    assert result.elapsed_s <= 10
