"""`[documents.schools]` makes the smoke profile pass on a target that refuses several
descriptors of one type (the sandbox's `one_descriptor_per_type`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dmsload.engine.runner import ExitCode
from dmsload.sandbox.testing import SandboxHandle, running_sandbox
from dmsload.settings import ConnectionSettings, load_settings

from .conftest import PROFILES, counts_by_tag, rate_parts, run_file

ONE_GRADE = """
[documents.schools]
set = { gradeLevels = [{ gradeLevelDescriptor = "${GRADE}" }] }
remove = ["shortNameOfInstitution"]
"""


@pytest.fixture
def strict_sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed_descriptors=True, one_descriptor_per_type=True) as handle:
        yield handle


@pytest.fixture
def strict_settings(strict_sandbox: SandboxHandle, tmp_path: Path) -> ConnectionSettings:
    return load_settings(
        dms_url=strict_sandbox.base_url,
        client_key=strict_sandbox.client_key,
        client_secret=strict_sandbox.client_secret,
        credentials_file=tmp_path / "none.json",
    )


def _smoke(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "smoke.toml"
    path.write_text((PROFILES / "smoke.toml").read_text() + extra)
    return path


def test_the_strict_target_refuses_the_generated_school(
    strict_settings: ConnectionSettings, tmp_path: Path
) -> None:
    result = run_file(_smoke(tmp_path), strict_settings, time_scale=0.15)
    assert result.exit_code != ExitCode.OK
    statuses = counts_by_tag(result, "api_errors", "status")
    assert statuses.get("409", 0) >= 1


@pytest.mark.serial
def test_one_grade_level_set_by_the_profile_makes_smoke_pass(
    strict_sandbox: SandboxHandle, strict_settings: ConnectionSettings, tmp_path: Path
) -> None:
    grade = "uri://ed-fi.org/GradeLevelDescriptor#Ninth grade"
    result = run_file(
        _smoke(tmp_path, ONE_GRADE), strict_settings, time_scale=0.15, env={"GRADE": grade}
    )
    assert result.error is None, result.error
    failing = [f"{r.selector} {r.threshold.source}" for r in result.thresholds if r.ok is False]
    assert result.exit_code == ExitCode.OK, failing
    schools = [
        doc
        for resource in strict_sandbox.state.schema.resources.values()
        if resource.endpoint == "schools"
        for doc in strict_sandbox.state.store.documents(resource)
    ]
    assert schools
    assert all(s.body["gradeLevels"] == [{"gradeLevelDescriptor": grade}] for s in schools)


QUERIES = """
[scenarios.queries]
executor = "per-vu-iterations"
vus = 1
iterations = 10
max_duration = "20s"
workload = "query"
options = { seed_students = 3, kinds = KINDS }
"""


def test_query_names_the_filter_the_target_refuses_and_other_kinds_pass(tmp_path: Path) -> None:
    with running_sandbox(seed_descriptors=True, reference_filters=False) as sandbox:
        settings = load_settings(
            dms_url=sandbox.base_url,
            client_key=sandbox.client_key,
            client_secret=sandbox.client_secret,
            credentials_file=tmp_path / "none.json",
        )
        path = tmp_path / "q.toml"
        path.write_text(QUERIES.replace("KINDS", '["association", "field"]'))
        refused = run_file(path, settings)
        name = (
            "query association: the target accepts the filter "
            "/ed-fi/studentSchoolAssociations?schoolId"
        )
        assert rate_parts(refused, "checks", {"check": name}) == (0, 5)
        statuses = counts_by_tag(refused, "api_errors", "status")
        assert statuses == {"400": 5.0}
        path.write_text(QUERIES.replace("KINDS", '["field", "birth-date", "limit"]'))
        assert run_file(path, settings).exit_code == ExitCode.OK
