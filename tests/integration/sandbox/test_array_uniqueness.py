"""Contract §5 pipeline step 9 and §10 `arrayUniquenessConstraints`: duplicate array items."""

from __future__ import annotations

import httpx

from .conftest import CATEGORY, GRADE, assert_problem, school

DV = "urn:ed-fi:api:bad-request:data-validation-failed"
OTHER_GRADE = "uri://ed-fi.org/GradeLevelDescriptor#Tenth grade"


def test_s10_duplicate_array_item_400(client: httpx.Client, auth: dict[str, str]) -> None:
    """§6/§10 a repeated gradeLevels item: 400 data-validation-failed keyed by the array path."""
    body = school(
        255950,
        gradeLevels=[
            {"gradeLevelDescriptor": GRADE},
            {"gradeLevelDescriptor": OTHER_GRADE},
            {"gradeLevelDescriptor": GRADE},
            {"gradeLevelDescriptor": OTHER_GRADE},
        ],
    )
    r = client.post("/data/ed-fi/schools", json=body, headers=auth)
    problem = assert_problem(r, 400, DV, "Data Validation Failed")
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["detail"] == "Data validation failed. See 'validationErrors' for details."
    assert problem["validationErrors"] == {
        "$.gradeLevels": [
            "The 3rd item of the gradeLevels has the same identifying values as another item "
            "earlier in the list.",
            "The 4th item of the gradeLevels has the same identifying values as another item "
            "earlier in the list.",
        ]
    }
    assert client.get("/data/ed-fi/schools", params={"schoolId": 255950}, headers=auth).json() == []


def test_s10_each_constraint_reported(client: httpx.Client, auth: dict[str, str]) -> None:
    """§10 both constraints of School are checked: categories and grade levels, one key each."""
    body = school(
        255951,
        educationOrganizationCategories=[
            {"educationOrganizationCategoryDescriptor": CATEGORY},
            {"educationOrganizationCategoryDescriptor": CATEGORY},
        ],
        gradeLevels=[{"gradeLevelDescriptor": GRADE}, {"gradeLevelDescriptor": GRADE}],
    )
    r = client.post("/data/ed-fi/schools", json=body, headers=auth)
    errors = assert_problem(r, 400, DV, "Data Validation Failed")["validationErrors"]
    assert set(errors) == {"$.educationOrganizationCategories", "$.gradeLevels"}
    assert errors["$.gradeLevels"] == [
        "The 2nd item of the gradeLevels has the same identifying values as another item "
        "earlier in the list."
    ]


def test_s10_distinct_items_accepted_and_put_checked(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    """§5 distinct items pass; PUT bodies are checked the same way as POST bodies."""
    grades = [{"gradeLevelDescriptor": GRADE}, {"gradeLevelDescriptor": OTHER_GRADE}]
    r = client.post("/data/ed-fi/schools", json=school(255952, gradeLevels=grades), headers=auth)
    assert r.status_code == 201, r.text
    doc_id = r.headers["location"].rsplit("/", 1)[1]
    duplicated = {**school(255952, gradeLevels=[grades[0], grades[0]]), "id": doc_id}
    r = client.put(r.headers["location"], json=duplicated, headers=auth)
    assert assert_problem(r, 400, DV, "Data Validation Failed")["validationErrors"] == {
        "$.gradeLevels": [
            "The 2nd item of the gradeLevels has the same identifying values as another item "
            "earlier in the list."
        ]
    }
