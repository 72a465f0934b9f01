"""Unit tests for the pure pieces: schema compilation, query fields, references, JSON paths."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from dmsload.sandbox.faults import FaultError, FaultSettings
from dmsload.sandbox.jsonpath import JsonPathError, compile_path, values_with_paths
from dmsload.sandbox.schema import (
    SchemaError,
    derive_query_fields,
    load_api_schema,
    parse_api_schema,
)

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "config" / "performance-test-schema.json"


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(SCHEMA_FILE.read_bytes())
    return doc


def test_schema_file_shape(raw: dict[str, Any]) -> None:
    """The unified schema is a realistic single-project ApiSchema.json."""
    project = raw["projectSchema"]
    assert raw["apiSchemaVersion"] == "1.0.0"
    assert (project["projectName"], project["projectVersion"], project["projectEndpointName"]) == (
        "EdFi",
        "5.2.0",
        "ed-fi",
    )
    assert set(project["resourceSchemas"]) == {
        "schools",
        "students",
        "staffs",
        "studentSchoolAssociations",
        "staffEducationOrganizationAssignmentAssociations",
        "gradeLevelDescriptors",
        "educationOrganizationCategoryDescriptors",
        "staffClassificationDescriptors",
    }
    for key in (
        "resourceNameMapping",
        "caseInsensitiveEndpointNameMapping",
        "abstractResources",
        "educationOrganizationTypes",
        "educationOrganizationHierarchy",
    ):
        assert key in project
    for resource in project["resourceSchemas"].values():
        schema = resource["jsonSchemaForInsert"]
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["additionalProperties"] is False


def test_compiles_identities_and_references() -> None:
    """identityJsonPaths and documentPathsMapping compile into keys and references."""
    schema = load_api_schema(SCHEMA_FILE)
    ssa = schema.find("studentschoolassociations")
    assert ssa is not None and ssa.allow_identity_updates
    assert ssa.identity_texts == (
        "$.entryDate",
        "$.schoolReference.schoolId",
        "$.studentReference.studentUniqueId",
    )
    refs = {r.name: r for r in ssa.references}
    assert refs["School"].object_text == "$.schoolReference" and refs["School"].fields == (
        "schoolId",
    )
    assert refs["Student"].fields == ("studentUniqueId",)
    assert [d.text for d in ssa.descriptor_paths] == ["$.entryGradeLevelDescriptor"]
    body = {
        "entryDate": "2024-08-20",
        "schoolReference": {"schoolId": 255901.0},
        "studentReference": {"studentUniqueId": "S1"},
    }
    assert ssa.identity_of(body) == ("2024-08-20", 255901, "S1")
    assert list(refs["School"].keys_in(body)) == [(255901,)]


def test_abstract_reference_and_subclass() -> None:
    """EducationOrganization is abstract; School is its subclass; SEOAA refers to it."""
    schema = load_api_schema(SCHEMA_FILE)
    assert [r.resource_name for r in schema.concrete("EducationOrganization")] == ["School"]
    school = schema.find("schools")
    assert school is not None and school.superclass_resource_name == "EducationOrganization"
    seoaa = schema.find("staffEducationOrganizationAssignmentAssociations")
    assert seoaa is not None
    ref = next(r for r in seoaa.references if r.resource_name == "EducationOrganization")
    assert ref.fields == ("educationOrganizationId",)
    assert seoaa.identity_is_descriptor == (False, False, True, False)
    key = seoaa.identity_of(
        {
            "beginDate": "2024-01-01",
            "educationOrganizationReference": {"educationOrganizationId": 1},
            "staffClassificationDescriptor": "URI://X#Teacher",
            "staffReference": {"staffUniqueId": "T"},
        }
    )
    assert key == ("2024-01-01", 1, "uri://x#teacher", "T")


def test_descriptor_identity_is_lowercased_uri() -> None:
    """§8 a descriptor's natural key is its lower-cased namespace#codeValue."""
    schema = load_api_schema(SCHEMA_FILE)
    grade = schema.find("gradeLevelDescriptors")
    assert grade is not None and grade.is_descriptor
    assert grade.identity_of(
        {"namespace": "uri://ed-fi.org/GradeLevelDescriptor", "codeValue": "Ninth grade"}
    ) == ("uri://ed-fi.org/gradeleveldescriptor#ninth grade",)


def test_derived_query_fields_match_the_explicit_mapping(raw: dict[str, Any]) -> None:
    """Deriving queryFieldMapping from documentPathsMapping reproduces the schema's own mapping."""
    for endpoint, resource in raw["projectSchema"]["resourceSchemas"].items():
        derived = derive_query_fields(resource["documentPathsMapping"])
        assert derived == resource["queryFieldMapping"], endpoint


def test_query_fields_derived_when_mapping_absent(raw: dict[str, Any]) -> None:
    """Without queryFieldMapping the compiled resource still has the derived query fields."""
    doc = copy.deepcopy(raw)
    del doc["projectSchema"]["resourceSchemas"]["studentSchoolAssociations"]["queryFieldMapping"]
    ssa = parse_api_schema(doc).find("studentSchoolAssociations")
    assert ssa is not None
    assert ssa.query_fields["schoolid"].path_texts == ("$.schoolReference.schoolId",)
    assert ssa.query_fields["schoolid"].type == "number"
    assert ssa.query_fields["entrygradeleveldescriptor"].type == "string"
    school = parse_api_schema(doc).find("schools")
    assert (
        school is not None and "gradeleveldescriptor" not in school.query_fields
    )  # inside an array


def test_prune_drops_unknown_and_coerces() -> None:
    """§5 unknown properties are dropped at every level; numeric and boolean strings coerced."""
    schema = load_api_schema(SCHEMA_FILE)
    school = schema.find("schools")
    assert school is not None
    pruned = school.prune(
        {
            "schoolId": "255901",
            "extra": 1,
            "gradeLevels": [{"gradeLevelDescriptor": "x", "link": {}}],
        }
    )
    assert pruned == {"schoolId": 255901, "gradeLevels": [{"gradeLevelDescriptor": "x"}]}
    staff = schema.find("staffs")
    assert staff is not None
    assert staff.prune({"hispanicLatinoEthnicity": "True"}) == {"hispanicLatinoEthnicity": True}


def test_validation_messages_are_dms_paths() -> None:
    """jsonschema errors map to `$.path` keys with DMS-style messages."""
    schema = load_api_schema(SCHEMA_FILE)
    student = schema.find("students")
    assert student is not None
    errors = student.validation_errors(
        {"studentUniqueId": "S", "firstName": " ", "lastSurname": "B"}
    )
    assert errors["$.birthDate"] == ["birthDate is required."]
    assert errors["$.firstName"] == ["firstName is required and should not be left empty."]


def test_schema_errors_name_the_key(raw: dict[str, Any]) -> None:
    """A broken schema fails at load with a message naming the key."""
    doc = copy.deepcopy(raw)
    del doc["projectSchema"]["resourceSchemas"]["students"]["identityJsonPaths"]
    with pytest.raises(
        SchemaError, match=r"resourceSchemas\.students: missing required key 'identityJsonPaths'"
    ):
        parse_api_schema(doc)
    doc = copy.deepcopy(raw)
    ssa = doc["projectSchema"]["resourceSchemas"]["studentSchoolAssociations"]
    ssa["documentPathsMapping"]["School"]["resourceName"] = "Nowhere"
    with pytest.raises(SchemaError, match="Nowhere"):
        parse_api_schema(doc)


def test_jsonpath_subset() -> None:
    """The JSONPath subset: `$.a[*].b`, concrete paths for error keys; anything else refused."""
    assert compile_path("$.a[*].b") == ("a", None, "b")
    doc = {"a": [{"b": 1}, {"c": 2}, {"b": 3}]}
    assert list(values_with_paths(doc, compile_path("$.a[*].b"))) == [
        ("$.a[0].b", 1),
        ("$.a[2].b", 3),
    ]
    with pytest.raises(JsonPathError):
        compile_path("$.a[0]")


def test_fault_settings_validation() -> None:
    """Fault settings report every problem; p50/p99 come together."""
    assert FaultSettings().merged({"latency_p50_ms": 10, "latency_p99_ms": 50}).latency_p99_ms == 50
    with pytest.raises(FaultError, match="error_rate"):
        FaultSettings().merged({"error_rate": 1.5})
    with pytest.raises(FaultError, match="unknown"):
        FaultSettings().merged({"bogus": 1})
