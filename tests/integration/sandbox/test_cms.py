"""Contract §4: the Configuration Service routes, on the same port, with or without /config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from dmsload.sandbox.auth import basic_header
from dmsload.sandbox.testing import SandboxHandle, running_sandbox

from .conftest import assert_problem, cms_token, student

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def cms(client: httpx.Client) -> dict[str, str]:
    r = cms_token(client, "/config/connect/token", scope="edfi_admin_api/full_access")
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"access_token", "expires_in", "token_type"}
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_s4_connect_token_bad_client_401(client: httpx.Client) -> None:
    """§4.1 /connect/token with an invalid client: 401 problem+json."""
    r = client.post(
        "/connect/token",
        data={"client_id": "x", "client_secret": "y", "grant_type": "client_credentials"},
    )
    assert r.status_code == 401 and r.json()["status"] == 401


def test_s4_info_under_config(client: httpx.Client) -> None:
    """§4.1 CMS GET /config/ is the CMS info document (DMS discovery stays at GET /)."""
    assert "applicationName" in client.get("/config/").json()
    assert "dataModels" in client.get("/").json()


def test_s4_v3_requires_bearer(client: httpx.Client) -> None:
    """§4.2 /v3 routes need a CMS bearer token."""
    assert client.get("/v3/vendors").status_code == 401
    dms_token = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_header("minimalKey", "minimalSecret")},
    ).json()["access_token"]
    assert (
        client.get("/v3/vendors", headers={"Authorization": f"Bearer {dms_token}"}).status_code
        == 403
    )


def test_s4_vendor_201_then_200(
    client: httpx.Client, cms: dict[str, str], sandbox: SandboxHandle
) -> None:
    """§4.2 POST /v3/vendors: 201, no body, Location; an existing vendor: 200 + Location."""
    vendor = {
        "company": "Sandbox Vendor",
        "contactName": "A",
        "contactEmailAddress": "a@example.com",
        "namespacePrefixes": "uri://ed-fi.org",
    }
    r = client.post("/config/v3/vendors", json=vendor, headers=cms)
    assert r.status_code == 201 and r.content == b""
    location = r.headers["location"]
    assert location.startswith(f"{sandbox.base_url}/config/v3/vendors/")
    again = client.post("/v3/vendors", json=vendor, headers=cms)
    assert again.status_code == 200
    assert again.headers["location"].rsplit("/", 1)[1] == location.rsplit("/", 1)[1]
    got = client.get(location, headers=cms).json()
    assert got["company"] == "Sandbox Vendor" and isinstance(got["id"], int)
    assert any(
        v["company"] == "Sandbox Vendor" for v in client.get("/v3/vendors", headers=cms).json()
    )


def test_s4_data_stores_preseeded_and_post(client: httpx.Client, cms: dict[str, str]) -> None:
    """§4.2/§1 one data store is preseeded; POST /v3/dataStores → 201 {id, status, title}."""
    stores = client.get("/v3/dataStores", params={"offset": 0, "limit": 25}, headers=cms).json()
    assert stores and stores[0]["id"] == 1
    r = client.post(
        "/v3/dataStores",
        json={"dataStoreType": "postgresql", "name": "Second", "connectionString": "host=x"},
        headers=cms,
    )
    assert r.status_code == 201
    assert set(r.json()) == {"id", "status", "title"} and r.json()["status"] == 201


def _vendor(client: httpx.Client, cms: dict[str, str], name: str) -> int:
    r = client.post(
        "/v3/vendors",
        json={
            "company": name,
            "contactName": "B",
            "contactEmailAddress": "b@example.com",
            "namespacePrefixes": "uri://ed-fi.org",
        },
        headers=cms,
    )
    return int(r.headers["location"].rsplit("/", 1)[1])


def test_s4_application_key_works_at_oauth_token(client: httpx.Client, cms: dict[str, str]) -> None:
    """§4.2/§4.4 POST /v3/applications → 201 {id,key,secret}; the key works at /oauth/token."""
    vendor_id = _vendor(client, cms, "App Vendor")
    r = client.post(
        "/v3/applications",
        json={
            "applicationName": "dmsload",
            "vendorId": vendor_id,
            "claimSetName": "E2E-NoFurtherAuthRequiredClaimSet",
            "educationOrganizationIds": [255901],
            "dataStoreIds": [1],
            "profileIds": [],
        },
        headers=cms,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert set(created) == {"id", "key", "secret"}
    assert r.headers["location"].endswith(f"/v3/applications/{created['id']}")
    token = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_header(created["key"], created["secret"])},
    )
    assert token.status_code == 200
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert (
        client.post("/data/ed-fi/students", json=student("APP1"), headers=headers).status_code
        == 201
    )


def test_s4_application_requires_data_store_ids(client: httpx.Client, cms: dict[str, str]) -> None:
    """§4.2 dataStoreIds are required: 400 validation when absent."""
    vendor_id = _vendor(client, cms, "No Store Vendor")
    r = client.post(
        "/v3/applications",
        json={"applicationName": "x", "vendorId": vendor_id, "claimSetName": "SeedLoader"},
        headers=cms,
    )
    assert r.status_code == 400 and "$.dataStoreIds" in r.json()["validationErrors"]


@pytest.mark.parametrize("field,value", [("vendorId", 999), ("dataStoreIds", [999])])
def test_s4_application_unknown_reference_409(
    client: httpx.Client, cms: dict[str, str], field: str, value: object
) -> None:
    """§4.2 an unknown vendor or data store: 409."""
    body = {
        "applicationName": "x",
        "vendorId": _vendor(client, cms, "Conflict Vendor"),
        "claimSetName": "SeedLoader",
        "dataStoreIds": [1],
        field: value,
    }
    assert client.post("/v3/applications", json=body, headers=cms).status_code == 409


def test_s4_claim_sets_builtin_and_uploaded(client: httpx.Client, cms: dict[str, str]) -> None:
    """§4.2/§4.3 GET /v3/claimSets lists built-ins; upload-claims replaces them."""
    names = {
        c["name"] for c in client.get("/v3/claimSets", params={"limit": 100}, headers=cms).json()
    }
    assert {"E2E-NoFurtherAuthRequiredClaimSet", "SeedLoader", "SISVendor"} <= names
    upload = orjson.loads((REPO / "config" / "performance-test-claimset.json").read_bytes())
    r = client.post("/config/management/upload-claims", json=upload, headers=cms)
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["errors"] is None and body["reloadId"]
    names = {
        c["name"] for c in client.get("/v3/claimSets", params={"limit": 100}, headers=cms).json()
    }
    assert names == {"DmsLoadPerformanceTest"}
    assert client.post("/management/reload-claims", headers=cms).status_code == 200


def test_s4_upload_claims_needs_wrapper_and_token(
    client: httpx.Client, cms: dict[str, str]
) -> None:
    """§4.3 upload-claims: an unwrapped body is 400; no bearer token is 401."""
    unwrapped = {
        "claimSets": [{"claimSetName": "X", "isSystemReserved": False}],
        "claimsHierarchy": [],
    }
    r = client.post("/management/upload-claims", json=unwrapped, headers=cms)
    assert r.status_code == 400 and r.json()["validationErrors"]
    assert client.post("/management/upload-claims", json={"claims": unwrapped}).status_code == 401


def test_s4_problem_envelope_on_cms(client: httpx.Client, cms: dict[str, str]) -> None:
    """§4.2 CMS errors use the same problem-details envelope."""
    r = client.post("/v3/vendors", json={"contactName": "x"}, headers=cms)
    assert_problem(
        r, 400, "urn:ed-fi:api:bad-request:data-validation-failed", "Data Validation Failed"
    )


def _application(client: httpx.Client, cms: dict[str, str]) -> dict[str, Any]:
    r = client.post(
        "/v3/applications",
        json={
            "applicationName": "reset me",
            "vendorId": _vendor(client, cms, "Reset Vendor"),
            "claimSetName": "E2E-NoFurtherAuthRequiredClaimSet",
            "educationOrganizationIds": [255901],
            "dataStoreIds": [1],
        },
        headers=cms,
    )
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def _dms_token(client: httpx.Client, key: str, secret: str) -> httpx.Response:
    return client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_header(key, secret)},
    )


def test_s4_reset_credential_off_by_default(client: httpx.Client, cms: dict[str, str]) -> None:
    """§4.2: reset-credential exists only when EnableApplicationResetEndpoint=true (a stock CMS
    has it false, so the route is not mapped): 404, and the credentials keep working."""
    created = _application(client, cms)
    r = client.put(f"/v3/applications/{created['id']}/reset-credential", headers=cms)
    assert r.status_code == 404
    assert _dms_token(client, created["key"], created["secret"]).status_code == 200


def test_s4_reset_credential_when_enabled() -> None:
    """§4.2 with EnableApplicationResetEndpoint=true: PUT reset-credential answers 200
    {id, key, secret} with the same key and a new secret (CMS ApplicationModule); the old
    secret gets 401 at both token endpoints, tokens already issued stay valid."""
    with (
        running_sandbox(application_reset=True) as sb,
        httpx.Client(base_url=sb.base_url, timeout=10) as client,
    ):
        admin = cms_token(client, scope="edfi_admin_api/full_access").json()["access_token"]
        cms = {"Authorization": f"Bearer {admin}"}
        created = _application(client, cms)
        before = _dms_token(client, created["key"], created["secret"])
        assert before.status_code == 200
        old_token = {"Authorization": f"Bearer {before.json()['access_token']}"}

        path = f"/config/v3/applications/{created['id']}/reset-credential"
        r = client.put(path, headers=cms)
        assert r.status_code == 200, r.text
        reset = r.json()
        assert set(reset) == {"id", "key", "secret"}
        assert reset["id"] == created["id"] and reset["key"] == created["key"]
        assert reset["secret"] != created["secret"]

        old = _dms_token(client, created["key"], created["secret"])
        assert_problem(old, 401, "urn:ed-fi:api:unauthorized", "invalid_client")
        cms_old = client.post(
            "/connect/token",
            data={
                "client_id": created["key"],
                "client_secret": created["secret"],
                "grant_type": "client_credentials",
            },
        )
        assert cms_old.status_code == 401
        assert _dms_token(client, reset["key"], reset["secret"]).status_code == 200
        assert client.get("/data/ed-fi/students", headers=old_token).status_code == 200
        assert sb.state.stats.count("PUT /v3/applications/{id}/reset-credential", 200) == 1

        # Each reset issues another secret.
        again = client.put(path, headers=cms).json()
        assert again["secret"] not in (reset["secret"], created["secret"])

        missing = client.put("/v3/applications/999/reset-credential", headers=cms)
        body = assert_problem(missing, 404, "urn:ed-fi:api:not-found", "Not Found")
        assert body["detail"] == "Application not found"
        assert client.put(path).status_code == 401
        readonly = cms_token(client, scope="edfi_admin_api/readonly_access").json()
        readonly_auth = {"Authorization": f"Bearer {readonly['access_token']}"}
        assert client.put(path, headers=readonly_auth).status_code == 403
        assert client.post(path, headers=cms).status_code == 405
