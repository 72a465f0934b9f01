"""TokenProvider against the sandbox and small loopback servers: single-flight, refresh, grace."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import anyio
import httpx
import pytest

from dmsload.dms.auth import AuthError, TokenProvider
from dmsload.dms.credentials import ClientCredentials
from dmsload.sandbox.testing import SandboxHandle, running_sandbox

TOKEN_ROUTE = "POST /oauth/token"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed_descriptors=True) as handle:
        yield handle


def _credentials(sandbox: SandboxHandle) -> ClientCredentials:
    return ClientCredentials.of(sandbox.client_key, sandbox.client_secret)


def test_100_concurrent_callers_share_one_token_request(sandbox: SandboxHandle) -> None:
    sandbox.state.stats.reset()
    seen: list[str] = []

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            provider = TokenProvider(
                f"{sandbox.base_url}/oauth/token", _credentials(sandbox), client=client
            )

            async def one() -> None:
                seen.append(await provider.token())

            async with anyio.create_task_group() as tg:
                for _ in range(100):
                    tg.start_soon(one)
            assert provider.refreshes == 0

    anyio.run(main)
    assert len(seen) == 100 and len(set(seen)) == 1
    assert sandbox.state.stats.count(TOKEN_ROUTE) == 1


def test_rejected_token_is_refreshed_once_for_100_callers(sandbox: SandboxHandle) -> None:
    async def main() -> None:
        async with httpx.AsyncClient() as client:
            provider = TokenProvider(
                f"{sandbox.base_url}/oauth/token", _credentials(sandbox), client=client
            )
            first = await provider.token()
            sandbox.state.stats.reset()
            fresh: list[str] = []

            async def one() -> None:
                fresh.append(await provider.refresh_after_rejection(first))

            async with anyio.create_task_group() as tg:
                for _ in range(100):
                    tg.start_soon(one)
            assert len(set(fresh)) == 1 and fresh[0] != first
            assert provider.refreshes == 1
            # A rejection of a token that was already replaced costs nothing.
            assert await provider.refresh_after_rejection(first) == fresh[0]

    anyio.run(main)
    assert sandbox.state.stats.count(TOKEN_ROUTE) == 1


@pytest.mark.serial
def test_short_lived_tokens_are_refreshed_before_they_expire() -> None:
    """2 s tokens: the margin is min(60 s, lifetime/4) = 0.5 s, so no request sees a 401."""
    statuses: list[int] = []
    token_requests: list[tuple[float, int]] = []
    with running_sandbox(seed_descriptors=True) as sandbox:
        sandbox.set_faults(token_lifetime_s=2)

        async def main() -> None:
            async with httpx.AsyncClient(base_url=sandbox.base_url) as client:
                provider = TokenProvider(
                    f"{sandbox.base_url}/oauth/token",
                    _credentials(sandbox),
                    client=client,
                    on_token_request=lambda ms, status: token_requests.append((ms, status)),
                )
                deadline = time.monotonic() + 4.2
                while time.monotonic() < deadline:
                    token = await provider.token()
                    r = await client.get(
                        "/data/ed-fi/students?limit=1",
                        headers={"authorization": f"Bearer {token}"},
                    )
                    statuses.append(r.status_code)
                    await anyio.sleep(0.02)
                assert provider.refreshes >= 2

        anyio.run(main)
    assert statuses and set(statuses) == {200}
    assert all(status == 200 and ms >= 0 for ms, status in token_requests)
    assert len(token_requests) >= 3


def test_refresh_margin_follows_an_injected_clock() -> None:
    """Inside the margin the old token is still handed out while one background refresh
    runs; past the expiry (5 s before expires_in) callers wait for a new one."""
    now = [1000.0]
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        assert request.headers["authorization"].startswith("Basic ")
        return httpx.Response(200, json={"access_token": f"t{len(calls)}", "expires_in": 1800})

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            provider = TokenProvider(
                "http://dms.test/oauth/token",
                ClientCredentials.of("k", "s"),
                client=client,
                clock=lambda: now[0],
            )
            assert await provider.token() == "t1"
            now[0] += 1800 - 60 - 0.001  # just before the 60 s margin
            assert await provider.token() == "t1" and not provider.refreshing
            now[0] += 0.002
            assert await provider.token() == "t1"  # at once, the refresh runs meanwhile
            assert provider.refreshing
            assert await provider.token() == "t1"  # and only one refresh runs
            await provider.wait_refreshed()
            assert await provider.token() == "t2"
            assert provider.refreshes == 1 and len(calls) == 2
            now[0] += 1800 - 5  # t2 has expired: the caller waits for t3
            assert await provider.token() == "t3"
            assert provider.refreshes == 2
            await provider.aclose()

    anyio.run(main)
    assert len(calls) == 3


def test_form_style_sends_client_id_and_secret_fields() -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        assert "authorization" not in request.headers
        return httpx.Response(200, json={"access_token": "t", "expires_in": 60})

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            provider = TokenProvider(
                "http://kc.test/token",
                ClientCredentials.of("my id", "s&cret"),
                client=client,
                auth_style="form",
            )
            await provider.token()

    anyio.run(main)
    assert bodies == [b"grant_type=client_credentials&client_id=my+id&client_secret=s%26cret"]


class _FlakyTokenServer(http.server.BaseHTTPRequestHandler):
    """Answers 401 to the first `failures` token requests, then 200."""

    failures = 2
    seen = 0

    def do_POST(self) -> None:
        type(self).seen += 1
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if type(self).seen <= self.failures:
            status, body = 401, b'{"detail": "The specified client credentials are invalid."}'
        else:
            status, body = 200, b'{"access_token": "fresh", "expires_in": 1800}'
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def flaky_server() -> Iterator[str]:
    _FlakyTokenServer.seen = 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FlakyTokenServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/oauth/token"
    finally:
        server.shutdown()
        server.server_close()


def test_new_key_401_is_retried_within_the_grace_saying_so_once(flaky_server: str) -> None:
    statuses: list[int] = []
    notices: list[str] = []

    async def main() -> str:
        async with httpx.AsyncClient() as client:
            provider = TokenProvider(
                flaky_server,
                ClientCredentials.of("new", "key"),
                client=client,
                new_key_grace_s=30.0,
                new_key_retry_s=0.05,
                on_token_request=lambda ms, status: statuses.append(status),
                notice=notices.append,
            )
            return await provider.token()

    assert anyio.run(main) == "fresh"
    assert statuses == [401, 401, 200]
    assert notices == ["dmsload: the new key is not accepted yet (401); retrying for up to 30 s"]


@pytest.mark.serial
def test_without_a_grace_a_401_fails_at_once(flaky_server: str) -> None:
    """The default: a key that is not new (a wrong secret) is not retried for 30 s."""
    statuses: list[int] = []
    notices: list[str] = []

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            provider = TokenProvider(
                flaky_server,
                ClientCredentials.of("old", "key"),
                client=client,
                on_token_request=lambda ms, status: statuses.append(status),
                notice=notices.append,
            )
            with pytest.raises(AuthError) as info:
                await provider.token()
            assert str(info.value) == (
                f"token request to {flaky_server} answered 401: "
                "The specified client credentials are invalid."
            )

    started = time.monotonic()
    anyio.run(main)
    assert time.monotonic() - started < 1.0
    assert statuses == [401] and notices == []


def test_401_after_the_grace_is_one_line_without_the_secret(sandbox: SandboxHandle) -> None:
    async def main() -> None:
        async with httpx.AsyncClient() as client:
            provider = TokenProvider(
                f"{sandbox.base_url}/oauth/token",
                ClientCredentials.of("minimalKey", "wrong-secret-value"),
                client=client,
                new_key_grace_s=0.2,
                new_key_retry_s=0.05,
            )
            with pytest.raises(AuthError) as info:
                await provider.token()
            message = str(info.value)
            assert info.value.status == 401
            assert "401" in message and "credentials are invalid" in message
            assert "wrong-secret-value" not in message and "\n" not in message

    anyio.run(main)


def test_400_is_not_retried_and_connection_errors_report_status_0() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(400, json={"detail": "Malformed Authorization header"})

    statuses: list[int] = []

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            provider = TokenProvider(
                "http://dms.test/oauth/token", ClientCredentials.of("k", "s"), client=client
            )
            with pytest.raises(AuthError, match="400: Malformed Authorization header"):
                await provider.token()
        async with httpx.AsyncClient() as client:
            refused = TokenProvider(
                "http://127.0.0.1:9/oauth/token",
                ClientCredentials.of("k", "s"),
                client=client,
                on_token_request=lambda ms, status: statuses.append(status),
            )
            with pytest.raises(AuthError, match="cannot reach"):
                await refused.token()

    anyio.run(main)
    assert calls == [1]
    assert statuses == [0]


def test_secrets_never_show_in_repr() -> None:
    credentials = ClientCredentials.of("key1", "topsecret")
    provider = TokenProvider("http://dms.test/oauth/token", credentials, client=httpx.AsyncClient())
    for text in (repr(credentials), str(credentials), repr(provider)):
        assert "topsecret" not in text


def _scripted_token_server(plan: list[tuple[float, int]], lifetime_s: float) -> type:
    """A handler answering token request i after `plan[i][0]` s with status `plan[i][1]`
    (the last entry repeats); it logs (sent-at, answered-at) per request in `log`."""

    class Handler(http.server.BaseHTTPRequestHandler):
        log: ClassVar[list[tuple[float, float]]] = []

        def do_POST(self) -> None:
            arrived = time.monotonic()
            self.rfile.read(int(self.headers.get("content-length", 0)))
            index = len(self.log)
            delay, status = plan[min(index, len(plan) - 1)]
            time.sleep(delay)
            if status == 200:
                body = b'{"access_token": "t%d", "expires_in": %g}' % (index + 1, lifetime_s)
            else:
                body = b'{"detail": "down for a moment"}'
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            type(self).log.append((arrived, time.monotonic()))

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.mark.serial
def test_callers_keep_getting_the_valid_token_during_a_slow_refresh() -> None:
    """4 s tokens: the refresh starts at 3 s (lifetime/4 early), the token counts as expired
    at 3.6 s; the refresh takes 0.3 s, and meanwhile 10 callers never wait for it."""
    handler = _scripted_token_server([(0.0, 200), (0.3, 200)], lifetime_s=4)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/oauth/token"
    calls: list[tuple[float, float, str]] = []  # (asked, answered, token)
    statuses: list[int] = []

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            provider = TokenProvider(
                url,
                ClientCredentials.of("k", "s"),
                client=client,
                on_token_request=lambda ms, status: statuses.append(status),
            )
            assert await provider.token() == "t1"
            deadline = time.monotonic() + 3.5

            async def caller() -> None:
                while time.monotonic() < deadline:
                    asked = time.monotonic()
                    token = await provider.token()
                    calls.append((asked, time.monotonic(), token))
                    await anyio.sleep(0.01)

            async with anyio.create_task_group() as tg:
                for _ in range(10):
                    tg.start_soon(caller)
            assert await provider.token() == "t2" and provider.refreshes == 1
            await provider.aclose()

    try:
        anyio.run(main)
    finally:
        server.shutdown()
        server.server_close()
    assert len(handler.log) == 2 and statuses == [200, 200]
    refresh_sent, refresh_answered = handler.log[1]
    assert refresh_answered - refresh_sent >= 0.3
    during = [c for c in calls if refresh_sent < c[0] and c[1] < refresh_answered]
    assert len(during) >= 50, len(during)  # requests kept flowing while it was slow
    assert {token for _, _, token in during} == {"t1"}
    assert max(answered - asked for asked, answered, _ in calls) < 0.1
    assert calls[-1][2] == "t2"


def test_a_failed_refresh_keeps_the_valid_token_and_retries_until_it_expires() -> None:
    now = [0.0]
    answers = iter([200, 500, 500, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        if status != 200:
            return httpx.Response(status, json={"detail": "down"})
        return httpx.Response(200, json={"access_token": f"t{now[0]:g}", "expires_in": 100})

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            provider = TokenProvider(
                "http://dms.test/oauth/token",
                ClientCredentials.of("k", "s"),
                client=client,
                clock=lambda: now[0],
            )
            assert await provider.token() == "t0"  # refresh at 75 s, expired at 95 s
            now[0] = 80.0
            assert await provider.token() == "t0"
            await provider.wait_refreshed()  # 500: t0 stays, retried 5 s later
            assert provider.refresh_failures == 1 and "500" in str(provider.last_refresh_error)
            assert await provider.token() == "t0" and not provider.refreshing
            now[0] = 85.0
            assert await provider.token() == "t0"
            await provider.wait_refreshed()
            assert provider.refresh_failures == 2
            now[0] = 89.0
            assert await provider.token() == "t0" and not provider.refreshing  # next at 90 s
            now[0] = 95.0
            assert await provider.token() == "t95"  # expired: this caller waited
            assert provider.refreshes == 1

    anyio.run(main)
