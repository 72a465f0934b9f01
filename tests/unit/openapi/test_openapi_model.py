"""The OpenAPI model of the DMS specification: identities, references, abstracts, order."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmsload.openapi.model import ApiModel, descriptor_paths
from dmsload.openapi.spec import SpecError, parse_spec, read_spec

SPECS = Path(__file__).resolve().parents[3] / "config" / "openapi"


@pytest.fixture(scope="module")
def model() -> ApiModel:
    descriptors = descriptor_paths(read_spec(SPECS / "descriptors-spec.json.gz"))
    return ApiModel(read_spec(SPECS / "resources-spec.json.gz"), descriptors)


def _identity(model: ApiModel, name: str) -> dict[str, list[str]]:
    return {leaf.name: [".".join(p) for p in leaf.paths] for leaf in model.resources[name].identity}


def test_every_resource_is_loaded_and_every_identity_matches_its_reference(
    model: ApiModel,
) -> None:
    assert len(model.resources) == 153
    assert len(model.descriptor_names) == 229
    assert model.problems == {}
    assert model.find("tpdm/candidates") is model.resources["Candidate"]
    assert model.find("SCHOOLS") is model.resources["School"]


def test_role_named_and_unified_identity_values(model: ApiModel) -> None:
    transcript = _identity(model, "CourseTranscript")
    assert transcript["courseEducationOrganizationId"] == [
        "courseReference.educationOrganizationId"
    ]
    assert transcript["educationOrganizationId"] == [
        "studentAcademicRecordReference.educationOrganizationId"
    ]
    peers = _identity(model, "EducationOrganizationPeerAssociation")
    assert peers["peerEducationOrganizationId"] == [
        "peerEducationOrganizationReference.educationOrganizationId"
    ]
    # one value on two paths: a CourseOffering's school is its session's school
    assert _identity(model, "CourseOffering")["schoolId"] == [
        "schoolReference.schoolId",
        "sessionReference.schoolId",
    ]


def test_abstract_references_resolve_to_their_subclasses(model: ApiModel) -> None:
    education_organization = model.abstracts["EducationOrganization"]
    assert education_organization.subclasses[0] == "School"
    assert "LocalEducationAgency" in education_organization.subclasses
    assert (
        "StudentProgramAssociation"
        in model.abstracts["GeneralStudentProgramAssociation"].subclasses
    )
    school = model.resources["School"]
    assert model.reference_object("EducationOrganization", school, {"schoolId": 7}) == {
        "educationOrganizationId": 7
    }
    assert model.kind_of("SchoolYearType") == "enumeration"


def test_descriptor_types_of_role_named_properties(model: ApiModel) -> None:
    assert model.descriptor_type("entryGradeLevelDescriptor") == "GradeLevelDescriptor"
    assert model.descriptor_type("gradeLevelDescriptor") == "GradeLevelDescriptor"
    assert model.descriptor_type("birthCountryDescriptor") == "CountryDescriptor"
    assert model.descriptor_type("entryTypeDescriptor") == "EntryTypeDescriptor"


def test_load_order_puts_every_parent_first(model: ApiModel) -> None:
    order = [r.name for r in model.load_order()]
    assert len(order) == 153
    position = {name: i for i, name in enumerate(order)}
    for resource in model.resources.values():
        for parent in model.dependencies(resource):
            assert position[parent] < position[resource.name], (parent, resource.name)
    assert max(model.depth().values()) >= 5


def test_a_document_that_is_not_openapi_is_refused() -> None:
    with pytest.raises(SpecError, match="not an OpenAPI 3 document"):
        parse_spec(b'{"projectSchema": {}}', "x.json")
    with pytest.raises(SpecError, match=r"x\.json: not valid JSON"):
        parse_spec(b"{", "x.json")


def test_a_reference_no_resource_can_meet_is_named_with_its_chain() -> None:
    from dmsload.dms.workloads.any_resource import missing_chain

    spec = read_spec(SPECS / "resources-spec.json.gz")
    del spec["paths"]["/ed-fi/students"], spec["paths"]["/ed-fi/students/{id}"]
    trimmed = ApiModel(spec)
    association = trimmed.resources["StudentSchoolAssociation"]
    assert missing_chain(trimmed, association) == [
        "StudentSchoolAssociation",
        "Student (no resource of the specification is one)",
    ]
    grade = trimmed.resources["Grade"]  # two levels down: its enrollment in a section
    chain = missing_chain(trimmed, grade)
    assert chain is not None and chain[0] == "Grade" and chain[-1].startswith("Student (")
    assert missing_chain(trimmed, trimmed.resources["School"]) is None
