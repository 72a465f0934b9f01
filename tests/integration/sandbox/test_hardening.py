"""The sandbox's guards: control routes need its bearer token, bodies over 10 MB get 413,
and `dmsload sandbox` binds to loopback unless told otherwise (and then warns)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from dmsload.dms.embedded_sandbox import embedded_sandbox
from dmsload.sandbox.command import is_loopback
from dmsload.sandbox.http import MAX_BODY_BYTES
from dmsload.sandbox.testing import SandboxHandle, running_sandbox

from .conftest import assert_problem, get_token

CONTROL_ROUTES = [
    ("GET", "/_sandbox/faults"),
    ("POST", "/_sandbox/faults"),
    ("PUT", "/_sandbox/faults"),
    ("GET", "/_sandbox/stats"),
    ("DELETE", "/_sandbox/stats"),
    ("POST", "/_sandbox/reset"),
    ("GET", "/_sandbox/documents"),
]


@pytest.fixture(scope="module")
def sandbox_client() -> Iterator[tuple[SandboxHandle, httpx.Client]]:
    with running_sandbox() as sb, httpx.Client(base_url=sb.base_url, timeout=30) as c:
        yield sb, c


@pytest.mark.parametrize(("method", "path"), CONTROL_ROUTES)
def test_control_routes_need_the_control_token(
    sandbox_client: tuple[SandboxHandle, httpx.Client], method: str, path: str
) -> None:
    """No token, a wrong one, or a DMS token: 401 problem details, and nothing changes."""
    sb, c = sandbox_client
    before = sb.state.faults.settings
    dms_token = get_token(c)
    for headers in (
        {},
        {"Authorization": "Bearer not-the-token"},
        {"Authorization": f"Bearer {dms_token}"},
        {"Authorization": sb.control_token},  # no scheme
    ):
        r = c.request(method, path, headers=headers, json={"error_rate": 1.0})
        body = assert_problem(
            r, 401, "urn:ed-fi:api:security:authentication", "Authentication Failed"
        )
        assert "control token" in body["detail"]
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert sb.state.faults.settings == before
    ok = c.request(method, path, headers=sb.control_headers, json={})
    assert ok.status_code in (200, 204), ok.text


def test_the_control_client_sends_the_token() -> None:
    with running_sandbox() as sb, sb.control_client(timeout=10) as c:
        assert c.post("/_sandbox/faults", json={"latency_ms": 1}).json()["latency_ms"] == 1
        assert c.get("/_sandbox/stats").status_code == 200


def test_each_sandbox_has_its_own_random_control_token() -> None:
    with running_sandbox() as one, running_sandbox() as two:
        assert one.control_token != two.control_token
        assert len(one.control_token) >= 24
        r = httpx.get(f"{one.base_url}/_sandbox/stats", headers=two.control_headers)
        assert r.status_code == 401


def _oversized() -> bytes:
    return b"[" + b" " * MAX_BODY_BYTES + b"]"


@pytest.mark.parametrize(
    "path",
    [
        "/data/ed-fi/students",
        "/api/data/ed-fi/students",
        "/oauth/token",
        "/config/v3/applications",
        "/v3/vendors",
        "/_sandbox/faults",
    ],
)
def test_bodies_over_10_mb_get_413_problem_details(
    sandbox_client: tuple[SandboxHandle, httpx.Client], path: str
) -> None:
    """Content-Length over 10 MB: 413 problem details on every route, nothing stored."""
    sb, c = sandbox_client
    count = sb.state.store.count()
    headers = (
        {**sb.control_headers}
        if path.startswith("/_sandbox")
        else {"Authorization": f"Bearer {get_token(c)}"}
    )
    r = c.post(path, content=_oversized(), headers={**headers, "Content-Type": "application/json"})
    body = assert_problem(r, 413, "urn:ed-fi:api:payload-too-large", "Payload Too Large")
    assert "10 MB" in body["detail"]
    assert sb.state.store.count() == count


def test_a_streamed_body_over_10_mb_gets_413(
    sandbox_client: tuple[SandboxHandle, httpx.Client],
) -> None:
    """Chunked (no Content-Length): refused once 10 MB have been read."""
    _sb, c = sandbox_client
    chunk = b" " * (1024 * 1024)

    def chunks() -> Iterator[bytes]:
        yield b"{"
        for _ in range(11):  # bounded: 11 MB
            yield chunk

    r = c.post(
        "/data/ed-fi/students",
        content=chunks(),
        headers={"Authorization": f"Bearer {get_token(c)}", "Content-Type": "application/json"},
    )
    assert_problem(r, 413, "urn:ed-fi:api:payload-too-large", "Payload Too Large")


def test_a_body_of_exactly_10_mb_is_read(
    sandbox_client: tuple[SandboxHandle, httpx.Client],
) -> None:
    """The limit is inclusive: 10 MB of JSON is parsed (and refused for what it says)."""
    _sb, c = sandbox_client
    body = b"{" + b" " * (MAX_BODY_BYTES - 2) + b"}"
    r = c.post(
        "/data/ed-fi/students",
        content=body,
        headers={"Authorization": f"Bearer {get_token(c)}", "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text


def test_is_loopback() -> None:
    for host in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.0.2.1", "example.org", ""):
        assert not is_loopback(host), host


def _sandbox_process(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dmsload", "sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_sandbox_command_binds_loopback_and_prints_its_control_token() -> None:
    """By default: 127.0.0.1, no warning, and the printed token opens the control routes."""
    process = _sandbox_process()
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Bearer" in line:
                break
        text = "".join(lines)
        assert "http://127.0.0.1:" in text, text
        url = text.split("base URL", 1)[1].split()[0]
        token = text.split("Authorization: Bearer ", 1)[1].split()[0]
        assert httpx.get(f"{url}/_sandbox/stats").status_code == 401
        assert (
            httpx.get(
                f"{url}/_sandbox/stats", headers={"Authorization": f"Bearer {token}"}
            ).status_code
            == 200
        )
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=20)
    assert "warning" not in err


def test_sandbox_command_warns_for_a_host_that_is_not_loopback() -> None:
    """--host other than loopback: one warning line on stderr once it listens (the test
    stops it at once, on a random port, having sent nothing)."""
    process = _sandbox_process("--host", "0.0.0.0")
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=30)
    assert line.startswith("dmsload sandbox: warning: --host 0.0.0.0 makes the sandbox"), line
    assert "well-known credentials" in line
    assert "Traceback" not in line + err


def test_a_host_it_cannot_listen_on_is_one_line_without_warning() -> None:
    """192.0.2.1 (a documentation address) cannot be bound: exit 1, one line, no warning."""
    process = _sandbox_process("--host", "192.0.2.1")
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert err.strip().splitlines() == [
        "dmsload sandbox: cannot listen on 192.0.2.1:0: Cannot assign requested address"
    ]


def test_the_embedded_sandbox_knows_its_control_token() -> None:
    """`--sandbox`'s subprocess takes the token dmsload chose (DMSLOAD_SANDBOX_CONTROL_TOKEN)."""
    with embedded_sandbox() as sandbox:
        url = f"{sandbox.base_url}/_sandbox/stats"
        assert httpx.get(url).status_code == 401
        headers = {"Authorization": f"Bearer {sandbox.control_token}"}
        assert httpx.get(url, headers=headers).status_code == 200
