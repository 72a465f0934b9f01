"""Generated documents: required fields, unique identities, limits, descriptors, changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dmsload.dms.data import RunData
from dmsload.dms.documents import DocumentFactory, MissingReference
from dmsload.dms.overrides import DocumentOverrides, Overrides
from dmsload.openapi.model import ApiModel, descriptor_paths
from dmsload.openapi.spec import read_spec

SPECS = Path(__file__).resolve().parents[3] / "config" / "openapi"


@pytest.fixture(scope="module")
def model() -> ApiModel:
    descriptors = descriptor_paths(read_spec(SPECS / "descriptors-spec.json.gz"))
    return ApiModel(read_spec(SPECS / "resources-spec.json.gz"), descriptors)


def _refs(model: ApiModel) -> Any:
    def lookup(target: str) -> dict[str, Any]:
        return {"ref": target}

    return lookup


def test_required_fields_only_with_unique_identities(model: ApiModel) -> None:
    factory = DocumentFactory(model)
    data = RunData(run_id="0000abcd").generator(3)
    student = model.resources["Student"]
    first = factory.document(student, data, _refs(model))
    second = factory.document(student, data, _refs(model))
    assert set(first) == set(student.schema["required"])
    assert first["studentUniqueId"] != second["studentUniqueId"]
    assert len(first["studentUniqueId"]) <= 32
    school = factory.document(model.resources["School"], data, _refs(model))
    assert school["gradeLevels"] == [
        {"gradeLevelDescriptor": "uri://ed-fi.org/GradeLevelDescriptor#dmsload"}
    ]
    assert school["schoolId"] >= 1_000_000_000


def test_short_identity_strings_fit_their_max_length(model: ApiModel) -> None:
    factory = DocumentFactory(model)
    data = RunData(run_id="0000abcd").generator(123456, stream="a-long-scenario-name.")
    codes = set()
    for resource in model.resources.values():
        for prop in model.properties(resource.schema):
            if prop.name == "code" and prop.is_identity:
                document = factory.document(resource, data, _refs(model))
                assert len(document["code"]) <= prop.schema["maxLength"]
                codes.add(document["code"])
    assert len(codes) >= 1


def test_fill_all_adds_optional_fields_and_the_namespace_is_a_setting(model: ApiModel) -> None:
    factory = DocumentFactory(model, fill="all", namespace="uri://state.example.org/")
    data = RunData(run_id="0000abcd").generator(1)
    school = factory.document(model.resources["School"], data, _refs(model))
    assert "webSite" in school and 5 <= len(school["webSite"]) <= 255
    assert school["localEducationAgencyReference"] == {"ref": "LocalEducationAgency"}
    assert school["gradeLevels"][0]["gradeLevelDescriptor"] == (
        "uri://state.example.org/GradeLevelDescriptor#dmsload"
    )
    path, body = factory.descriptor_document("GradeLevelDescriptor")
    assert path == "ed-fi/gradeLevelDescriptors"
    assert body["namespace"] == "uri://state.example.org/GradeLevelDescriptor"


def test_a_required_reference_without_a_document_raises(model: ApiModel) -> None:
    factory = DocumentFactory(model)
    data = RunData(run_id="0000abcd").generator(1)
    with pytest.raises(MissingReference, match="Student"):
        factory.document(
            model.resources["StudentSchoolAssociation"],
            data,
            lambda target: None if target == "Student" else {"schoolId": 1},
        )


def test_changed_keeps_the_identity_and_changes_one_field(model: ApiModel) -> None:
    factory = DocumentFactory(model)
    data = RunData(run_id="0000abcd").generator(1)
    student = model.resources["Student"]
    document = factory.document(student, data, _refs(model))
    changed = factory.changed(student, document)
    assert changed["studentUniqueId"] == document["studentUniqueId"]
    assert changed != document
    assert factory.changed(student, changed) != changed


def test_overrides_set_and_remove_nested_fields() -> None:
    overrides = DocumentOverrides(set={"a.b": 1, "c": [1]}, remove=["d", "e.f"])
    document = {"d": 1, "e": {"f": 2, "g": 3}, "c": [0]}
    assert overrides.apply(document) == {"e": {"g": 3}, "c": [1], "a": {"b": 1}}
    assert document == {"d": 1, "e": {"f": 2, "g": 3}, "c": [0]}  # a copy
    assert Overrides({"Schools": overrides}).apply("schools", {"d": 0})["a"] == {"b": 1}
    with pytest.raises(ValueError, match="'x' is both set and removed"):
        DocumentOverrides(set={"x": 1}, remove=["x"])


def test_override_problems_name_the_resource_and_field(model: ApiModel) -> None:
    overrides = Overrides(
        {
            "schools": DocumentOverrides(set={"gradeLevels": []}, remove=["addresses.city"]),
            "schoolz": DocumentOverrides(),
            "students": DocumentOverrides(remove=["nickName"]),
        }
    )
    assert overrides.problems(model) == [
        f"documents.schoolz: {model.source} has no resource 'schoolz'",
        "documents.students.remove: students has no field 'nickName'",
    ]
