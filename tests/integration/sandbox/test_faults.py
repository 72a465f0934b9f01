"""Fault injection (flags and `/_sandbox/faults`) and `/_sandbox/stats`, as a client sees them."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from dmsload.sandbox.auth import basic_header
from dmsload.sandbox.testing import SandboxHandle, running_sandbox


@pytest.fixture
def fresh() -> Iterator[tuple[SandboxHandle, httpx.Client, dict[str, str]]]:
    with running_sandbox() as sb, httpx.Client(base_url=sb.base_url, timeout=10) as c:
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
