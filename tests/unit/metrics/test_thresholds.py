"""Thresholds: k6's grammar, per-kind rules, evaluation, no data and abort decisions."""

from __future__ import annotations

import pytest

from dmsload.metrics import (
    MetricKind,
    Registry,
    ThresholdEngine,
    ThresholdError,
    check_aggregation,
    define_builtin_metrics,
    make_tags,
    parse_metric_selector,
    parse_threshold,
)


@pytest.mark.parametrize(
    ("source", "aggregation", "op", "value"),
    [
        ("p(95)<500", "p(95)", "<", 500),
        ("p(99.9) <= 1500", "p(99.9)", "<=", 1500),
        ("  avg>1 ", "avg", ">", 1),
        ("med>=2.5", "med", ">=", 2.5),
        ("count==10", "count", "==", 10),
        ("count===10", "count", "===", 10),
        ("rate!=0", "rate", "!=", 0),
        ("value<-1", "value", "<", -1),
        ("min<1e3", "min", "<", 1000),
        ("p( 90 )<2", "p(90)", "<", 2),
    ],
)
def test_the_k6_grammar(source: str, aggregation: str, op: str, value: float) -> None:
    threshold = parse_threshold(source)
    assert (threshold.aggregation, threshold.operator, threshold.value) == (aggregation, op, value)
    assert threshold.source == source


def test_operators_compare_like_k6() -> None:
    assert parse_threshold("count===10").passes(10)
    assert not parse_threshold("count!=10").passes(10)
    assert parse_threshold("p(95)<500").passes(499.9)
    assert not parse_threshold("p(95)<500").passes(500)
    assert parse_threshold("p(95)<=500").passes(500)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("p95<500", r"unknown aggregation 'p95' \(did you mean p\(95\)\?\)"),
        ("P(95)<500", "unknown aggregation"),
        ("p(101)<5", "outside 0..100"),
        ("p(x)<5", "malformed percentile"),
        ("avg<fast", "not a number"),
        ("avg<nan", "not a finite number"),
        ("avg 500", "not a threshold"),
        ("", "not a threshold"),
    ],
)
def test_bad_expressions_say_why(source: str, message: str) -> None:
    with pytest.raises(ThresholdError, match=message):
        parse_threshold(source)


def test_aggregations_are_checked_against_the_metric_kind() -> None:
    assert check_aggregation(MetricKind.TREND, parse_threshold("p(99)<1")) is None
    assert check_aggregation(MetricKind.COUNTER, parse_threshold("rate<1")) is None
    assert check_aggregation(MetricKind.GAUGE, parse_threshold("value<1")) is None
    assert check_aggregation(MetricKind.RATE, parse_threshold("rate<1")) is None
    problem = check_aggregation(MetricKind.COUNTER, parse_threshold("p(95)<1"))
    assert problem is not None and "use count, rate" in problem
    problem = check_aggregation(MetricKind.RATE, parse_threshold("count<1"))
    assert problem is not None and "rate metric" in problem
    assert check_aggregation(MetricKind.TREND, parse_threshold("rate<1")) is not None


def test_metric_selectors() -> None:
    assert parse_metric_selector("http_reqs") == ("http_reqs", ())
    name, tags = parse_metric_selector("http_req_duration{ scenario:spike , method:POST }")
    assert name == "http_req_duration"
    assert tags == make_tags({"scenario": "spike", "method": "POST"})
    assert parse_metric_selector("group_duration{group:::inner}")[1] == (("group", "::inner"),)
    for bad, message in (
        ("http_req_duration{scenario:spike", "must end with"),
        ("http_req_duration{}", "at least one"),
        ("http_req_duration{scenario}", "tag:value"),
        ("bad name", "letters, digits"),
    ):
        with pytest.raises(ThresholdError, match=message):
            parse_metric_selector(bad)


def _registry_with(durations_us: list[int], failed: list[int]) -> Registry:
    registry = Registry()
    m = define_builtin_metrics(registry)
    tags = make_tags({"scenario": "s", "method": "GET"})
    for value in durations_us:
        registry.add_trend_us(m.http_req_duration, value, tags)
    for value in failed:
        registry.add(m.http_req_failed, value, tags)
        registry.add(m.http_reqs, 1, tags)
    return registry


def test_evaluation_passes_fails_and_reports_no_data() -> None:
    registry = _registry_with([100_000] * 99 + [900_000], [0] * 98 + [1, 1])
    engine = ThresholdEngine(
        {
            "http_req_duration": [parse_threshold("p(95)<200"), parse_threshold("max<500")],
            "http_req_duration{method:GET}": [parse_threshold("avg<200")],
            "http_req_duration{method:POST}": [parse_threshold("avg<200")],
            "http_req_failed": [parse_threshold("rate<0.01")],
            "http_reqs": [parse_threshold("rate>=20")],
            "dropped_iterations": [parse_threshold("count<1")],
        }
    )
    results = {(r.selector, r.threshold.source): r for r in engine.evaluate(registry, 5.0)}
    assert results[("http_req_duration", "p(95)<200")].ok is True
    worst = results[("http_req_duration", "max<500")]
    assert worst.ok is False and worst.observed == 900.0
    assert results[("http_req_duration{method:GET}", "avg<200")].ok is True
    assert results[("http_req_duration{method:POST}", "avg<200")].ok is None
    assert results[("http_req_failed", "rate<0.01")].observed == pytest.approx(0.02)
    assert results[("http_req_failed", "rate<0.01")].ok is False
    assert results[("http_reqs", "rate>=20")].observed == 20.0
    assert results[("http_reqs", "rate>=20")].ok is True
    no_data = results[("dropped_iterations", "count<1")]
    assert no_data.ok is None and no_data.observed is None and not no_data.failed


def test_abort_needs_abort_on_fail_and_respects_the_delay() -> None:
    registry = _registry_with([], [1, 1, 0])
    engine = ThresholdEngine(
        {
            "http_req_failed": [
                parse_threshold("rate<0.5"),
                parse_threshold("rate<0.1", abort_on_fail=True, delay_abort_eval_s=10.0),
            ]
        }
    )
    results = engine.evaluate(registry, 3.0)
    assert [r.ok for r in results] == [False, False]
    assert engine.should_abort(results, 3.0) is None
    aborting = engine.should_abort(results, 10.0)
    assert aborting is not None and aborting.threshold.source == "rate<0.1"
