"""The DMS workloads against the sandbox over loopback: the issue's done-when list."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dmsload.dms.data import RunData
from dmsload.dms.session import DmsConnector
from dmsload.engine.runner import ExitCode, RunResult
from dmsload.sandbox.testing import SandboxHandle
from dmsload.settings import ConnectionSettings

from .conftest import PROFILES, RunToml, counts_by_tag, rate_parts, run_file

WEIGHTS = {"create": 20, "read": 40, "update": 20, "delete": 5, "query": 15}


def _server_counts_by_method(sandbox: SandboxHandle) -> dict[str, int]:
    totals: dict[str, int] = {}
    for route, statuses in sandbox.state.stats.snapshot()["routes"].items():
        method, path = route.split(" ", 1)
        if path.startswith("/data/"):
            totals[method] = totals.get(method, 0) + sum(statuses.values())
    return totals


@pytest.mark.serial  # smoke's thresholds (p95<500, no dropped iteration) must pass
def test_smoke_profile_runs_every_workload_with_no_unexpected_failure(
    settings: ConnectionSettings,
) -> None:
    result = run_file(PROFILES / "smoke.toml", settings, time_scale=0.15)
    assert result.error is None
    assert result.exit_code == ExitCode.OK, [r for r in result.thresholds if r.ok is False]
    failed, total = rate_parts(result, "http_req_failed")
    assert total > 100 and failed == 0
    passed, checks = rate_parts(result, "checks")
    assert checks > 100 and passed == checks
    iterations = counts_by_tag(result, "iterations", "scenario")
    assert set(iterations) == {
        "upsert_same",
        "create_enrollments",
        "create_assignments",
        "bulk_create",
        "mixed_crud",
        "queries",
    }
    assert all(count > 0 for count in iterations.values()), iterations
    for counter in (
        "schools_created",
        "students_created",
        "staff_created",
        "student_school_associations_created",
        "staff_assignments_created",
    ):
        view = result.registry.view(counter)
        assert view is not None and view.counter_total() > 0, counter
    names = counts_by_tag(result, "http_reqs", "name")
    assert "POST /ed-fi/students" in names and "GET /ed-fi/students/{id}" in names
    operations = counts_by_tag(result, "http_reqs", "operation")
    assert set(operations) == {"create", "upsert", "read", "update", "delete", "query"}


@pytest.mark.serial
def test_mixed_crud_at_200_per_second_keeps_the_mix_and_the_server_agrees(
    sandbox: SandboxHandle, run_toml: RunToml
) -> None:
    result = run_toml(
        """
        [scenarios.mix]
        executor = "constant-arrival-rate"
        rate = 200
        duration = "10s"
        pre_allocated_vus = 20
        max_vus = 60
        workload = "mixed-crud"
        """
    )
    assert result.exit_code == ExitCode.OK
    chosen = counts_by_tag(result, "mixed_crud_operations", "operation")
    total = sum(chosen.values())
    assert 1990 <= total <= 2010, total
    for operation, weight in WEIGHTS.items():
        share = 100 * chosen.get(operation, 0) / total
        assert abs(share - weight) <= 3, (operation, share, weight)
    failed, _ = rate_parts(result, "http_req_failed")
    assert failed == 0
    mine = counts_by_tag(result, "http_reqs", "method")
    server = _server_counts_by_method(sandbox)
    assert set(mine) == set(server) == {"GET", "POST", "PUT", "DELETE"}
    for method, count in server.items():
        assert abs(mine[method] - count) <= max(1, 0.01 * count), (method, mine[method], count)


def test_query_pages_are_non_empty_and_total_count_equals_the_seeded_count(
    sandbox: SandboxHandle, run_toml: RunToml
) -> None:
    result = run_toml(
        """
        [scenarios.q]
        executor = "constant-arrival-rate"
        rate = 30
        duration = "3s"
        pre_allocated_vus = 5
        workload = "query"
        options = { seed_students = 30 }
        """
    )
    assert result.exit_code == ExitCode.OK
    schema, store = sandbox.state.schema, sandbox.state.store
    kinds = counts_by_tag(result, "http_reqs", "name")
    assert len([name for name in kinds if name.startswith("GET ")]) >= 6, kinds
    for kind in ("limit", "field", "association", "total-count", "birth-date", "deep-paging"):
        passed, total = rate_parts(
            result, "checks", {"check": f"query {kind}: returns a non-empty page"}
        )
        assert total > 0 and passed == total, kind
    passed, total = rate_parts(
        result, "checks", {"check": "query total-count: Total-Count equals the seeded count"}
    )
    assert total > 0 and passed == total
    for endpoint in ("students", "studentSchoolAssociations"):
        resource = schema.find(endpoint)
        assert resource is not None and store.count(resource) == 30, endpoint


@pytest.mark.serial
def test_a_two_second_token_lifetime_gives_no_401_over_ten_seconds(
    sandbox: SandboxHandle, run_toml: RunToml
) -> None:
    sandbox.set_faults(token_lifetime_s=2)
    result = run_toml(
        """
        [scenarios.crud]
        executor = "constant-arrival-rate"
        rate = 50
        duration = "10s"
        pre_allocated_vus = 10
        workload = "mixed-crud"
        """
    )
    assert result.exit_code == ExitCode.OK
    statuses = counts_by_tag(result, "http_reqs", "status")
    assert "401" not in statuses and sum(statuses.values()) >= 490, statuses
    tokens = result.registry.view("auth_token_requests")
    assert tokens is not None and tokens.counter_total() >= 5  # refreshed, not re-used past expiry
    # one (background) refresh per 1.5 s of token life, not one per waiting VU
    assert tokens.counter_total() <= 12, tokens.counter_total()
    assert counts_by_tag(result, "auth_token_requests", "status") == {"200": tokens.counter_total()}
    # as k6 tags every sample with its scenario: the first token is setup's, refreshes crud's
    by_scenario = counts_by_tag(result, "auth_token_requests", "scenario")
    assert by_scenario["setup"] == 1 and by_scenario["crud"] == tokens.counter_total() - 1
    assert sandbox.state.stats.count("POST /oauth/token", 401) == 0
    duration = result.registry.view("auth_token_duration")
    assert duration is not None and duration.count == tokens.counter_total()
    http_names = counts_by_tag(result, "http_reqs", "name")
    assert not any("oauth" in name for name in http_names)  # not in http_req_duration


@pytest.mark.parametrize("respect", [True, False])
@pytest.mark.serial
def test_vus_honor_retry_after_from_429(
    sandbox: SandboxHandle, run_toml: RunToml, respect: bool
) -> None:
    sandbox.set_faults(rate_limit=40, rate_limit_window_s=1)
    result = run_toml(
        f"""
        [scenarios.upserts]
        executor = "constant-vus"
        vus = 4
        duration = "4s"
        workload = "upsert-same"
        options = {{ respect_retry_after = {str(respect).lower()} }}
        """
    )
    statuses = counts_by_tag(result, "http_reqs", "status")
    limited = statuses.get("429", 0)
    assert limited > 0, statuses
    errors = counts_by_tag(result, "api_errors", "status")
    assert errors.get("429") == limited  # recorded as failures, tagged with the status
    if respect:
        # each VU takes at most one 429 per window before waiting for the window's end
        assert limited <= 4 * 6, statuses
    else:
        assert limited > 200, statuses


def test_two_runs_whose_ids_share_a_school_block_do_not_collide(
    sandbox: SandboxHandle, run_toml: RunToml
) -> None:
    profile = """
        [scenarios.schools]
        executor = "shared-iterations"
        vus = 2
        iterations = 20
        workload = "create"
        options = { resource = "schools" }
        """
    for _ in range(2):
        result = run_toml(profile, run_data=RunData(run_id="0000002a"))  # same block, unpinned
        assert result.exit_code == ExitCode.OK
        statuses = counts_by_tag(result, "http_reqs", "status")
        assert statuses == {"201": 20.0}, statuses
    resource = sandbox.state.schema.find("schools")
    assert resource is not None and sandbox.state.store.count(resource) == 40


UPSERTS = """
    [scenarios.upserts]
    executor = "constant-vus"
    vus = 4
    duration = "1s"
    workload = "upsert-same"
    """
FIRST_201 = "upsert schools: status is 201"
FIRST_EITHER = "upsert schools: status is 201 or 200"
LATER_200 = "upsert schools: status is 200"


def _check(result: RunResult, name: str) -> tuple[int, int]:
    view = result.registry.view("checks", {"check": name})
    return (0, 0) if view is None else view.rate_parts()


def test_upsert_same_checks_201_for_the_first_request_and_200_for_every_later_one(
    sandbox: SandboxHandle, run_toml: RunToml
) -> None:
    result = run_toml(UPSERTS)
    assert result.exit_code == ExitCode.OK
    assert _check(result, FIRST_201) == (1, 1)  # 4 VUs, yet exactly one first request
    passed, total = _check(result, LATER_200)
    assert total > 20 and passed == total
    assert _check(result, FIRST_EITHER) == (0, 0)
    created = result.registry.view("schools_created")
    assert created is not None and created.counter_total() == 1
    assert sandbox.state.stats.count("POST /data/ed-fi/schools", 201) == 1


def test_upsert_same_with_a_given_run_id_accepts_the_school_of_an_earlier_run(
    sandbox: SandboxHandle, run_toml: RunToml
) -> None:
    first = run_toml(UPSERTS, run_data=RunData.create(run_id="00000abc"))
    assert _check(first, FIRST_EITHER) == (1, 1)
    again = run_toml(UPSERTS, run_data=RunData.create(run_id="00000abc"))  # same school
    assert again.exit_code == ExitCode.OK
    assert _check(again, FIRST_EITHER) == (1, 1)
    passed, total = _check(again, LATER_200)
    assert total > 20 and passed == total
    assert sandbox.state.stats.count("POST /data/ed-fi/schools", 201) == 1


def test_upsert_same_fails_its_check_when_the_first_request_of_a_fresh_school_is_not_201(
    sandbox: SandboxHandle, run_toml: RunToml, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the block probe off, a random-id run meets the school of an earlier run with
    the same id: the target answers 200 where a new school must get 201, and that shows."""

    async def no_probe(self: DmsConnector, data_api_url: str, tokens: object) -> None:
        return None

    monkeypatch.setattr(DmsConnector, "_claim_school_block", no_probe)
    assert run_toml(UPSERTS, run_data=RunData(run_id="00000def")).exit_code == ExitCode.OK
    result = run_toml(UPSERTS, run_data=RunData(run_id="00000def"))
    assert _check(result, FIRST_201) == (0, 1)
    passed, total = _check(result, LATER_200)
    assert total > 20 and passed == total


def test_two_runs_with_the_same_seed_do_not_collide(
    sandbox: SandboxHandle, run_toml: RunToml
) -> None:
    profile = """
        [scenarios.students]
        executor = "shared-iterations"
        vus = 2
        iterations = 20
        workload = "create"
        options = { resource = "students" }
        """
    for _ in range(2):
        result = run_toml(profile, run_data=RunData.create(seed=7))
        statuses = counts_by_tag(result, "http_reqs", "status")
        assert statuses == {"201": 20.0}, statuses
    resource = sandbox.state.schema.find("students")
    assert resource is not None and sandbox.state.store.count(resource) == 40


@pytest.mark.serial
def test_run_sandbox_ignores_the_users_dms_settings(tmp_path: Path) -> None:
    """DMSLOAD_* and .env describe the user's own DMS; `--sandbox` uses the sandbox's."""
    (tmp_path / ".env").write_text("DMSLOAD_CMS_CLIENT_ID=someone\nDMSLOAD_TOKEN_URL=http://x:1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMSLOAD_")}
    env.update(
        DMSLOAD_CMS_CLIENT_SECRET="x",
        DMSLOAD_AUTH_STYLE="form",
        DMSLOAD_CLIENT_KEY="mine",
        DMSLOAD_CLIENT_SECRET="my-secret",
    )
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dmsload",
            "run",
            str(PROFILES / "smoke.toml"),
            "--sandbox",
            "--time-scale",
            "0.1",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    steps = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert len(steps) == 10 and all(" ok" in line for line in steps), steps
    assert "client DmsConfigurationService" in steps[0]
    assert time.monotonic() - started < 30
