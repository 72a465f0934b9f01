"""The registry: definitions, tagged series, sub-metric views and merging."""

from __future__ import annotations

import pytest

from dmsload.metrics import (
    BUILTIN_KINDS,
    MetricError,
    MetricKind,
    Registry,
    ValueType,
    define_builtin_metrics,
    make_tags,
)
from dmsload.metrics.registry import MAX_SERIES_PER_METRIC, OVERFLOW_TAGS


def test_builtins_have_k6_names_and_kinds() -> None:
    registry = Registry()
    builtins = define_builtin_metrics(registry)
    assert builtins.http_req_duration.kind is MetricKind.TREND
    assert builtins.http_req_duration.contains is ValueType.TIME
    assert builtins.http_req_failed.kind is MetricKind.RATE
    assert builtins.data_sent.contains is ValueType.DATA
    assert builtins.vus.kind is MetricKind.GAUGE
    for name in (
        "http_reqs",
        "http_req_waiting",
        "http_req_connecting",
        "http_req_sending",
        "http_req_receiving",
        "http_req_blocked",
        "iterations",
        "iteration_duration",
        "dropped_iterations",
        "vus_max",
        "data_received",
        "checks",
    ):
        assert registry.get(name) is not None
        assert name in BUILTIN_KINDS


def test_define_is_idempotent_but_refuses_a_kind_change_and_bad_names() -> None:
    registry = Registry()
    first = registry.define("entity_creation_time", MetricKind.TREND, ValueType.TIME)
    assert registry.define("entity_creation_time", MetricKind.TREND, ValueType.TIME) is first
    with pytest.raises(MetricError, match="already a trend"):
        registry.define("entity_creation_time", MetricKind.COUNTER)
    with pytest.raises(MetricError, match="letters, digits"):
        registry.define("9lives", MetricKind.COUNTER)


def _http_registry() -> Registry:
    registry = Registry()
    m = define_builtin_metrics(registry)
    spike_post = make_tags({"scenario": "spike", "method": "POST", "status": "201"})
    spike_get = make_tags({"scenario": "spike", "method": "GET", "status": "200"})
    base_get = make_tags({"scenario": "base", "method": "GET", "status": "200"})
    for value in (10_000, 20_000, 30_000):
        registry.add_trend_us(m.http_req_duration, value, spike_post)
    for value in (1_000, 2_000):
        registry.add_trend_us(m.http_req_duration, value, spike_get)
    registry.add_trend_us(m.http_req_duration, 500_000, base_get)
    for tags, failed in ((spike_post, 0), (spike_get, 1), (base_get, 0)):
        registry.add(m.http_req_failed, failed, tags)
        registry.add(m.http_reqs, 1, tags)
    return registry


def test_views_select_sub_metrics_by_tags() -> None:
    registry = _http_registry()
    whole = registry.view("http_req_duration")
    assert whole is not None and whole.count == 6
    post = registry.view("http_req_duration", {"scenario": "spike", "method": "POST"})
    assert post is not None
    assert post.value("count", 1) == 3
    assert post.value("avg", 1) == 20.0  # ms
    assert post.value("min", 1) == 10.0
    assert post.value("max", 1) == 30.0
    assert post.value("med", 1) == pytest.approx(20.0, rel=1e-3)
    spike = registry.view("http_req_duration", make_tags({"scenario": "spike"}))
    assert spike is not None and spike.count == 5
    assert registry.view("http_req_duration", {"scenario": "nope"}) is None
    assert registry.view("no_such_metric") is None


def test_percentiles_stay_within_min_and_max() -> None:
    registry = _http_registry()
    view = registry.view("http_req_duration")
    assert view is not None
    assert view.value("p(100)", 1) == 500.0
    assert view.value("p(0)", 1) == 1.0
    assert view.value("p(99.9)", 1) == 500.0


def test_counter_rate_divides_by_elapsed_and_rate_metrics_share() -> None:
    registry = _http_registry()
    reqs = registry.view("http_reqs")
    assert reqs is not None
    assert reqs.value("count", 2.0) == 3
    assert reqs.value("rate", 2.0) == 1.5
    failed = registry.view("http_req_failed")
    assert failed is not None
    assert failed.value("rate", 1) == pytest.approx(1 / 3)
    with pytest.raises(MetricError, match="does not apply"):
        failed.value("p(95)", 1)


def test_gauge_view_takes_the_latest_value() -> None:
    registry = Registry()
    vus = registry.define("vus", MetricKind.GAUGE)
    for value in (1, 8, 3):
        registry.add(vus, value, ())
    view = registry.view("vus")
    assert view is not None
    assert (view.value("value", 1), view.value("min", 1), view.value("max", 1)) == (3, 1, 8)


def test_merge_combines_registries_losslessly() -> None:
    left, right = _http_registry(), _http_registry()
    left.merge(right)
    view = left.view("http_req_duration", {"method": "POST"})
    assert view is not None and view.count == 6
    failed = left.view("http_req_failed")
    assert failed is not None and failed.rate_parts() == (2, 6)


def test_series_are_capped_per_metric() -> None:
    registry = Registry()
    metric = registry.define("hits", MetricKind.COUNTER)
    for i in range(MAX_SERIES_PER_METRIC + 50):
        registry.add(metric, 1, make_tags({"id": str(i)}))
    assert len(metric.series) == MAX_SERIES_PER_METRIC + 1
    assert metric.overflowed == 50
    overflow = registry.view("hits", OVERFLOW_TAGS)
    assert overflow is not None and overflow.counter_total() == 50
