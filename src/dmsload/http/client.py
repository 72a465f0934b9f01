"""One VU's HTTP client over httpx, and the recorder that turns each request into k6 metrics."""

from __future__ import annotations

import errno
import ssl
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from dmsload.http.timing import RequestTiming
from dmsload.metrics import BuiltinMetrics, Registry, TagSet, make_tags

DEFAULT_TIMEOUT_S = 60.0  # k6's default request timeout
USER_AGENT = "dmsload"


def shared_ssl_context(verify: bool = True) -> ssl.SSLContext:
    """One SSL context for every VU: building one per client costs ~20 ms each."""
    if verify:
        return ssl.create_default_context()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@dataclass(slots=True)
class HttpResponse:
    """What a workload sees of a response: status 0 and `error` when no response came."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    error: str | None
    duration_ms: float
    expected: bool

    def json(self) -> Any:
        """The body decoded as JSON (orjson)."""
        return orjson.loads(self.content)


@dataclass
class RequestCounters:
    """Per-scenario totals for the live progress line."""

    requests: int = 0
    failed: int = 0


FailureSink = Callable[[str, str, str, int, str | None], None]
"""Called as (scenario, method, name, status, error) for each failed request (-v)."""


def _is_default_expected(status: int) -> bool:
    return 200 <= status < 400


@dataclass
class RequestRecorder:
    """Records one request's samples into the registry with k6's tags; shared by a scenario."""

    registry: Registry
    metrics: BuiltinMetrics
    scenario_tags: Mapping[str, str]
    counters: RequestCounters = field(default_factory=RequestCounters)
    on_failure: FailureSink | None = None
    _tag_cache: dict[tuple[object, ...], TagSet] = field(default_factory=dict)
    _base: TagSet = ()

    def __post_init__(self) -> None:
        self._base = make_tags(self.scenario_tags)

    @property
    def base_tags(self) -> TagSet:
        """The scenario's tags (scenario name plus profile and scenario tags)."""
        return self._base

    def tags_for(
        self,
        method: str,
        name: str,
        status: int,
        expected: bool,
        error: str | None,
        extra: Mapping[str, str] | None,
    ) -> TagSet:
        """The tag set of one request sample, cached by its parts."""
        extra_key = tuple(extra.items()) if extra else ()
        key = (method, name, status, expected, error, extra_key)
        tags = self._tag_cache.get(key)
        if tags is None:
            merged = dict(self.scenario_tags)
            if extra:
                merged.update(extra)
            merged.update(
                method=method,
                name=name,
                status=str(status),
                expected_response="true" if expected else "false",
            )
            if error:
                merged["error"] = error
            tags = make_tags(merged)
            if len(self._tag_cache) < 100_000:
                self._tag_cache[key] = tags
        return tags

    def record(
        self,
        method: str,
        name: str,
        status: int,
        expected: bool,
        error: str | None,
        timing: RequestTiming,
        sent_bytes: int,
        received_bytes: int,
        extra: Mapping[str, str] | None,
        intended_ns: int | None,
    ) -> int:
        """Record every sample of one request; returns http_req_duration in µs."""
        reg = self.registry
        m = self.metrics
        tags = self.tags_for(method, name, status, expected, error, extra)
        duration, blocked, connecting, tls, sending, waiting, receiving = timing.phases_us()
        reg.add(m.http_reqs, 1.0, tags)
        reg.add_trend_us(m.http_req_duration, duration, tags)
        reg.add_trend_us(m.http_req_blocked, blocked, tags)
        reg.add_trend_us(m.http_req_connecting, connecting, tags)
        reg.add_trend_us(m.http_req_tls_handshaking, tls, tags)
        reg.add_trend_us(m.http_req_sending, sending, tags)
        reg.add_trend_us(m.http_req_waiting, waiting, tags)
        reg.add_trend_us(m.http_req_receiving, receiving, tags)
        reg.add(m.http_req_failed, 0.0 if expected else 1.0, tags)
        if intended_ns is not None:
            reg.add_trend_us(m.http_req_latency_intended, (timing.end - intended_ns) // 1000, tags)
        base = self._base
        reg.add(m.data_sent, float(sent_bytes), base)
        reg.add(m.data_received, float(received_bytes), base)
        counters = self.counters
        counters.requests += 1
        if not expected:
            counters.failed += 1
            if self.on_failure is not None:
                self.on_failure(self.scenario_tags.get("scenario", ""), method, name, status, error)
        return duration


def describe_error(exc: BaseException) -> str:
    """A short, stable `error` tag for a failed request (no addresses, no secrets)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno is not None:
            if cause.errno == errno.ECONNREFUSED:
                return "connection refused"
            if cause.errno == errno.ECONNRESET:
                return "connection reset by peer"
            if cause.errno == errno.EPIPE:
                return "broken pipe"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.TimeoutException):
        return "request timeout"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "server closed the connection"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        if "refused" in text:
            return "connection refused"
        return "connect error"
    if isinstance(exc, httpx.ReadError):
        return "read error"
    if isinstance(exc, httpx.WriteError):
        return "write error"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return "invalid URL"
    return type(exc).__name__


def _request_bytes(method: str, url: httpx.URL, headers: httpx.Headers, body_len: int) -> int:
    """HTTP/1.1 bytes on the wire for the request line, headers and body."""
    size = len(method) + len(url.raw_path) + 12  # "M path HTTP/1.1\r\n"
    for key, value in headers.raw:
        size += len(key) + len(value) + 4
    return size + 2 + body_len


def _response_bytes(response: httpx.Response) -> int:
    size = 17 + len(response.reason_phrase)  # "HTTP/1.1 200 OK\r\n"
    for key, value in response.headers.raw:
        size += len(key) + len(value) + 4
    return size + 2 + response.num_bytes_downloaded


class HttpClient:
    """One VU's connection: a single keep-alive HTTP/1.1 connection, timed per request.

    Each VU owns one `httpx.AsyncClient` limited to one connection, k6's layout; one shared
    pool is 3x slower in httpx (perf-anchors.md, conclusion 3).
    """

    def __init__(
        self,
        recorder: RequestRecorder,
        *,
        ssl_context: ssl.SSLContext,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.recorder = recorder
        self._client = httpx.AsyncClient(
            verify=ssl_context,
            timeout=timeout_s,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            follow_redirects=False,
        )
        self.intended_ns: int | None = None
        """Intended start of the current arrival-rate iteration; consumed by its first request."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        name: str | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | str | None = None,
        json: Any = None,
        params: Mapping[str, str | int | float | bool] | None = None,
        expected_statuses: Collection[int] | None = None,
        tags: Mapping[str, str] | None = None,
        record: bool = True,
    ) -> HttpResponse:
        """Send one request and record it; network errors become status 0 with an `error`."""
        body: bytes | None
        if json is not None:
            body = orjson.dumps(json)
            merged = {"Content-Type": "application/json", **(headers or {})}
        else:
            body = content.encode() if isinstance(content, str) else content
            merged = dict(headers) if headers else {}
        timing = RequestTiming()
        request = self._client.build_request(
            method,
            url,
            content=body,
            headers=merged,
            params=params,
            extensions={"trace": timing},
        )
        status = 0
        error: str | None = None
        resp_headers: Mapping[str, str] = {}
        payload = b""
        received = 0
        try:
            response = await self._client.send(request)
            timing.finish()
            status = response.status_code
            resp_headers = response.headers
            payload = response.content
            received = _response_bytes(response)
        except httpx.HTTPError as exc:
            timing.finish()
            error = describe_error(exc)
        if expected_statuses is None:
            expected = _is_default_expected(status)
        else:
            expected = status in expected_statuses
        intended = self.intended_ns
        self.intended_ns = None
        duration_us = timing.phases_us()[0]
        if record:
            duration_us = self.recorder.record(
                method,
                name or url,
                status,
                expected,
                error,
                timing,
                _request_bytes(method, request.url, request.headers, len(body or b"")),
                received,
                tags,
                intended,
            )
        return HttpResponse(status, resp_headers, payload, error, duration_us / 1000.0, expected)

    async def aclose(self) -> None:
        """Close the connection."""
        await self._client.aclose()
