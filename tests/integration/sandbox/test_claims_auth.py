"""Contract §3.1 (`scope` = claim set), §4.3 (upload, DMS cache, reload-claimsets) and §6 (403).

Each test starts its own sandbox: uploads change claims for every client of a sandbox.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from dmsload.sandbox.testing import running_sandbox

from .conftest import assert_problem, cms_token, get_token, school, student

REPO = Path(__file__).resolve().parents[3]
AUTHZ = "urn:ed-fi:api:security:authorization"
ACTION_DENIED = "urn:ed-fi:api:security:authorization:access-denied:action"
DENIED_DETAIL = "Access to the requested data could not be authorized."
CRUD = [{"name": n} for n in ("Create", "Read", "Update", "Delete")]


def _perf_claims() -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(
        (REPO / "config" / "performance-test-claimset.json").read_bytes()
    )
    return doc


def _read_only_students() -> dict[str, Any]:
    """A claims document with one claim set that may only read students."""
    return {
        "claims": {
            "claimSets": [{"claimSetName": "ReadOnlyStudents", "isSystemReserved": False}],
            "claimsHierarchy": [
                {
                    "name": "http://ed-fi.org/identity/claims/domains/people",
                    "claims": [
                        {
                            "name": "http://ed-fi.org/identity/claims/ed-fi/student",
                            "claimSets": [
                                {"name": "ReadOnlyStudents", "actions": [{"name": "Read"}]}
                            ],
                        }
                    ],
                }
            ],
        }
    }


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with (
        running_sandbox(seed_descriptors=True) as sandbox,
        httpx.Client(base_url=sandbox.base_url, timeout=10) as c,
    ):
        yield c


def _cms(client: httpx.Client) -> dict[str, str]:
    return {"Authorization": f"Bearer {cms_token(client).json()['access_token']}"}


def _app_token(client: httpx.Client, cms: dict[str, str], claim_set: str) -> dict[str, str]:
    """Create a vendor and an application with this claim set; return a DMS bearer header."""
    vendor = client.post(
        "/v3/vendors",
        json={"company": f"V {claim_set}", "namespacePrefixes": "uri://ed-fi.org"},
        headers=cms,
    )
    app = client.post(
        "/v3/applications",
        json={
            "applicationName": claim_set,
            "vendorId": int(vendor.headers["location"].rsplit("/", 1)[1]),
            "claimSetName": claim_set,
            "educationOrganizationIds": [255901],
            "dataStoreIds": [1],
        },
        headers=cms,
    ).json()
    return {"Authorization": f"Bearer {get_token(client, app['key'], app['secret'])}"}


def _upload(client: httpx.Client, cms: dict[str, str], document: dict[str, Any]) -> None:
    r = client.post("/management/upload-claims", json=document, headers=cms)
    assert r.status_code == 200, r.text


def test_s6_action_not_granted_403_access_denied(client: httpx.Client) -> None:
    """§6 a claim set without the action: 403 security:authorization:access-denied:action."""
    cms = _cms(client)
    _upload(client, cms, _read_only_students())
    assert client.post("/management/reload-claimsets").status_code == 200
    auth = _app_token(client, cms, "ReadOnlyStudents")
    assert client.get("/data/ed-fi/students", headers=auth).status_code == 200
    r = client.post("/data/ed-fi/students", json=student("RO1"), headers=auth)
    body = assert_problem(r, 403, ACTION_DENIED, "Authorization Denied")
    assert r.headers["content-type"].startswith("application/problem+json")
    assert body["detail"] == DENIED_DETAIL
    assert body["errors"] == [
        "The API client's assigned claim set (currently 'ReadOnlyStudents') must grant "
        "permission of the 'Create' action on one of the following resource claims: Student"
    ]


def test_s6_no_resource_claim_403(client: httpx.Client) -> None:
    """§6 a resource the claim set has no claim for: 403 security:authorization, no errors."""
    cms = _cms(client)
    _upload(client, cms, _read_only_students())
    client.post("/management/reload-claimsets")
    auth = _app_token(client, cms, "ReadOnlyStudents")
    r = client.get("/data/ed-fi/schools", headers=auth)
    body = assert_problem(r, 403, AUTHZ, "Authorization Denied")
    assert body["detail"] == DENIED_DETAIL and body["errors"] == []


def test_s5_validation_before_authorization(client: httpx.Client) -> None:
    """§5 pipeline: body validation (400) comes before resource/action authorization (403)."""
    cms = _cms(client)
    _upload(client, cms, _read_only_students())
    client.post("/management/reload-claimsets")
    auth = _app_token(client, cms, "ReadOnlyStudents")
    r = client.post("/data/ed-fi/students", json={"firstName": "x"}, headers=auth)
    assert r.status_code == 400


def test_s4_upload_takes_effect_after_dms_reload(client: httpx.Client) -> None:
    """§4.3 DMS caches claim sets: an upload counts once reload-claimsets has run."""
    cms = _cms(client)
    auth = _app_token(client, cms, "DmsLoadPerformanceTest")
    r = client.get("/data/ed-fi/students", headers=auth)
    body = assert_problem(r, 403, AUTHZ, "Authorization Denied")
    assert body["errors"] == [
        "The API client's assigned claim set ('DmsLoadPerformanceTest') does not exist."
    ]
    _upload(client, cms, _perf_claims())
    assert client.get("/data/ed-fi/students", headers=auth).status_code == 403
    r = client.post("/management/reload-claimsets")
    assert r.status_code == 200 and r.json() == {"message": "Claimsets reloaded successfully"}
    assert client.get("/data/ed-fi/students", headers=auth).status_code == 200
    assert client.post("/data/ed-fi/schools", json=school(), headers=auth).status_code == 201
    # the claim set grants ReadChanges too: the change-queries workload reads /deletes
    r = client.get("/data/ed-fi/students/deletes", headers=auth)
    assert r.status_code == 200 and r.json() == []


@pytest.mark.serial
def test_s4_claim_cache_expires() -> None:
    """§4.3/§12 without a reload, uploaded claims count once DMS's cached copy expires."""
    with (
        running_sandbox(claim_set_cache_s=0.3) as sandbox,
        httpx.Client(base_url=sandbox.base_url, timeout=10) as client,
    ):
        cms = _cms(client)
        auth = _app_token(client, cms, "DmsLoadPerformanceTest")
        _upload(client, cms, _perf_claims())
        assert client.get("/data/ed-fi/students", headers=auth).status_code == 403
        time.sleep(0.35)
        assert client.get("/data/ed-fi/students", headers=auth).status_code == 200


def test_s4_upload_replaces_built_in_claim_sets(client: httpx.Client) -> None:
    """§4.3 upload replaces the claims: E2E-NoFurtherAuthRequiredClaimSet is gone until reload."""
    cms = _cms(client)
    preseeded = {"Authorization": f"Bearer {get_token(client)}"}
    assert client.get("/data/ed-fi/students", headers=preseeded).status_code == 200
    _upload(client, cms, _perf_claims())
    current = client.get("/management/current-claims", headers=cms)
    assert current.json()["claimSets"] == [
        {"claimSetName": "DmsLoadPerformanceTest", "isSystemReserved": False}
    ]
    client.post("/management/reload-claimsets")
    assert client.get("/data/ed-fi/students", headers=preseeded).status_code == 403
    assert client.post("/management/reload-claims", headers=cms).status_code == 200
    client.post("/management/reload-claimsets")
    assert client.get("/data/ed-fi/students", headers=preseeded).status_code == 200


def test_s4_built_in_claim_set_full_access(client: httpx.Client) -> None:
    """§4.2 E2E-NoFurtherAuthRequiredClaimSet (the preseeded client's) may do every action."""
    auth = {"Authorization": f"Bearer {get_token(client)}"}
    location = client.post("/data/ed-fi/students", json=student("FA1"), headers=auth).headers[
        "location"
    ]
    doc_id = location.rsplit("/", 1)[1]
    assert client.get(location, headers=auth).status_code == 200
    put = client.put(location, json={**student("FA1"), "id": doc_id}, headers=auth)
    assert put.status_code == 204
    assert client.get("/data/ed-fi/students/keyChanges", headers=auth).status_code == 200
    assert client.delete(location, headers=auth).status_code == 204


def test_s3_application_claim_set_travels_in_token(client: httpx.Client) -> None:
    """§3.1 an application's claimSetName (here the built-in SeedLoader) authorizes its token."""
    auth = _app_token(client, _cms(client), "SeedLoader")
    assert client.post("/data/ed-fi/students", json=student("SL1"), headers=auth).status_code == 201
