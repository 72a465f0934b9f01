"""Contract §1-§3: discovery, health, metadata, path base, `/oauth/token`, bearer checks."""

from __future__ import annotations

import time

import httpx

from dmsload.sandbox.auth import basic_header
from dmsload.sandbox.config import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET
from dmsload.sandbox.testing import SandboxHandle, running_sandbox

from .conftest import assert_problem, get_token


def test_s2_discovery_document(client: httpx.Client, sandbox: SandboxHandle) -> None:
    """§2 GET /: urls.dataManagementApi, urls.oauth and dataModels."""
    r = client.get("/")
    assert r.status_code == 200
    body = r.json()
    assert body["urls"]["dataManagementApi"] == f"{sandbox.base_url}/data"
    assert body["urls"]["oauth"] == f"{sandbox.base_url}/oauth/token"
    assert body["urls"]["dependencies"] == f"{sandbox.base_url}/metadata/dependencies"
    assert body["dataModels"] == [
        {
            "name": "Ed-Fi",
            "version": "5.2.0",
            "informationalVersion": body["dataModels"][0]["informationalVersion"],
        }
    ]


def test_s1_path_base_included_only_when_used(client: httpx.Client, sandbox: SandboxHandle) -> None:
    """§1 PathBase: /api/ works and generated URLs carry /api only when the request used it."""
    assert client.get("/api/").json()["urls"]["dataManagementApi"] == f"{sandbox.base_url}/api/data"
    assert client.get("/").json()["urls"]["dataManagementApi"] == f"{sandbox.base_url}/data"


def test_s2_health(client: httpx.Client) -> None:
    """§2 GET /health: {status, results:[{name,status,description}]}."""
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "Healthy"
    assert all(set(x) == {"name", "status", "description"} for x in body["results"])


def test_s2_metadata_dependencies_load_order(client: httpx.Client) -> None:
    """§2/§8 GET /metadata/dependencies: descriptors order 1, parents before children."""
    r = client.get("/metadata/dependencies")
    assert r.status_code == 200
    order = {x["resource"]: x["order"] for x in r.json()}
    assert all(x["operations"] == ["Create", "Update"] for x in r.json())
    assert order["/ed-fi/gradeLevelDescriptors"] == 1
    assert order["/ed-fi/schools"] > order["/ed-fi/educationOrganizationCategoryDescriptors"]
    assert order["/ed-fi/studentSchoolAssociations"] > order["/ed-fi/schools"]
    assert order["/ed-fi/studentSchoolAssociations"] > order["/ed-fi/students"]
    seoaa = order["/ed-fi/staffEducationOrganizationAssignmentAssociations"]
    assert seoaa > order["/ed-fi/staffs"] and seoaa > order["/ed-fi/schools"]


def test_s2_unknown_route_fallback_404(client: httpx.Client) -> None:
    """§2 anything else: 404 problem+json "The specified data could not be found."."""
    r = client.get("/metadata/schemas")
    body = assert_problem(r, 404, "urn:ed-fi:api:not-found", "Not Found")
    assert body["detail"] == "The specified data could not be found."


def test_s3_token_success(client: httpx.Client) -> None:
    """§3.1 POST /oauth/token with Basic key:secret → {access_token, expires_in, token_type}."""
    r = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_header("minimalKey", "minimalSecret")},
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "expires_in", "token_type"}
    assert body["expires_in"] == 1800 and body["token_type"] == "Bearer"


def test_s3_token_accepts_json_body(client: httpx.Client) -> None:
    """§3.1 /oauth/token also accepts application/json {"grant_type": ...}."""
    r = client.post(
        "/oauth/token",
        json={"grant_type": "client_credentials"},
        headers={"Authorization": basic_header("minimalKey", "minimalSecret")},
    )
    assert r.status_code == 200


def test_s3_token_form_credentials_rejected(client: httpx.Client) -> None:
    """§3.1 client_id/client_secret form fields are ignored: 400 Malformed Authorization header."""
    r = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "minimalKey",
            "client_secret": "minimalSecret",
        },
    )
    body = assert_problem(r, 400, "urn:ed-fi:api:bad-request", "Bad Request")
    assert body["detail"] == "Malformed Authorization header"


def test_s3_token_unsupported_grant(client: httpx.Client) -> None:
    """§3.1 a grant_type other than client_credentials: 400 Unsupported grant type."""
    r = client.post(
        "/oauth/token",
        data={"grant_type": "password"},
        headers={"Authorization": basic_header("minimalKey", "minimalSecret")},
    )
    assert (
        assert_problem(r, 400, "urn:ed-fi:api:bad-request", "Bad Request")["detail"]
        == "Unsupported grant type"
    )


def test_s3_token_bad_secret_401_with_www_authenticate(client: httpx.Client) -> None:
    """§3.1/§6 bad credentials: 401 urn:ed-fi:api:unauthorized, with WWW-Authenticate."""
    r = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_header("minimalKey", "wrong")},
    )
    assert r.status_code == 401
    assert r.json()["type"] == "urn:ed-fi:api:unauthorized"
    assert r.headers["www-authenticate"].startswith("Basic")


def test_s3_data_without_token_401(client: httpx.Client) -> None:
    """§3.1 bearer missing: 401 security:authentication + WWW-Authenticate invalid_token."""
    r = client.get("/data/ed-fi/students")
    body = assert_problem(r, 401, "urn:ed-fi:api:security:authentication", "Authentication Failed")
    assert body["detail"] == "The caller could not be authenticated."
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_s5_pipeline_401_before_404(client: httpx.Client) -> None:
    """§5 pipeline order: an invalid token is 401 even on a bad path."""
    r = client.get("/data/ed-fi/nothings", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


def test_s3_token_without_data_stores_403(client: httpx.Client) -> None:
    """§3.1 a token with no dataStoreIds (the CMS admin's): 403 on data."""
    token = get_token(client, ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET)
    r = client.get("/data/ed-fi/students", headers={"Authorization": f"Bearer {token}"})
    body = assert_problem(r, 403, "urn:ed-fi:api:security:authorization", "Authorization Denied")
    assert body["detail"] == "No database instances are authorized for this client"


def test_s3_token_lifetime_configurable_and_expiry_401() -> None:
    """§3.1/§12 tokens expire after expires_in; then data calls get 401 invalid_token."""
    with running_sandbox(token_lifetime_s=1) as sb, httpx.Client(base_url=sb.base_url) as c:
        r = c.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic_header("minimalKey", "minimalSecret")},
        )
        assert r.json()["expires_in"] == 1
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert c.get("/data/ed-fi/students", headers=headers).status_code == 200
        time.sleep(1.1)
        r = c.get("/data/ed-fi/students", headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_s4_reload_claimsets(client: httpx.Client) -> None:
    """§4.3 DMS POST /management/reload-claimsets → 200 {"message": ...}."""
    r = client.post("/management/reload-claimsets")
    assert r.status_code == 200
    assert r.json() == {"message": "Claimsets reloaded successfully"}
