"""Contract §5-§8: data CRUD, queries, ETags, references, descriptors and error bodies."""

from __future__ import annotations

import uuid

import httpx
import pytest

from dmsload.sandbox.testing import SandboxHandle

from .conftest import CATEGORY, GRADE, TEACHER, assert_problem, school, ssa, staff, student

DV = "urn:ed-fi:api:bad-request:data-validation-failed"


def post(client: httpx.Client, auth: dict[str, str], ep: str, body: object) -> httpx.Response:
    return client.post(f"/data/ed-fi/{ep}", json=body, headers=auth)


@pytest.fixture(autouse=True)
def _school(client: httpx.Client, auth: dict[str, str]) -> None:
    assert post(client, auth, "schools", school()).status_code in (200, 201)


def test_s5_post_insert_then_upsert(
    client: httpx.Client, auth: dict[str, str], sandbox: SandboxHandle
) -> None:
    """§5 POST upsert: 201 on insert, 200 on the same natural key; empty body, Location, ETag."""
    sid = f"U{uuid.uuid4().hex[:8]}"
    first = post(client, auth, "students", student(sid))
    assert first.status_code == 201 and first.content == b""
    location = first.headers["location"]
    assert location.startswith(f"{sandbox.base_url}/data/ed-fi/students/")
    assert first.headers["etag"].startswith('"')
    second = post(client, auth, "students", student(sid, firstName="Augusta"))
    assert second.status_code == 200 and second.content == b""
    assert second.headers["location"] == location
    assert second.headers["etag"] != first.headers["etag"]


def test_s5_location_keeps_path_base(
    client: httpx.Client, auth: dict[str, str], sandbox: SandboxHandle
) -> None:
    """§1/§5 Location includes /api when the request used /api."""
    r = client.post("/api/data/ed-fi/students", json=student("PB1"), headers=auth)
    assert r.headers["location"].startswith(f"{sandbox.base_url}/api/data/ed-fi/students/")


def test_s5_get_by_id_body_and_link(client: httpx.Client, auth: dict[str, str]) -> None:
    """§5 GET by id: id, _etag, _lastModifiedDate, and a link on each document reference."""
    post(client, auth, "students", student("L1"))
    r = post(client, auth, "studentSchoolAssociations", ssa("L1"))
    assert r.status_code in (200, 201)
    got = client.get(r.headers["location"], headers=auth)
    assert got.status_code == 200
    body = got.json()
    assert body["id"] == r.headers["location"].rsplit("/", 1)[1]
    assert got.headers["etag"] == f'"{body["_etag"]}"'
    assert len(body["_lastModifiedDate"]) == 20 and body["_lastModifiedDate"].endswith("Z")
    assert body["schoolReference"]["link"]["rel"] == "School"
    assert body["schoolReference"]["link"]["href"].startswith("/ed-fi/schools/")
    assert body["studentReference"]["link"]["rel"] == "Student"


def test_s5_if_none_match_304(client: httpx.Client, auth: dict[str, str]) -> None:
    """§5 GET by id with a matching If-None-Match: 304."""
    location = post(client, auth, "students", student("INM1")).headers["location"]
    etag = client.get(location, headers=auth).headers["etag"]
    r = client.get(location, headers={**auth, "If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""


def test_s5_get_missing_id_404_empty(client: httpx.Client, auth: dict[str, str]) -> None:
    """§5/§6 GET and DELETE of a missing id: 404 with an empty body."""
    missing = f"/data/ed-fi/students/{uuid.uuid4()}"
    for r in (client.get(missing, headers=auth), client.delete(missing, headers=auth)):
        assert r.status_code == 404 and r.content == b""


def test_s2_malformed_id_400(client: httpx.Client, auth: dict[str, str]) -> None:
    """§2 a malformed id: 400 with validationErrors {"$.id": [...]}."""
    r = client.get("/data/ed-fi/students/not-a-uuid", headers=auth)
    assert r.status_code == 400
    assert r.json()["validationErrors"] == {"$.id": ["The value 'not-a-uuid' is not valid."]}


def test_s2_unknown_resource_404_and_case_insensitive_endpoint(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    """§2 unknown resource 404; endpoint names match case-insensitively."""
    assert client.get("/data/ed-fi/nothings", headers=auth).status_code == 404
    assert client.get("/data/ed-fi/STUDENTS", headers=auth).status_code == 200


def test_s7_collection_paging_and_total_count(client: httpx.Client, auth: dict[str, str]) -> None:
    """§7 limit/offset in insert order; Total-Count only with totalCount=true."""
    ids = [f"P{i:03d}" for i in range(5)]
    for sid in ids:
        post(client, auth, "students", student(sid, lastSurname="Paging"))
    r = client.get("/data/ed-fi/students", params={"lastSurname": "Paging"}, headers=auth)
    assert r.status_code == 200 and "total-count" not in r.headers
    assert [d["studentUniqueId"] for d in r.json()] == ids
    r = client.get(
        "/data/ed-fi/students",
        params={"lastSurname": "Paging", "limit": 2, "offset": 1, "totalCount": "true"},
        headers=auth,
    )
    assert [d["studentUniqueId"] for d in r.json()] == ids[1:3]
    assert r.headers["total-count"] == "5"


def test_s7_limit_above_500_400(client: httpx.Client, auth: dict[str, str]) -> None:
    """§7 limit must be 0..500: 501 gives 400 parameter-validation-failed."""
    r = client.get("/data/ed-fi/students", params={"limit": 501}, headers=auth)
    body = assert_problem(
        r,
        400,
        "urn:ed-fi:api:bad-request:parameter-validation-failed",
        "Parameter Validation Failed",
    )
    assert body["errors"] == ["Limit must be omitted or set to a numeric value between 0 and 500."]
    assert (
        client.get("/data/ed-fi/students", params={"offset": -1}, headers=auth).status_code == 400
    )
    assert (
        client.get("/data/ed-fi/students", params={"totalCount": "maybe"}, headers=auth).status_code
        == 400
    )


def test_s7_default_page_size_is_500(
    client: httpx.Client, auth: dict[str, str], sandbox: SandboxHandle
) -> None:
    """§7 without limit the page size is MaximumPageSize (500)."""
    resource = sandbox.state.schema.find("gradeLevelDescriptors")
    assert resource is not None
    r = client.get("/data/ed-fi/gradeLevelDescriptors", headers=auth)
    assert len(r.json()) == sandbox.state.store.count(resource) <= 500


def test_s7_filters_case_insensitive_names(client: httpx.Client, auth: dict[str, str]) -> None:
    """§7 filter names match case-insensitively; references flattened; descriptors by URI."""
    post(client, auth, "students", student("F1"))
    post(client, auth, "studentSchoolAssociations", ssa("F1", entry="2024-09-01"))
    r = client.get("/data/ed-fi/students", params={"STUDENTUNIQUEID": "F1"}, headers=auth)
    assert [d["studentUniqueId"] for d in r.json()] == ["F1"]
    r = client.get(
        "/data/ed-fi/studentSchoolAssociations",
        params={
            "schoolId": "255901",
            "studentUniqueId": "F1",
            "entryGradeLevelDescriptor": GRADE.upper(),
        },
        headers=auth,
    )
    assert len(r.json()) == 1 and r.json()[0]["entryDate"] == "2024-09-01"
    r = client.get("/data/ed-fi/students", params={"id": r.json()[0]["id"]}, headers=auth)
    assert r.json() == []


def test_s7_unknown_filter_400(client: httpx.Client, auth: dict[str, str]) -> None:
    """§7 an unknown query field: 400 bad-request naming the field."""
    r = client.get("/data/ed-fi/students", params={"shoeSize": "9"}, headers=auth)
    body = assert_problem(r, 400, "urn:ed-fi:api:bad-request", "Bad Request")
    assert body["errors"] == ["The query field 'shoeSize' is not valid for this resource."]


def test_s7_filter_value_type_checked(client: httpx.Client, auth: dict[str, str]) -> None:
    """§7 filter values are type-checked: schoolId=abc is 400 data-validation-failed."""
    r = client.get("/data/ed-fi/schools", params={"schoolId": "abc"}, headers=auth)
    body = assert_problem(r, 400, DV, "Data Validation Failed")
    assert body["validationErrors"] == {
        "$.schoolId": ["The value 'abc' is not valid for schoolId."]
    }


def test_s5_put_204_and_id_rules(client: httpx.Client, auth: dict[str, str]) -> None:
    """§5 PUT: 204 with ETag; the body id must match the URL id."""
    location = post(client, auth, "students", student("PUT1")).headers["location"]
    doc_id = location.rsplit("/", 1)[1]
    r = client.put(
        location, json={**student("PUT1", firstName="Changed"), "id": doc_id}, headers=auth
    )
    assert r.status_code == 204 and r.content == b"" and r.headers["etag"]
    assert client.get(location, headers=auth).json()["firstName"] == "Changed"
    r = client.put(location, json={**student("PUT1"), "id": str(uuid.uuid4())}, headers=auth)
    body = assert_problem(r, 400, "urn:ed-fi:api:bad-request", "Bad Request")
    assert body["errors"] == ["Request body id must match the id in the url."]


def test_s5_put_missing_404(client: httpx.Client, auth: dict[str, str]) -> None:
    """§5/§6 PUT on a missing id: 404 problem (not an empty body)."""
    missing = str(uuid.uuid4())
    r = client.put(
        f"/data/ed-fi/students/{missing}", json={**student("X"), "id": missing}, headers=auth
    )
    assert_problem(r, 404, "urn:ed-fi:api:not-found", "Not Found")


def test_s5_put_identity_change_rejected(client: httpx.Client, auth: dict[str, str]) -> None:
    """§5 identity changes: 400 key-change-not-supported when allowIdentityUpdates=false."""
    location = post(client, auth, "students", student("KEY1")).headers["location"]
    doc_id = location.rsplit("/", 1)[1]
    r = client.put(location, json={**student("KEY2"), "id": doc_id}, headers=auth)
    body = assert_problem(
        r,
        400,
        "urn:ed-fi:api:bad-request:data-validation-failed:key-change-not-supported",
        "Key Change Not Supported",
    )
    assert "Identifying values for the Student resource cannot be changed" in body["detail"]


def test_s5_put_identity_change_allowed(
    client: httpx.Client, auth: dict[str, str], sandbox: SandboxHandle
) -> None:
    """§5 StudentSchoolAssociation has allowIdentityUpdates=true: entryDate may change."""
    post(client, auth, "students", student("IU1"))
    location = post(
        client, auth, "studentSchoolAssociations", ssa("IU1", entry="2024-01-01")
    ).headers["location"]
    doc_id = location.rsplit("/", 1)[1]
    r = client.put(location, json={**ssa("IU1", entry="2024-02-02"), "id": doc_id}, headers=auth)
    assert r.status_code == 204
    again = post(client, auth, "studentSchoolAssociations", ssa("IU1", entry="2024-02-02"))
    assert again.status_code == 200 and again.headers["location"] == location


def test_s5_delete_204_and_409_when_referenced(client: httpx.Client, auth: dict[str, str]) -> None:
    """§5 DELETE: 409 dependent-item-exists while referenced, then 204."""
    s_loc = post(client, auth, "students", student("D1")).headers["location"]
    a_loc = post(client, auth, "studentSchoolAssociations", ssa("D1")).headers["location"]
    r = client.delete(s_loc, headers=auth)
    body = assert_problem(
        r, 409, "urn:ed-fi:api:data-conflict:dependent-item-exists", "Dependent Item Exists"
    )
    assert "StudentSchoolAssociation" in body["detail"]
    assert client.delete(a_loc, headers=auth).status_code == 204
    r = client.delete(s_loc, headers=auth)
    assert r.status_code == 204 and r.content == b""
    assert client.get(s_loc, headers=auth).status_code == 404


def test_s5_if_match_412(client: httpx.Client, auth: dict[str, str]) -> None:
    """§5 If-Match: a stale ETag gives 412 optimistic-lock-failed; the current one succeeds."""
    location = post(client, auth, "students", student("IM1")).headers["location"]
    doc_id = location.rsplit("/", 1)[1]
    etag = client.get(location, headers=auth).headers["etag"]
    body = {**student("IM1"), "id": doc_id}
    assert client.put(location, json=body, headers={**auth, "If-Match": etag}).status_code == 204
    r = client.put(location, json=body, headers={**auth, "If-Match": etag})
    assert_problem(r, 412, "urn:ed-fi:api:optimistic-lock-failed", "Optimistic Lock Failed")
    assert client.delete(location, headers={**auth, "If-Match": etag}).status_code == 412
    other = str(uuid.uuid4())
    r = client.put(
        f"/data/ed-fi/students/{other}",
        json={**body, "id": other},
        headers={**auth, "If-Match": etag},
    )
    assert r.status_code == 412


@pytest.mark.parametrize("method", ["HEAD", "PATCH"])
def test_s2_head_patch_405(client: httpx.Client, auth: dict[str, str], method: str) -> None:
    """§2 HEAD and PATCH on /data: 405."""
    r = client.request(method, "/data/ed-fi/students", headers=auth)
    assert r.status_code == 405
    if method == "PATCH":
        assert_problem(r, 405, "urn:ed-fi:api:method-not-allowed", "Method Not Allowed")


def test_s6_bad_body_400(client: httpx.Client, auth: dict[str, str]) -> None:
    """§6 JSON schema failure: 400 data-validation-failed with per-path messages."""
    r = post(
        client, auth, "students", {"firstName": "A", "lastSurname": "B", "birthDate": "2010-01-01"}
    )
    body = assert_problem(r, 400, DV, "Data Validation Failed")
    assert body["validationErrors"] == {"$.studentUniqueId": ["studentUniqueId is required."]}
    r = post(client, auth, "students", student("", firstName="A"))
    assert "$.studentUniqueId" in r.json()["validationErrors"]


def test_s5_empty_and_non_json_bodies(client: httpx.Client, auth: dict[str, str]) -> None:
    """§5 an empty body: 400 "A non-empty request body is required."; malformed JSON: 400."""
    r = client.post(
        "/data/ed-fi/students", content=b"", headers={**auth, "Content-Type": "application/json"}
    )
    assert (
        assert_problem(r, 400, DV, "Data Validation Failed")["detail"]
        == "A non-empty request body is required."
    )
    r = client.post(
        "/data/ed-fi/students",
        content=b"{nope",
        headers={**auth, "Content-Type": "application/json"},
    )
    assert_problem(r, 400, DV, "Data Validation Failed")


def test_s5_unknown_properties_dropped(client: httpx.Client, auth: dict[str, str]) -> None:
    """§5 unknown or miscased properties are dropped, not rejected; "100"-style strings coerced."""
    r = post(client, auth, "students", {**student("DROP1"), "shoeSize": 9, "FirstName": "x"})
    assert r.status_code == 201
    body = client.get(r.headers["location"], headers=auth).json()
    assert "shoeSize" not in body and "FirstName" not in body
    r = post(client, auth, "schools", school(255902, schoolId="255902"))
    assert r.status_code in (200, 201)
    assert client.get(r.headers["location"], headers=auth).json()["schoolId"] == 255902


def test_s8_missing_descriptor_400(client: httpx.Client, auth: dict[str, str]) -> None:
    """§8 an unresolved descriptor: 400 data-validation-failed, lower-cased URI in the message."""
    post(client, auth, "students", student("DESC1"))
    body = {
        **ssa("DESC1"),
        "entryGradeLevelDescriptor": "uri://ed-fi.org/GradeLevelDescriptor#Fake",
    }
    r = post(client, auth, "studentSchoolAssociations", body)
    problem = assert_problem(r, 400, DV, "Data Validation Failed")
    assert problem["validationErrors"] == {
        "$.entryGradeLevelDescriptor": [
            "GradeLevelDescriptor value 'uri://ed-fi.org/gradeleveldescriptor#fake' does not exist."
        ]
    }


def test_s8_descriptor_match_case_insensitive(client: httpx.Client, auth: dict[str, str]) -> None:
    """§8 descriptor values match case-insensitively."""
    post(client, auth, "students", student("DESC2"))
    body = {**ssa("DESC2"), "entryGradeLevelDescriptor": GRADE.upper()}
    assert post(client, auth, "studentSchoolAssociations", body).status_code == 201


def test_s8_descriptor_post_upsert(client: httpx.Client, auth: dict[str, str]) -> None:
    """§8 descriptors are ordinary resources; POST of an existing namespace#codeValue is a 200."""
    body = {
        "namespace": "uri://ed-fi.org/GradeLevelDescriptor",
        "codeValue": "Ninth grade",
        "shortDescription": "9th",
    }
    assert post(client, auth, "gradeLevelDescriptors", body).status_code == 200


def test_s6_missing_reference_409(client: httpx.Client, auth: dict[str, str]) -> None:
    """§6 an unresolved document reference: 409 unresolved-reference."""
    r = post(client, auth, "studentSchoolAssociations", ssa("NOBODY"))
    body = assert_problem(
        r, 409, "urn:ed-fi:api:data-conflict:unresolved-reference", "Unresolved Reference"
    )
    assert body["validationErrors"] == {
        "$.studentReference": ["The referenced Student item does not exist."]
    }


def test_s5_abstract_reference_resolves_to_school(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    """§10 educationOrganizationReference (abstract EducationOrganization) resolves to a School."""
    post(client, auth, "staffs", staff("T1"))
    body = {
        "staffReference": {"staffUniqueId": "T1"},
        "educationOrganizationReference": {"educationOrganizationId": 255901},
        "beginDate": "2024-08-01",
        "staffClassificationDescriptor": TEACHER,
        "positionTitle": "Math Teacher",
    }
    r = post(client, auth, "staffEducationOrganizationAssignmentAssociations", body)
    assert r.status_code == 201
    got = client.get(r.headers["location"], headers=auth).json()
    assert got["educationOrganizationReference"]["link"]["rel"] == "School"
    bad = {**body, "educationOrganizationReference": {"educationOrganizationId": 1}}
    r = post(client, auth, "staffEducationOrganizationAssignmentAssociations", bad)
    assert r.status_code == 409
    assert r.json()["validationErrors"] == {
        "$.educationOrganizationReference": [
            "The referenced EducationOrganization item does not exist."
        ]
    }


def test_s5_unsupported_content_type_415(client: httpx.Client, auth: dict[str, str]) -> None:
    """§5/§6 an unsupported Content-Type: 415 unsupported-media-type."""
    r = client.post(
        "/data/ed-fi/students", content=b"<x/>", headers={**auth, "Content-Type": "application/xml"}
    )
    assert_problem(r, 415, "urn:ed-fi:api:unsupported-media-type", "Unsupported Media Type")


def test_s5_post_with_id_400(client: httpx.Client, auth: dict[str, str]) -> None:
    """§5 a POST body that carries id: 400 "Resource identifiers cannot be assigned..."."""
    r = post(client, auth, "students", {**student("ID1"), "id": str(uuid.uuid4())})
    body = assert_problem(r, 400, DV, "Data Validation Failed")
    assert body["errors"][0].startswith("Resource identifiers cannot be assigned by the client.")


def test_s12_correlation_id_header(client: httpx.Client, auth: dict[str, str]) -> None:
    """§12 the correlationid header value shows up as correlationId in error bodies."""
    r = client.get(
        "/data/ed-fi/students", params={"nope": 1}, headers={**auth, "correlationid": "abc-123"}
    )
    assert r.json()["correlationId"] == "abc-123"


def test_s1_change_query_placeholders(client: httpx.Client, auth: dict[str, str]) -> None:
    """§2 /deletes and /keyChanges return [] (placeholders at HEAD)."""
    assert client.get("/data/ed-fi/students/deletes", headers=auth).json() == []
    assert client.get("/data/ed-fi/students/keyChanges", headers=auth).json() == []


def test_category_descriptor_seeded(client: httpx.Client, auth: dict[str, str]) -> None:
    """--seed-descriptors loads the three descriptor sets (§8 values exist)."""
    for ep, value in (
        ("educationOrganizationCategoryDescriptors", CATEGORY),
        ("staffClassificationDescriptors", TEACHER),
        ("gradeLevelDescriptors", GRADE),
    ):
        namespace, code = value.split("#")
        r = client.get(
            f"/data/ed-fi/{ep}", params={"namespace": namespace, "codeValue": code}, headers=auth
        )
        assert len(r.json()) == 1, ep
