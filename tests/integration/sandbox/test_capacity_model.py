"""The sandbox's capacity model: at most C DMS requests served at once, each held at least D ms
(lower bounds only: a busy machine may only make it slower)."""

from __future__ import annotations

import time

import anyio
import httpx
import pytest

from dmsload.sandbox.faults import FaultError, FaultSettings
from dmsload.sandbox.testing import running_sandbox


def _wall_times(base_url: str, count: int) -> list[float]:
    """Seconds from a common start to each of `count` simultaneous GET /health answers."""
    done: list[float] = []

    async def main() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            start = time.perf_counter()

            async def one() -> None:
                r = await client.get("/health")
                assert r.status_code == 200
                done.append(time.perf_counter() - start)

            async with anyio.create_task_group() as tasks:
                for _ in range(count):
                    tasks.start_soon(one)

    anyio.run(main)
    return sorted(done)


def test_two_slots_of_100ms_serve_six_requests_in_three_waves() -> None:
    with running_sandbox(faults={"concurrency_limit": 2, "service_time_ms": 100}) as sandbox:
        times = _wall_times(sandbox.base_url, 6)
        assert sandbox.state.stats.count("GET /health", 200) == 6
    assert all(t >= 0.099 for t in times[:2])
    assert all(t >= 0.199 for t in times[2:4])
    assert all(t >= 0.299 for t in times[4:])


def test_cms_and_admin_routes_are_never_held() -> None:
    faults = {"concurrency_limit": 1, "service_time_ms": 10_000}
    with (
        running_sandbox(faults=faults) as sandbox,
        httpx.Client(
            base_url=sandbox.base_url, timeout=10, headers=sandbox.control_headers
        ) as client,
    ):
        started = time.perf_counter()
        assert client.get("/_sandbox/faults").json()["concurrency_limit"] == 1
        assert client.get("/config/").status_code == 200
        assert time.perf_counter() - started < 5  # held, they would take 10 s


def test_bad_capacity_settings_name_the_key() -> None:
    with pytest.raises(FaultError, match="concurrency_limit must be >= 0"):
        FaultSettings().merged({"concurrency_limit": -1})
    with pytest.raises(FaultError, match="concurrency_limit must be an integer"):
        FaultSettings().merged({"concurrency_limit": 2.5})
    with pytest.raises(FaultError, match="service_time_ms must be >= 0"):
        FaultSettings().merged({"service_time_ms": -5})
