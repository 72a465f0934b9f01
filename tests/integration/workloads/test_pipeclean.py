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
    config = SandboxConfig(schema_path=SPEC, schema=openapi_schema, seed_descriptors=True)
    with running_sandbox(config) as handle:
        yield handle


def _data_documents(sandbox: SandboxHandle) -> list[str]:
    """The resources holding documents, descriptors left out."""
    state = sandbox.state
    resources = state.schema.resources.values()
    return [r.path for r in resources if not r.is_descriptor and state.store.count(r)]


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
    assert _data_documents(openapi_sandbox) == []
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
    assert _data_documents(openapi_sandbox) == []


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


ANY_RESOURCE = """
[scenarios.create]
executor = "per-vu-iterations"
vus = 2
iterations = 3
max_duration = "20s"
workload = "create"
options = { resource = "studentSchoolAssociations" }

[scenarios.create_other]
executor = "per-vu-iterations"
vus = 2
iterations = 3
max_duration = "20s"
workload = "create"
options = { resource = "studentSectionAssociations" }

[scenarios.bulk]
executor = "per-vu-iterations"
vus = 1
iterations = 2
max_duration = "20s"
workload = "bulk-create"
options = { resource = "academicWeeks", batch_size = 3 }

[scenarios.mixed]
executor = "per-vu-iterations"
vus = 2
iterations = 20
max_duration = "20s"
workload = "mixed-crud"
options = { resource = "tpdm/candidates" }

[scenarios.upsert]
executor = "per-vu-iterations"
vus = 1
iterations = 5
max_duration = "20s"
workload = "upsert-same"
options = { resource = "calendars" }

[thresholds]
checks = ["rate==1"]
http_req_failed = ["rate==0"]
"""


def test_create_bulk_mixed_and_upsert_take_any_resource_of_the_specification(
    openapi_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    path = tmp_path / "any.toml"
    path.write_text(ANY_RESOURCE)
    result = run_file(path, _settings(openapi_sandbox, tmp_path))
    assert result.error is None, result.error
    failing = [f"{r.selector} {r.threshold.source}" for r in result.thresholds if r.ok is False]
    assert result.exit_code == ExitCode.OK, failing
    names = counts_by_tag(result, "http_reqs", "name")
    assert names["POST /ed-fi/studentSchoolAssociations"] == 6
    assert names["POST /ed-fi/studentSectionAssociations"] == 6
    assert names["POST /ed-fi/academicWeeks"] == 6
    assert names["POST /ed-fi/calendars"] == 6  # created once in setup, then 5 upserts
    assert names.get("PUT /tpdm/candidates/{id}", 0) >= 1
    assert names.get("GET /tpdm/candidates?candidateIdentifier", 0) >= 1
    schema = openapi_sandbox.state.schema
    sections = schema.find_in("ed-fi", "studentSectionAssociations")
    assert sections is not None and openapi_sandbox.state.store.count(sections) == 6


def test_an_unknown_resource_is_named_before_any_load(
    openapi_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    path = tmp_path / "unknown.toml"
    path.write_text(ANY_RESOURCE.replace('"academicWeeks"', '"academicWeekz"'))
    result = run_file(path, _settings(openapi_sandbox, tmp_path))
    assert result.error is not None and "has no resource 'academicWeekz'" in result.error
    assert _data_documents(openapi_sandbox) == []  # descriptors only were seeded


def test_resources_whose_references_cannot_be_met_are_named_before_any_load(
    openapi_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    import gzip

    import orjson

    spec = orjson.loads(gzip.decompress(SPEC.read_bytes()))
    del spec["paths"]["/ed-fi/students"], spec["paths"]["/ed-fi/students/{id}"]
    trimmed = tmp_path / "resources-spec.json"
    trimmed.write_bytes(orjson.dumps(spec))
    settings = _settings(openapi_sandbox, tmp_path, resources_spec=str(trimmed))
    result = run_file(PROFILES / "pipeclean.toml", settings)
    assert result.error is not None
    assert "resource(s) cannot be built, before anything is sent" in result.error
    assert "StudentSchoolAssociation: StudentSchoolAssociation → Student (no resource" in (
        result.error
    )
    assert _data_documents(openapi_sandbox) == []
    assert openapi_sandbox.state.stats.count("POST /data/ed-fi/schools") == 0


def test_a_data_api_under_another_prefix_is_followed_from_discovery(
    openapi_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    settings = _settings(openapi_sandbox, tmp_path).model_copy(
        update={"dms_url": openapi_sandbox.base_url + "/api"}
    )
    path = _profile(tmp_path, 'resources = ["studentSchoolAssociations"]')
    result = run_file(path, settings)
    assert result.exit_code == ExitCode.OK, result.error
    assert result.data_api_url == openapi_sandbox.base_url + "/api/data"
    stats = openapi_sandbox.state.stats
    assert stats.count("GET /metadata/specifications/resources-spec.json") == 1
    assert stats.count("POST /data/ed-fi/studentSchoolAssociations") == 1
