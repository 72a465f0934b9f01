"""The recorder's cached sinks follow the registry when a worker drains it mid-run."""

from __future__ import annotations

from dmsload.http.client import RequestRecorder
from dmsload.http.timing import RequestTiming
from dmsload.metrics import Registry, define_builtin_metrics
from dmsload.metrics.wire import drain


def _record(recorder: RequestRecorder, count: int) -> None:
    for _ in range(count):
        timing = RequestTiming()
        timing.finish()
        recorder.record("GET", "x", 200, True, None, timing, 10, 20, None, None)


def test_no_sample_is_lost_across_drains() -> None:
    registry = Registry()
    recorder = RequestRecorder(registry, define_builtin_metrics(registry), {"scenario": "s"})
    total = Registry()
    for count in (3, 5, 7):
        _record(recorder, count)
        total.merge(drain(registry))  # folded at once, as a worker encodes and sends it
    _record(recorder, 2)
    total.merge(registry)
    for name in ("http_reqs", "http_req_duration", "http_req_failed", "data_sent"):
        view = total.view(name)
        assert view is not None and view.count == 17, name
    reqs = total.view("http_reqs")
    assert reqs is not None and reqs.counter_total() == 17
