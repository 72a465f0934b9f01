"""One VU's HTTP client over httpx, and the recorder that turns each request into k6 metrics."""

from __future__ import annotations

import errno
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import orjson

from dmsload import __version__
from dmsload.http.connection import Http11Connection, ResponseTooLarge
from dmsload.http.request_head import HeadBuilder, Origin, TargetParser
from dmsload.http.response_headers import NO_HEADERS, ResponseHeaders
from dmsload.http.timing import RequestTiming
from dmsload.http.tls import TlsSource
from dmsload.http.transport import VUTransport
from dmsload.metrics import BuiltinMetrics, Metric, Registry, TagSet, make_tags
from dmsload.metrics.sinks import CounterSink, RateSink, TrendSink

DEFAULT_TIMEOUT_S = 60.0  # k6's default request timeout
PROTO = "HTTP/1.1"
"""The `proto` tag: dmsload's transport speaks HTTP/1.1 only."""
USER_AGENT = f"dmsload/{__version__}"


@dataclass(slots=True)
class HttpResponse:
    """What a workload sees of a response: status 0 and `error` when no response came."""

    status: int
    head: bytes
    """The response's status line and header lines as they came (empty when no response
    came); `headers` decodes them on first use."""
    content: bytes
    error: str | None
    duration_ms: float
    expected: bool
    _headers: Mapping[str, str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def headers(self) -> Mapping[str, str]:
        """The response headers, case-insensitive (decoded on first use; most are never read)."""
        headers = self._headers
        if headers is None:
            headers = self._headers = ResponseHeaders(head=self.head) if self.head else NO_HEADERS
        return headers

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


class _LazyTrend:
    """A trend series created on its first sample (`http_req_latency_intended` exists only
    for arrival-rate iterations)."""

    __slots__ = ("_metric", "_sink", "_tags")

    def __init__(self, metric: Metric, tags: TagSet) -> None:
        self._metric = metric
        self._tags = tags
        self._sink: TrendSink | None = None

    def add_scaled(self, value: int) -> None:
        sink = self._sink
        if sink is None:
            sink = self._sink = cast(TrendSink, self._metric.sink(self._tags))
        sink.add_scaled(value)


@dataclass(slots=True)
class _RequestSinks:
    """The sinks one request's samples go to, for one tag set: one lookup per request.

    The seven phase trends are written through their buffers' `append` (`TrendSink.appender`)
    instead of a call per sample; `until_fold` counts down the requests until one of them
    holds a batch to fold (`TrendSink.fold_due`), so each folds at its own batch size as if
    it were fed by `add_scaled`.
    """

    reqs: CounterSink
    trends: tuple[TrendSink, TrendSink, TrendSink, TrendSink, TrendSink, TrendSink, TrendSink]
    """duration, blocked, connecting, tls, sending, waiting, receiving."""
    failed: RateSink
    intended: _LazyTrend
    appends: tuple[Callable[[int], None], ...] = ()
    until_fold: int = 0

    def __post_init__(self) -> None:
        self.appends = tuple(trend.appender() for trend in self.trends)
        self.until_fold = self.fold_due()

    def fold_due(self) -> int:
        """Fold the trends holding a batch; how many requests until the next one does."""
        return max(1, min(trend.fold_due() for trend in self.trends))


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
    _sinks: dict[TagSet, _RequestSinks] = field(default_factory=dict)
    _sinks_by_key: dict[tuple[object, ...], _RequestSinks] = field(default_factory=dict)
    """The same sinks by the parts `tags_for` builds a tag set from (no tag set hashed)."""
    _data_sinks: tuple[CounterSink, CounterSink] | None = None
    _epoch: int = 0

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

    def _sinks_for(self, tags: TagSet) -> _RequestSinks:
        m = self.metrics

        def trend(metric: Metric) -> TrendSink:
            return cast(TrendSink, metric.sink(tags))

        sinks = _RequestSinks(
            cast(CounterSink, m.http_reqs.sink(tags)),
            (
                trend(m.http_req_duration),
                trend(m.http_req_blocked),
                trend(m.http_req_connecting),
                trend(m.http_req_tls_handshaking),
                trend(m.http_req_sending),
                trend(m.http_req_waiting),
                trend(m.http_req_receiving),
            ),
            cast(RateSink, m.http_req_failed.sink(tags)),
            _LazyTrend(m.http_req_latency_intended, tags),
        )
        if len(self._sinks) < 100_000:
            self._sinks[tags] = sinks
        return sinks

    def _record_tapped(
        self,
        tags: TagSet,
        timing: RequestTiming,
        duration: int,
        blocked: int,
        connecting: int,
        tls: int,
        sending: int,
        waiting: int,
        receiving: int,
        expected: bool,
        intended_ns: int | None,
        sent_bytes: int,
        received_bytes: int,
    ) -> None:
        reg = self.registry
        m = self.metrics
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
        duration, blocked, connecting, tls, sending, waiting, receiving = timing.phases_ns()
        if reg.tap is None:  # the common case: straight into this tag set's sinks
            if self._epoch != reg.epoch:  # the series were moved out (a worker's drain)
                self._sinks.clear()
                self._sinks_by_key.clear()
                self._data_sinks = None
                self._epoch = reg.epoch
            key = (method, name, status, expected, error, tuple(extra.items()) if extra else ())
            sinks = self._sinks_by_key.get(key)
            if sinks is None:
                tags = self.tags_for(method, name, status, expected, error, extra)
                sinks = self._sinks.get(tags) or self._sinks_for(tags)
                if len(self._sinks_by_key) < 100_000:
                    self._sinks_by_key[key] = sinks
            # CounterSink.add, TrendSink.add_scaled and RateSink.add, written out: a call per
            # sample was a tenth of the closed loop's instructions (docs/performance.md)
            reqs = sinks.reqs
            reqs.total += 1.0
            reqs.samples += 1
            add_d, add_b, add_c, add_t, add_s, add_w, add_r = sinks.appends
            add_d(duration // 1000)
            add_b(blocked // 1000)
            add_c(connecting // 1000)
            add_t(tls // 1000)
            add_s(sending // 1000)
            add_w(waiting // 1000)
            add_r(receiving // 1000)
            sinks.until_fold -= 1
            if not sinks.until_fold:
                sinks.until_fold = sinks.fold_due()
            failed = sinks.failed
            failed.samples += 1
            if not expected:
                failed.trues += 1
            if intended_ns is not None:
                sinks.intended.add_scaled((timing.end - intended_ns) // 1000)
            data = self._data_sinks
            if data is None:
                data = self._data_sinks = (
                    cast(CounterSink, self.metrics.data_sent.sink(self._base)),
                    cast(CounterSink, self.metrics.data_received.sink(self._base)),
                )
            sent, received = data
            sent.total += sent_bytes  # as float(sent_bytes): the total is a float
            sent.samples += 1
            received.total += received_bytes
            received.samples += 1
        else:  # an output is taking every sample: the registry's path, which feeds it
            tags = self.tags_for(method, name, status, expected, error, extra)
            self._record_tapped(
                tags, timing, duration, blocked, connecting, tls, sending, waiting, receiving,
                expected, intended_ns, sent_bytes, received_bytes,
            )  # fmt: skip
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

    Each VU owns its connection, k6's layout. Requests go through dmsload's own HTTP/1.1
    connections (`VUTransport`): httpx's default stack costs ~400 µs of CPU per request, ten
    times k6 (docs/performance-notes.md, section 1). The request head is built directly
    (`request_head.py`), not as an httpx `Request`, which cost a fifth of the closed loop's
    CPU (docs/performance.md).
    """

    def __init__(
        self,
        recorder: RequestRecorder,
        *,
        ssl_context: TlsSource,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.recorder = recorder
        self._ssl_context = ssl_context
        self._timeout_s = timeout_s
        self._extra_headers = dict(headers or {})
        self._transport = VUTransport(ssl_context)
        self._last: tuple[Origin, Http11Connection] | None = None
        """The origin of the last request and its connection: the usual next one."""
        self._targets = TargetParser()
        self._heads = HeadBuilder({"User-Agent": USER_AGENT, **(headers or {})})
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
        resp_head = b""
        payload = b""
        sent = received = 0
        try:
            origin, target = self._targets.split(url, params)
            payload_out = body or b""
            head = self._heads.head(method, origin, target, headers, len(payload_out))
            last = self._last
            if last is not None and last[0] is origin:
                connection = last[1]
            else:
                connection = self._transport.connection_for_origin(origin)
                self._last = (origin, connection)
            timeout = self._timeout_s
            raw = await connection.request(method, head, payload_out, timing, timeout, timeout)
            timing.finish()
            status = raw.status
            resp_head = raw.head
            payload = raw.body
            sent = raw.sent_bytes
            received = raw.received_bytes
        except httpx.HTTPError as exc:
            timing.finish()
            error = describe_error(exc)
        except httpx.InvalidURL:
            timing.finish()
            error = "invalid URL"
        # k6's default expected statuses are 200 to 399
        expected = 200 <= status < 400 if expected_statuses is None else status in expected_statuses
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
        return HttpResponse(status, resp_head, payload, error, duration_us / 1000.0, expected)

    async def aclose(self) -> None:
        """Close the connection."""
        self._last = None
        await self._transport.aclose()
