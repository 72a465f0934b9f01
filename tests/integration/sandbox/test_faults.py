"""Fault injection (flags and `/_sandbox/faults`) and `/_sandbox/stats`, as a client sees them."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from dmsload.sandbox.auth import basic_header
from dmsload.sandbox.faults import FaultSettings
from dmsload.sandbox.testing import SandboxHandle, running_sandbox


@pytest.fixture
def fresh() -> Iterator[tuple[SandboxHandle, httpx.Client, dict[str, str]]]:
    with (
        running_sandbox() as sb,
        httpx.Client(base_url=sb.base_url, timeout=10, headers=sb.control_headers) as c,
    ):
        token = c.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic_header("minimalKey", "minimalSecret")},
        ).json()["access_token"]
        yield sb, c, {"Authorization": f"Bearer {token}"}


def _elapsed(c: httpx.Client, auth: dict[str, str]) -> float:
    started = time.perf_counter()
    assert c.get("/data/ed-fi/students", headers=auth).status_code == 200
    return time.perf_counter() - started


def test_fault_fixed_latency(fresh: tuple[SandboxHandle, httpx.Client, dict[str, str]]) -> None:
    """latency_ms delays /data answers; other routes are not delayed."""
    _sb, c, auth = fresh
    r = c.put("/_sandbox/faults", json={"latency_ms": 150})
    assert r.status_code == 200 and r.json()["latency_ms"] == 150
    assert _elapsed(c, auth) >= 0.15
    started = time.perf_counter()
    c.get("/health")
    assert time.perf_counter() - started < 0.1


@pytest.mark.serial
def test_fault_lognormal_latency(fresh: tuple[SandboxHandle, httpx.Client, dict[str, str]]) -> None:
    """latency_p50_ms/latency_p99_ms: a lognormal whose median is near p50."""
    sb, c, auth = fresh
    sb.set_faults(latency_p50_ms=20, latency_p99_ms=60, seed=7)
    samples = [_elapsed(c, auth) for _ in range(30)]
    assert 0.012 < statistics.median(samples) < 0.045
    assert min(samples) > 0.005


def test_fault_error_rate_503_retry_after(
    fresh: tuple[SandboxHandle, httpx.Client, dict[str, str]],
) -> None:
    """§6, §12: error_rate with status 503: problem+json service-unavailable, Retry-After."""
    _sb, c, auth = fresh
    c.post("/_sandbox/faults", json={"error_rate": 1.0, "error_status": 503, "retry_after_s": 7})
    r = c.get("/data/ed-fi/students", headers=auth)
    assert r.status_code == 503 and r.headers["retry-after"] == "7"
    assert r.json()["type"] == "urn:ed-fi:api:service-unavailable"
    assert c.get("/health").status_code == 200


def test_fault_error_rate_fraction(
    fresh: tuple[SandboxHandle, httpx.Client, dict[str, str]],
) -> None:
    """§6: error_rate 0.5 (status 500): about half the requests fail with urn:ed-fi:api:system."""
    sb, c, auth = fresh
    sb.set_faults(error_rate=0.5, seed=1)
    statuses = Counter(c.get("/data/ed-fi/students", headers=auth).status_code for _ in range(200))
    assert set(statuses) == {200, 500}
    assert 60 < statuses[500] < 140


def test_fault_rate_limit_429_per_host(
    fresh: tuple[SandboxHandle, httpx.Client, dict[str, str]],
) -> None:
    """§6, §12: rate_limit: past N per window per Host, 429 too-many-requests with Retry-After."""
    sb, c, auth = fresh
    sb.set_faults(rate_limit=5, rate_limit_window_s=30)
    statuses = [c.get("/data/ed-fi/students", headers=auth).status_code for _ in range(8)]
    assert statuses == [200] * 5 + [429] * 3
    r = c.get("/", headers=auth)
    assert r.status_code == 429
    body = r.json()
    assert (
        body["type"] == "urn:ed-fi:api:too-many-requests" and body["title"] == "Too Many Requests"
    )
    assert 1 <= int(r.headers["retry-after"]) <= 30
    other = c.get("/data/ed-fi/students", headers={**auth, "Host": "other.example:8080"})
    assert other.status_code == 200


def test_fault_connection_reset(fresh: tuple[SandboxHandle, httpx.Client, dict[str, str]]) -> None:
    """reset_rate 1.0: the connection is dropped without a response."""
    sb, c, auth = fresh
    sb.set_faults(reset_rate=1.0)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
        c.get("/data/ed-fi/students", headers=auth)
    sb.set_faults(reset_rate=0.0)
    assert c.get("/data/ed-fi/students", headers=auth).status_code == 200
    assert sb.state.stats.count("GET /data/ed-fi/students", "reset") == 1


@pytest.mark.serial
def test_fault_stall(fresh: tuple[SandboxHandle, httpx.Client, dict[str, str]]) -> None:
    """stall_for_s every stall_every_s: requests in a stall wait until it ends."""
    sb, c, auth = fresh
    sb.set_faults(stall_every_s=10, stall_for_s=0.4)
    first = _elapsed(c, auth)
    assert 0.25 < first < 1.0
    assert _elapsed(c, auth) < 0.2


def test_fault_short_token_lifetime(
    fresh: tuple[SandboxHandle, httpx.Client, dict[str, str]],
) -> None:
    """§3.1: token_lifetime_s: tokens issued afterwards expire quickly; clients then get 401."""
    _sb, c, _ = fresh
    c.post("/_sandbox/faults", json={"token_lifetime_s": 1})
    r = c.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_header("minimalKey", "minimalSecret")},
    )
    assert r.json()["expires_in"] == 1
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert c.get("/data/ed-fi/students", headers=auth).status_code == 200
    time.sleep(1.1)
    expired = c.get("/data/ed-fi/students", headers=auth)
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]


def test_fault_settings_validation(
    fresh: tuple[SandboxHandle, httpx.Client, dict[str, str]],
) -> None:
    """/_sandbox/faults refuses unknown keys and bad values with 400; GET shows the settings."""
    _sb, c, _ = fresh
    assert c.post("/_sandbox/faults", json={"nope": 1}).status_code == 400
    assert c.post("/_sandbox/faults", json={"error_rate": 2}).status_code == 400
    assert c.post("/_sandbox/faults", json={"latency_p50_ms": 10}).status_code == 400
    assert c.get("/_sandbox/faults").json()["error_rate"] == 0.0


def test_fault_flags_at_startup() -> None:
    """Faults given at startup (the CLI flags) apply from the first request."""
    with (
        running_sandbox(faults={"error_rate": 1.0, "error_status": 503}) as sb,
        httpx.Client(base_url=sb.base_url) as c,
    ):
        token = c.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic_header("minimalKey", "minimalSecret")},
        ).json()["access_token"]
        r = c.get("/data/ed-fi/students", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 503


def test_stats_by_route_and_status(
    fresh: tuple[SandboxHandle, httpx.Client, dict[str, str]],
) -> None:
    """/_sandbox/stats counts by method + route template and status; DELETE resets."""
    _sb, c, auth = fresh
    assert c.delete("/_sandbox/stats").status_code == 204
    body = {
        "studentUniqueId": "ST1",
        "firstName": "A",
        "lastSurname": "B",
        "birthDate": "2010-01-01",
    }
    location = c.post("/data/ed-fi/students", json=body, headers=auth).headers["location"]
    c.post("/data/ed-fi/students", json=body, headers=auth)
    c.get(location, headers=auth)
    c.get("/data/ed-fi/students", headers=auth)
    stats = c.get("/_sandbox/stats").json()
    assert stats["routes"] == {
        "POST /data/ed-fi/students": {"200": 1, "201": 1},
        "GET /data/ed-fi/students/{id}": {"200": 1},
        "GET /data/ed-fi/students": {"200": 1},
    }
    assert stats["total"] == 4


def _new_application(c: httpx.Client) -> dict[str, str]:
    """Create a vendor and an application through the CMS; returns `{id, key, secret}`."""
    admin = c.post(
        "/config/connect/token",
        data={
            "client_id": "DmsConfigurationService",
            "client_secret": "ValidClientSecret1234567890!Abcd",
            "grant_type": "client_credentials",
        },
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {admin}"}
    vendor = c.post(
        "/config/v3/vendors",
        json={"company": "Delay", "namespacePrefixes": "uri://ed-fi.org"},
        headers=headers,
    )
    vendor_id = int(vendor.headers["location"].rsplit("/", 1)[1])
    r = c.post(
        "/config/v3/applications",
        json={
            "applicationName": "delayed",
            "vendorId": vendor_id,
            "claimSetName": "E2E-NoFurtherAuthRequiredClaimSet",
            "educationOrganizationIds": [],
            "dataStoreIds": [1],
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    created: dict[str, str] = r.json()
    return created


def _dms_token(c: httpx.Client, key: str, secret: str) -> httpx.Response:
    return c.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_header(key, secret)},
    )


@pytest.mark.serial
def test_fault_new_key_delay(fresh: tuple[SandboxHandle, httpx.Client, dict[str, str]]) -> None:
    """§4.2/§13: new_key_delay_s: a new application's key gets 401 at both token endpoints
    (the body an invalid client gets) until it is that old; preseeded keys are not delayed."""
    sb, c, _ = fresh
    settings = c.post("/_sandbox/faults", json={"new_key_delay_s": 0.8}).json()
    assert settings["new_key_delay_s"] == 0.8
    created = _new_application(c)
    started = time.monotonic()
    early = _dms_token(c, created["key"], created["secret"])
    wrong = _dms_token(c, created["key"], "not the secret")
    assert early.status_code == wrong.status_code == 401
    assert early.headers["www-authenticate"] == wrong.headers["www-authenticate"]
    assert early.headers["content-type"].startswith("application/problem+json")
    body, reference = early.json(), wrong.json()
    assert body.pop("correlationId") != reference.pop("correlationId")
    assert body == reference and body["title"] == "invalid_client"
    cms = c.post(
        "/config/connect/token",
        data={
            "client_id": created["key"],
            "client_secret": created["secret"],
            "grant_type": "client_credentials",
        },
    )
    assert cms.status_code == 401 and cms.json()["title"] == "invalid_client"
    assert _dms_token(c, "minimalKey", "minimalSecret").status_code == 200
    assert sb.state.stats.count("POST /oauth/token", 401) == 2
    for _ in range(40):  # bounded: 40 x 0.05 s = 2 s
        if time.monotonic() - started > 0.9:
            break
        time.sleep(0.05)
    late = _dms_token(c, created["key"], created["secret"])
    assert late.status_code == 200, late.text
    # The window is measured from the key's creation, with the setting of the moment.
    sb.set_faults(new_key_delay_s=60)
    assert _dms_token(c, created["key"], created["secret"]).status_code == 401
    sb.set_faults(new_key_delay_s=0)
    assert _dms_token(c, created["key"], created["secret"]).status_code == 200


def test_fault_new_key_delay_validation_and_flag() -> None:
    """new_key_delay_s must be >= 0; it can be given at startup like every fault."""
    with pytest.raises(ValueError, match="new_key_delay_s must be >= 0"):
        FaultSettings().merged({"new_key_delay_s": -1})
    with (
        running_sandbox(faults={"new_key_delay_s": 30}) as sb,
        httpx.Client(base_url=sb.base_url, headers=sb.control_headers) as c,
    ):
        assert c.get("/_sandbox/faults").json()["new_key_delay_s"] == 30.0
        created = _new_application(c)
        assert _dms_token(c, created["key"], created["secret"]).status_code == 401
        # PUT restores the startup settings plus the keys given.
        assert c.put("/_sandbox/faults", json={}).json()["new_key_delay_s"] == 30.0
        assert c.put("/_sandbox/faults", json={"new_key_delay_s": 0}).status_code == 200
        assert _dms_token(c, created["key"], created["secret"]).status_code == 200
