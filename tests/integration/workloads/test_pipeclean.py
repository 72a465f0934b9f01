"""pipeclean over loopback: the sandbox serving the DMS OpenAPI specification (153 resources)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dmsload.engine.runner import ExitCode
from dmsload.sandbox.config import SandboxConfig
from dmsload.sandbox.schema import ApiSchema, load_api_schema
from dmsload.sandbox.testing import SandboxHandle, running_sandbox
from dmsload.settings import ConnectionSettings, load_settings

from .conftest import PROFILES, counts_by_tag, run_file

SPEC = Path(__file__).resolve().parents[3] / "config" / "openapi" / "resources-spec.json.gz"


@pytest.fixture(scope="module")
def openapi_schema() -> ApiSchema:
    return load_api_schema(SPEC)


@pytest.fixture
def openapi_sandbox(openapi_schema: ApiSchema) -> Iterator[SandboxHandle]:
    config = SandboxConfig(schema_path=SPEC, schema=openapi_schema)
    with running_sandbox(config) as handle:
        yield handle


def _settings(sandbox: SandboxHandle, tmp_path: Path, **extra: object) -> ConnectionSettings:
    return load_settings(
        dms_url=sandbox.base_url,
        client_key=sandbox.client_key,
        client_secret=sandbox.client_secret,
        credentials_file=tmp_path / "none.json",
        spec_cache_dir=tmp_path / "specs",
        **extra,
    )


def _profile(tmp_path: Path, options: str = "", documents: str = "") -> Path:
    path = tmp_path / "pipeclean.toml"
    text = (PROFILES / "pipeclean.toml").read_text()
    if options:
        text = text.replace('options = { fill = "required" }', f"options = {{ {options} }}")
    path.write_text(text + documents)
    return path


def test_every_resource_of_the_specification_is_created_read_updated_and_deleted(
    openapi_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    result = run_file(PROFILES / "pipeclean.toml", _settings(openapi_sandbox, tmp_path))
    assert result.error is None, result.error
    assert result.exit_code == ExitCode.OK
    passed = counts_by_tag(result, "pipeclean_passed_resources", "resource")
    failed = counts_by_tag(result, "pipeclean_failed_resources", "resource")
    assert len(passed) == 153 and sum(passed.values()) == 153
    assert sum(failed.values()) == 0
    assert "tpdm/candidates" in passed and "schools" in passed
    # every document it created is gone again; only the seeded descriptors stay
    store = openapi_sandbox.state.store
    left = {r.path for r in openapi_sandbox.state.schema.resources.values() if store.count(r)}
    assert left and all(path.endswith("Descriptors") for path in left)
    # one request of each kind per resource, named after it
    methods = counts_by_tag(result, "http_reqs", "name")
    for name in (
        "POST /ed-fi/schools",
        "GET /ed-fi/schools/{id}",
        "PUT /ed-fi/schools/{id}",
        "DELETE /ed-fi/schools/{id}",
        "DELETE /tpdm/candidates/{id}",
    ):
        assert methods.get(name, 0) >= 1, name
    assert result.elapsed_s < 60


def test_a_failing_resource_exits_99_and_is_listed_with_its_status(
    openapi_sandbox: SandboxHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    documents = '\n[documents.students]\nremove = ["firstName"]\n'
    path = _profile(tmp_path, 'resources = ["studentSchoolAssociations"]', documents)
    result = run_file(path, _settings(openapi_sandbox, tmp_path))
    assert result.exit_code == ExitCode.THRESHOLDS_FAILED
    failed = counts_by_tag(result, "pipeclean_failed_resources", "resource")
    assert failed == {"schools": 0.0, "students": 1.0, "studentSchoolAssociations": 1.0}
    err = capsys.readouterr().err
    assert "pipeclean: 2 of 3 resources failed:" in err
    assert "/ed-fi/students: POST 400: " in err and "firstName" in err
    assert "/ed-fi/studentSchoolAssociations: not sent: its Student reference" in err


def test_skip_leaves_out_a_resource_and_what_references_it(
    openapi_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    path = _profile(tmp_path, 'resources = ["studentSchoolAssociations"], skip = ["students"]')
    result = run_file(path, _settings(openapi_sandbox, tmp_path))
    assert result.exit_code == ExitCode.OK
    assert set(counts_by_tag(result, "pipeclean_passed_resources", "resource")) == {"schools"}


def test_an_unknown_override_field_is_named_before_any_load(
    openapi_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    documents = "\n[documents.schools]\nset = { gradeLevelz = [] }\n"
    result = run_file(_profile(tmp_path, documents=documents), _settings(openapi_sandbox, tmp_path))
    assert result.exit_code != ExitCode.OK
    assert result.error is not None
    assert "documents.schools.set: schools has no field 'gradeLevelz'" in result.error
    assert openapi_sandbox.state.store.count() == 0


def test_a_target_without_specifications_says_to_name_one(tmp_path: Path) -> None:
    with running_sandbox(seed_descriptors=True) as plain:  # an ApiSchema sandbox: no OpenAPI
        result = run_file(PROFILES / "pipeclean.toml", _settings(plain, tmp_path))
        assert result.error is not None
        assert "resources-spec.json answered 404" in result.error
        assert "--resources-spec" in result.error


def test_resources_spec_names_a_file_and_the_cache_is_reused(
    openapi_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    path = _profile(tmp_path, 'resources = ["academicWeeks"]')
    named = run_file(path, _settings(openapi_sandbox, tmp_path, resources_spec=str(SPEC)))
    assert named.exit_code == ExitCode.OK
    assert not (tmp_path / "specs").exists()  # a named file is not cached
    first = run_file(path, _settings(openapi_sandbox, tmp_path))
    assert first.exit_code == ExitCode.OK
    cached = list((tmp_path / "specs").glob("*/resources-spec.json.gz"))
    assert len(cached) == 1
    route = "GET /metadata/specifications/resources-spec.json"
    assert openapi_sandbox.state.stats.count(route) == 1
    second = run_file(path, _settings(openapi_sandbox, tmp_path))
    assert second.exit_code == ExitCode.OK
    assert openapi_sandbox.state.stats.count(route) == 1  # read from the cache
