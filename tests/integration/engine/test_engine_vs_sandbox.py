"""The engine against the sandbox with faults: what dmsload reports equals what the server saw."""

from __future__ import annotations

from typing import Any

import pytest

from dmsload.engine.runner import RunOptions, RunResult, run_profile
from dmsload.profile import profile_from_mapping
from dmsload.sandbox.testing import running_sandbox
from dmsload.workloads import builtin_workloads

ROUTE = "GET /data/ed-fi/schools"


def _run(url: str) -> RunResult:
    doc: dict[str, Any] = {
        "scenarios": {
            "reads": {
                "executor": "constant-arrival-rate",
                "rate": 100,
                "duration": "2s",
                "pre_allocated_vus": 10,
                "max_vus": 30,
                "workload": "http",
                "options": {"url": url + "/data/ed-fi/schools", "name": ROUTE},
            }
        }
    }
    profile = profile_from_mapping(doc, builtin_workloads(), source="t.toml")
    return run_profile(profile, RunOptions(quiet=True, handle_signals=False))


def _count(result: RunResult, **tags: str) -> float:
    view = result.registry.view("http_reqs", tags)
    return 0.0 if view is None else view.counter_total()


def _scheduled(result: RunResult) -> float:
    """Requests sent plus iterations dropped (no free VU): the schedule's 200, exactly."""
    dropped = result.registry.view("dropped_iterations")
    return _count(result) + (0.0 if dropped is None else dropped.counter_total())


@pytest.mark.serial
def test_injected_errors_are_counted_the_same_on_both_sides() -> None:
    faults = {"error_rate": 0.3, "error_status": 503, "seed": 7}
    with running_sandbox(faults=faults) as sandbox:
        result = _run(sandbox.base_url)
        seen = sandbox.state.stats.snapshot()["routes"][ROUTE]
    assert _scheduled(result) == 200 and _count(result) == sum(seen.values()) >= 190
    assert _count(result, status="503") == seen["503"] > 20
    assert _count(result, status="401") == seen["401"]  # no token: the DMS answers 401
    failed = result.registry.view("http_req_failed")
    sent = int(_count(result))
    assert failed is not None and failed.rate_parts() == (sent, sent)


@pytest.mark.serial
def test_connection_resets_are_failed_requests_with_status_0() -> None:
    with running_sandbox(faults={"reset_rate": 0.2, "seed": 3}) as sandbox:
        result = _run(sandbox.base_url)
        seen = sandbox.state.stats.snapshot()["routes"][ROUTE]
    resets = seen["reset"]
    assert resets > 10
    assert _count(result, status="0") == resets
    assert _scheduled(result) == 200 and _count(result) == sum(seen.values()) >= 190
    errors = {dict(tags).get("error") for tags in result.registry.get("http_reqs").series}  # type: ignore[union-attr]
    assert errors & {"connection reset by peer", "server closed the connection"}
