"""`[documents.schools]` makes the smoke profile pass on a target that refuses several
descriptors of one type (the sandbox's `one_descriptor_per_type`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dmsload.engine.runner import ExitCode
from dmsload.sandbox.testing import SandboxHandle, running_sandbox
from dmsload.settings import ConnectionSettings, load_settings

from .conftest import PROFILES, counts_by_tag, run_file

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
