"""Contract §2 `POST /oauth/token_info` (Bearer; discovery `urls.tokenInfo`)."""

from __future__ import annotations

import time

import httpx

from dmsload.sandbox.config import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET
from dmsload.sandbox.testing import SandboxHandle

from .conftest import assert_problem, get_token, school


def test_s2_discovery_token_info_url(client: httpx.Client, sandbox: SandboxHandle) -> None:
    """§2 discovery urls.tokenInfo points at a route that answers POST."""
    url = client.get("/").json()["urls"]["tokenInfo"]
    assert url == f"{sandbox.base_url}/oauth/token_info"
    token = get_token(client)
    r = client.post(url, data={"token": token}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200


def test_s2_token_info_describes_token(client: httpx.Client) -> None:
    """§2/§3.1 form `token`: active, client_id, exp, claim_set (the scope), resources."""
    token = get_token(client)
    before = int(time.time())
    r = client.post(
        "/oauth/token_info", data={"token": token}, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {
        "active",
        "client_id",
        "exp",
        "namespace_prefixes",
        "education_organizations",
        "assigned_profiles",
        "claim_set",
        "resources",
        "services",
    }
    assert body["active"] is True and body["client_id"] == "minimalKey"
    assert before + 1790 <= body["exp"] <= before + 1801
    assert body["claim_set"] == {"name": "E2E-NoFurtherAuthRequiredClaimSet"}
    assert body["namespace_prefixes"] == ["uri://ed-fi.org"]
    resources = {x["resource"]: x["operations"] for x in body["resources"]}
    assert resources["/ed-fi/students"] == ["Create", "Read", "Update", "Delete", "ReadChanges"]
    assert "/ed-fi/gradeLevelDescriptors" in resources


def test_s2_token_info_json_body_and_education_organizations(client: httpx.Client) -> None:
    """§2 a JSON body works too; education organizations come from the application."""
    admin = get_token(client, ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET)
    cms = {"Authorization": f"Bearer {admin}"}
    vendor = client.post(
        "/v3/vendors", json={"company": "TI", "namespacePrefixes": "uri://ed-fi.org"}, headers=cms
    )
    app = client.post(
        "/v3/applications",
        json={
            "applicationName": "ti",
            "vendorId": int(vendor.headers["location"].rsplit("/", 1)[1]),
            "claimSetName": "SeedLoader",
            "educationOrganizationIds": [255901, 7],
            "dataStoreIds": [1],
        },
        headers=cms,
    ).json()
    token = get_token(client, app["key"], app["secret"])
    auth = {"Authorization": f"Bearer {token}"}
    assert client.post("/data/ed-fi/schools", json=school(), headers=auth).status_code in (200, 201)
    r = client.post("/oauth/token_info", json={"token": token}, headers=auth)
    body = r.json()
    assert body["client_id"] == app["key"] and body["claim_set"] == {"name": "SeedLoader"}
    assert body["education_organizations"] == [
        {
            "education_organization_id": 255901,
            "name_of_institution": "School 255901",
            "type": "edfi.School",
            "local_education_agency_id": None,
            "education_service_center_id": None,
        },
        {
            "education_organization_id": 7,
            "name_of_institution": None,
            "type": None,
            "local_education_agency_id": None,
            "education_service_center_id": None,
        },
    ]


def test_s2_token_info_errors(client: httpx.Client) -> None:
    """§2/§3.1 no bearer: 401 invalid_token; no `token`: 400; an unknown token: active false."""
    token = get_token(client)
    r = client.post("/oauth/token_info", data={"token": token})
    assert_problem(r, 401, "urn:ed-fi:api:security:authentication", "Authentication Failed")
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    auth = {"Authorization": f"Bearer {token}"}
    r = client.post("/oauth/token_info", data={}, headers=auth)
    body = assert_problem(r, 400, "urn:ed-fi:api:bad-request", "Bad Request")
    assert body["errors"] == ["The 'token' parameter is required."]
    r = client.post("/oauth/token_info", data={"token": "not-a-token"}, headers=auth)
    assert r.status_code == 200 and r.json() == {"active": False}
    assert client.get("/oauth/token_info", headers=auth).status_code == 405
