"""One VU's HTTP client over httpx, and the recorder that turns each request into k6 metrics."""

from __future__ import annotations

import errno
import ssl
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from dmsload import __version__
from dmsload.http.connection import ResponseTooLarge
from dmsload.http.timing import RequestTiming
from dmsload.http.transport import TIMING_EXTENSION, VUTransport
from dmsload.metrics import BuiltinMetrics, Registry, TagSet, make_tags

DEFAULT_TIMEOUT_S = 60.0  # k6's default request timeout
PROTO = "HTTP/1.1"
"""The `proto` tag: dmsload's transport speaks HTTP/1.1 only."""
USER_AGENT = f"dmsload/{__version__}"
_NO_HEADERS: Mapping[str, str] = httpx.Headers()


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


FailureSink = Callable[[str, str, str, int, str | None, bytes], None]
"""Called as (scenario, method, name, status, error, body) for each failed request (-v)."""


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
        """The tag set of one request sample, cached by its parts.

        As k6: `url` is the request's name (k6 replaces the URL by the `name` tag, and `name`
        defaults to the URL) unless a `url` tag was given, and `proto` is `HTTP/1.1` when a
        response came.
        """
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
            merged.setdefault("url", name)  # a `url` tag the profile or workload gave wins
            if status:
                merged["proto"] = PROTO
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
        body: bytes = b"",
    ) -> int:
        """Record every sample of one request (timings in ns, as k6 keeps them); returns
        http_req_duration in µs. `body` (the response's) goes to `on_failure` when the request
        failed."""
        reg = self.registry
        m = self.metrics
        tags = self.tags_for(method, name, status, expected, error, extra)
        duration, blocked, connecting, tls, sending, waiting, receiving = timing.phases_ns()
        reg.add(m.http_reqs, 1.0, tags)
        reg.add_trend_ns(m.http_req_duration, duration, tags)
        reg.add_trend_ns(m.http_req_blocked, blocked, tags)
        reg.add_trend_ns(m.http_req_connecting, connecting, tags)
        reg.add_trend_ns(m.http_req_tls_handshaking, tls, tags)
        reg.add_trend_ns(m.http_req_sending, sending, tags)
        reg.add_trend_ns(m.http_req_waiting, waiting, tags)
        reg.add_trend_ns(m.http_req_receiving, receiving, tags)
        reg.add(m.http_req_failed, 0.0 if expected else 1.0, tags)
        if intended_ns is not None:
            reg.add_trend_ns(m.http_req_latency_intended, timing.end - intended_ns, tags)
        base = self._base
        reg.add(m.data_sent, float(sent_bytes), base)
        reg.add(m.data_received, float(received_bytes), base)
        counters = self.counters
        counters.requests += 1
        if not expected:
            counters.failed += 1
            if self.on_failure is not None:
                scenario = self.scenario_tags.get("scenario", "")
                self.on_failure(scenario, method, name, status, error, body)
        return duration // 1000


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
    if isinstance(exc, ResponseTooLarge):
        return "response body too large"
    if isinstance(exc, httpx.TimeoutException):
        return "request timeout"
    if isinstance(exc, httpx.RemoteProtocolError):
        if str(exc).startswith("Server disconnected"):
            return "server closed the connection"
        return "invalid HTTP response"
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
    return "request error"


class HttpClient:
    """One VU's connection: a single keep-alive HTTP/1.1 connection per origin, timed.

    Each VU owns its connection, k6's layout. Requests are httpx `Request`s sent through
    dmsload's own HTTP/1.1 transport (`VUTransport`): httpx's default stack costs ~400 µs of
    CPU per request, ten times k6 (docs/performance-notes.md, section 1).
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
        self._ssl_context = ssl_context
        self._timeout_s = timeout_s
        self._extra_headers = dict(headers or {})
        self._transport = VUTransport(ssl_context)
        self._timeout = {"connect": timeout_s, "read": timeout_s, "write": timeout_s}
        defaults = {"User-Agent": USER_AGENT, **(headers or {})}
        self._default_headers = {key.lower(): (key, value) for key, value in defaults.items()}
        self._urls: dict[str, httpx.URL] = {}
        self.intended_ns: int | None = None
        """Intended start of the current arrival-rate iteration; consumed by its first request."""

    def sibling(self) -> HttpClient:
        """Another connection with the same recorder, TLS settings, timeout and headers
        (for concurrent requests of one VU, as k6's `http.batch`)."""
        return HttpClient(
            self.recorder,
            ssl_context=self._ssl_context,
            timeout_s=self._timeout_s,
            headers=self._extra_headers,
        )

    @property
    def transport(self) -> VUTransport:
        """The VU's httpx transport, for an `httpx.AsyncClient(transport=...)` if one is needed."""
        return self._transport

    def _url(self, url: str) -> httpx.URL:
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = httpx.URL(url)
            if len(self._urls) < 16:  # URLs with ids are one-off: 4,096 per VU grew RSS
                self._urls[url] = parsed
        return parsed

    def _headers(self, extra: Mapping[str, str] | None) -> list[tuple[str, str]]:
        if not extra:
            return list(self._default_headers.values())
        merged = dict(self._default_headers)
        for key, value in extra.items():
            merged[key.lower()] = (key, value)
        return list(merged.values())

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
            headers = {"Content-Type": "application/json", **(headers or {})}
        else:
            body = content.encode() if isinstance(content, str) else content
        timing = RequestTiming()
        status = 0
        error: str | None = None
        resp_headers: Mapping[str, str] = _NO_HEADERS
        payload = b""
        sent = received = 0
        try:
            target = self._url(url)
            if params:
                target = target.copy_merge_params(params)
            request = httpx.Request(
                method,
                target,
                headers=self._headers(headers),
                content=body,
                extensions={"timeout": self._timeout, TIMING_EXTENSION: timing},
            )
            raw = await self._transport.send_raw(request, body or b"")
            timing.finish()
            status = raw.status
            resp_headers = httpx.Headers(raw.headers)
            payload = raw.body
            sent = raw.sent_bytes
            received = raw.received_bytes
        except httpx.HTTPError as exc:
            timing.finish()
            error = describe_error(exc)
        except httpx.InvalidURL:
            timing.finish()
            error = "invalid URL"
        if expected_statuses is None:
            expected = _is_default_expected(status)
        else:
            expected = status in expected_statuses
        intended = self.intended_ns
        self.intended_ns = None
        if record:
            duration_us = self.recorder.record(
                method,
                name or url,
                status,
                expected,
                error,
                timing,
                sent,
                received,
                tags,
                intended,
                payload,
            )
        else:
            duration_us = timing.phases_us()[0]
        return HttpResponse(status, resp_headers, payload, error, duration_us / 1000.0, expected)

    async def aclose(self) -> None:
        """Close the connection."""
        await self._transport.aclose()
