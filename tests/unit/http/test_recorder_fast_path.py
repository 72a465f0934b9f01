"""The recorder's fast path (samples appended to the sinks' buffers, no call per sample)
records exactly what the registry's path, the one an output's tap takes, records."""

from __future__ import annotations

import random

from dmsload.http.client import RequestRecorder
from dmsload.http.timing import (
    CONNECT_END,
    CONNECT_START,
    FIRST_BYTE,
    SEND_END,
    SEND_START,
    TLS_END,
    TLS_START,
    RequestTiming,
)
from dmsload.metrics import Metric, Registry, TagSet, define_builtin_metrics
from dmsload.metrics.sinks import CounterSink, RateSink, TrendSink

_METRICS = (
    "http_reqs",
    "http_req_duration",
    "http_req_blocked",
    "http_req_connecting",
    "http_req_tls_handshaking",
    "http_req_sending",
    "http_req_waiting",
    "http_req_receiving",
    "http_req_failed",
    "http_req_latency_intended",
    "data_sent",
    "data_received",
)


class _Tap:
    """An output's tap that only counts what it is given."""

    def __init__(self) -> None:
        self.samples = 0

    def put(self, metric: Metric, tags: TagSet, value: float) -> None:
        self.samples += 1


def _requests(count: int) -> list[tuple[str, int, bool, RequestTiming, int, int, int | None]]:
    rng = random.Random(13)
    out = []
    for i in range(count):
        timing = RequestTiming()
        start = timing.start
        if i % 97 == 0:  # a connect error: never sent
            timing.end = start + rng.randrange(1, 5_000_000)
        else:
            marks = timing.marks
            if i % 50 == 1:  # a new connection, every other one with TLS
                marks[CONNECT_START] = start + 1_000
                marks[CONNECT_END] = start + 1_000 + rng.randrange(50_000, 900_000)
                if i % 100 == 1:
                    marks[TLS_START] = marks[CONNECT_END]
                    marks[TLS_END] = marks[TLS_START] + rng.randrange(100_000, 3_000_000)
                start = max(marks[CONNECT_END], marks[TLS_END])
            marks[SEND_START] = start + rng.randrange(0, 3_000)
            marks[SEND_END] = marks[SEND_START] + rng.randrange(0, 20_000)
            marks[FIRST_BYTE] = marks[SEND_END] + rng.randrange(0, 9_000_000)
            timing.end = marks[FIRST_BYTE] + rng.randrange(0, 400_000)
        status = rng.choice((200, 200, 200, 201, 404, 0))
        intended = start - rng.randrange(0, 2_000_000) if i % 3 == 0 else None
        name = rng.choice(("a", "b"))
        out.append((name, status, status in (200, 201), timing, 100 + i % 7, 300 + i, intended))
    return out


def _record(
    registry: Registry, requests: list[tuple[str, int, bool, RequestTiming, int, int, int | None]]
) -> RequestRecorder:
    recorder = RequestRecorder(registry, define_builtin_metrics(registry), {"scenario": "s"})
    for name, status, expected, timing, sent, received, intended in requests:
        error = None if status else "connection refused"
        recorder.record(
            "GET", name, status, expected, error, timing, sent, received, None, intended
        )
        if registry.tap is None:
            for sinks in recorder._sinks.values():  # each trend folds at its own batch size
                for trend in sinks.trends:
                    assert len(trend._pending) < trend._flush_at
    return recorder


def _state(registry: Registry) -> dict[tuple[str, TagSet], tuple[object, ...]]:
    state: dict[tuple[str, TagSet], tuple[object, ...]] = {}
    for metric, tags, sink in registry.series():
        if metric.name not in _METRICS:
            continue
        if isinstance(sink, TrendSink):
            hist = sink.histogram()
            counts = tuple(hist.counts)
            state[metric.name, tags] = (sink.samples, sink.sum, sink.min, sink.max, counts)
        elif isinstance(sink, CounterSink):
            state[metric.name, tags] = (sink.samples, sink.total, type(sink.total))
        elif isinstance(sink, RateSink):
            state[metric.name, tags] = (sink.samples, sink.trues)
    return state


def test_the_fast_path_records_what_the_registry_path_records() -> None:
    requests = _requests(7_000)  # more than any trend's batch (2,048 to 2,944)
    fast = Registry()
    _record(fast, requests)
    tapped = Registry()
    tap = _Tap()
    tapped.tap = tap
    _record(tapped, requests)
    assert tap.samples > 7_000 * 10
    expected = _state(tapped)
    assert len(expected) > 20  # tag sets by name, status and error, each with its series
    assert _state(fast) == expected
