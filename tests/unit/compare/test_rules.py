"""`--fail-on` rules: the grammar, the error messages, how a rule judges, and how it finds rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from dmsload.compare.rules import Rule, RuleError, Unit, Verdict, parse_rule, parse_rules
from dmsload.compare.table import (
    Report,
    Section,
    check_rules_match,
    compare_summaries,
    threshold_changes,
)
from dmsload.metrics.kinds import MetricKind, ValueType, make_tags
from dmsload.metrics.registry import Registry
from dmsload.outputs.summary_json import LoadedSummary

# ---- grammar -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "metric", "stat", "op", "limit", "unit"),
    [
        ("p(95)>+10%", "http_req_duration", "p(95)", ">", 10.0, Unit.PERCENT),
        (" p( 95 ) > +10 % ", "http_req_duration", "p(95)", ">", 10.0, Unit.PERCENT),
        ("p(99.9)>+5%", "http_req_duration", "p(99.9)", ">", 5.0, Unit.PERCENT),
        ("p(50)>+5%", "http_req_duration", "med", ">", 5.0, Unit.PERCENT),
        ("avg>+2.5%", "http_req_duration", "avg", ">", 2.5, Unit.PERCENT),
        ("p(99)>+50ms", "http_req_duration", "p(99)", ">", 50.0, Unit.MS),
        ("max>+0.5s", "http_req_duration", "max", ">", 500.0, Unit.MS),
        ("med>+20", "http_req_duration", "med", ">", 20.0, Unit.PLAIN),
        ("rate>+1pp", "http_req_failed", "rate", ">", 0.01, Unit.PP),
        ("rate>+0.02", "http_req_failed", "rate", ">", 0.02, Unit.PLAIN),
        ("rps<-10%", "http_reqs", "rps", "<", -10.0, Unit.PERCENT),
        ("rps<-5", "http_reqs", "rps", "<", -5.0, Unit.PLAIN),
        ("count<-.5%", "http_reqs", "count", "<", -0.5, Unit.PERCENT),
        ("dropped_iterations:count>+0", "dropped_iterations", "count", ">", 0.0, Unit.PLAIN),
        ("checks:rate<-1pp", "checks", "rate", "<", -0.01, Unit.PP),
        (
            "iteration_duration : p(95) > +10%",
            "iteration_duration",
            "p(95)",
            ">",
            10.0,
            Unit.PERCENT,
        ),
    ],
)
def test_rules_parse_with_the_stat_choosing_the_default_metric(
    source: str, metric: str, stat: str, op: str, limit: float, unit: Unit
) -> None:
    rule = parse_rule(source)
    assert (rule.metric, rule.stat, rule.op, rule.unit) == (metric, stat, op, unit)
    assert rule.limit == pytest.approx(limit)
    assert rule.source == source
    assert rule.explicit_selector == (":" in source)
    assert rule.tags == ()


def test_a_sub_metric_selector_keeps_braces_inside_tag_values() -> None:
    rule = parse_rule("http_req_duration{name:DELETE /ed-fi/students/{id}}:p(95)>+10%")
    assert rule.metric == "http_req_duration"
    assert rule.tags == (("name", "DELETE /ed-fi/students/{id}"),)
    assert rule.stat == "p(95)" and not rule.has_wildcard


def test_sub_metric_tags_are_sorted_and_a_star_is_a_wildcard() -> None:
    rule = parse_rule("http_req_duration{scenario:queries, name:*}:p(99)>+50ms")
    assert rule.tags == (("name", "*"), ("scenario", "queries"))
    assert rule.has_wildcard
    assert parse_rule("http_reqs{name:GET /ed-fi/students?limit}:rps<-10%").tags == (
        ("name", "GET /ed-fi/students?limit"),
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "p95>+10%",
            "--fail-on 'p95>+10%': unknown stat 'p95' (did you mean p(95)?); "
            "use avg, med, min, max, p(N), rate, rps or count",
        ),
        ("p50>+10%", "--fail-on 'p50>+10%': unknown stat 'p50' (did you mean p(50)?);"),
        ("median>+10%", "unknown stat 'median' (did you mean med?)"),
        ("value>+10%", "unknown stat 'value'; use avg"),
        ("p(95)>10%", "change '10%' needs a sign: +10% (an increase) or -10% (a decrease)"),
        ("p(95)>=+10%", "operator '>=': use > or <"),
        ("p(95)==+10%", "operator '==': use > or <"),
        ("p(95)+10%", "no operator; write [SELECTOR:]STAT OP CHANGE"),
        (">+10%", "no stat before the operator"),
        ("p(95)>", "change '': write a signed number"),
        ("p(95)>+ten%", "change '+ten%': write a signed number"),
        ("p(95)>+10%%", "change '+10%%'"),
        ("p(101)>+10%", "percentile 101 is outside 0..100"),
        ("p(x)>+10%", "malformed percentile 'p(x)'"),
        ("rate>+5ms", "unit 'ms' applies to trend stats only (not rate)"),
        ("rps>+1s", "unit 's' applies to trend stats only (not rps)"),
        ("p(95)>+1pp", "unit 'pp' (percentage points) applies to rate only (not p(95))"),
        ("http_req_duration{name:x:p(95)>+1%", "unbalanced '{' in the selector"),
        ("http_req_duration{name:x}p(95)>+1%", "a selector must be followed by ':STAT'"),
        ("http_req_duration{}:p(95)>+1%", "a sub-metric needs at least one tag:value"),
        ("http_req_duration{name}:p(95)>+1%", "sub-metric tag 'name' must be written tag:value"),
        ("http_req_duration{name:}:p(95)>+1%", "sub-metric tag 'name:' has an empty value"),
        ("9lives:p(95)>+1%", "selector '9lives': a metric name is letters, digits and _"),
        ("  ", "empty rule"),
    ],
)
def test_bad_rules_give_one_line_naming_the_rule_and_the_problem(source: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule(source)
    text = str(caught.value)
    assert text.startswith(f"--fail-on {source!r}: ")
    assert message in text
    assert "\n" not in text


def test_parse_rules_keeps_order_and_stops_at_the_first_bad_rule() -> None:
    assert [r.stat for r in parse_rules(["p(95)>+10%", "rps<-10%"])] == ["p(95)", "rps"]
    assert parse_rules(None) == []
    with pytest.raises(RuleError, match="'p95>1'"):
        parse_rules(["p(95)>+10%", "p95>1", "also bad"])


# ---- judging one pair --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "baseline", "current", "verdict", "change"),
    [
        ("p(95)>+10%", 100.0, 111.0, Verdict.BROKEN, 11.0),
        ("p(95)>+10%", 100.0, 110.0, Verdict.OK, 10.0),  # at the limit is not past it
        ("p(95)>+10%", 100.0, 50.0, Verdict.OK, -50.0),
        ("p(95)>+10%", 7.5, 7.5, Verdict.OK, 0.0),
        ("rps<-10%", 50.0, 44.0, Verdict.BROKEN, -12.0),
        ("rps<-10%", 50.0, 46.0, Verdict.OK, -8.0),
        ("rps<-10%", 50.0, 80.0, Verdict.OK, 60.0),
        ("p(99)>+50ms", 10.0, 61.0, Verdict.BROKEN, 51.0),
        ("p(99)>+50ms", 10.0, 59.0, Verdict.OK, 49.0),
        ("rate>+1pp", 0.0, 0.02, Verdict.BROKEN, 0.02),  # absolute rules work on a zero baseline
        ("rate>+1pp", 0.01, 0.015, Verdict.OK, 0.005),
        ("rate>+10%", 0.0, 0.02, Verdict.NOT_COMPARABLE, None),
        ("rate>+10%", 0.0, 0.0, Verdict.OK, 0.0),
        ("dropped_iterations:count>+0", 0.0, 3.0, Verdict.BROKEN, 3.0),
        ("dropped_iterations:count>+0", 3.0, 3.0, Verdict.OK, 0.0),
    ],
)
def test_judge_compares_the_change_with_the_limit(
    source: str, baseline: float, current: float, verdict: Verdict, change: float | None
) -> None:
    judgement = parse_rule(source).judge(baseline, current)
    assert judgement.verdict is verdict
    if change is None:
        assert judgement.change is None
    else:
        assert judgement.change == pytest.approx(change)


def test_a_side_without_data_is_no_data_not_a_failure() -> None:
    rule = parse_rule("p(95)>+10%")
    assert rule.judge(None, 5.0).verdict is Verdict.NO_DATA
    assert rule.judge(5.0, None).verdict is Verdict.NO_DATA
    assert parse_rule("p(95)>+1ms").judge(None, None).verdict is Verdict.NO_DATA


# ---- evaluation on two summaries ---------------------------------------------------------


def _request(registry: Registry, name: str, ms: Sequence[float], scenario: str = "load") -> None:
    tags = make_tags({"name": name, "scenario": scenario, "status": "200"})
    duration = registry.define("http_req_duration", MetricKind.TREND, ValueType.TIME)
    reqs = registry.define("http_reqs", MetricKind.COUNTER)
    failed = registry.define("http_req_failed", MetricKind.RATE)
    for value in ms:
        registry.add(duration, value, tags)
        registry.add(reqs, 1, tags)
        registry.add(failed, 0, tags)


def _summary(
    requests: Mapping[str, Sequence[float]],
    *,
    setup: Sequence[float] = (),
    elapsed_s: float = 10.0,
    thresholds: Sequence[dict[str, Any]] = (),
) -> LoadedSummary:
    registry = Registry()
    for name, values in requests.items():
        _request(registry, name, values)
    if setup:
        _request(registry, "POST /ed-fi/students", setup, scenario="setup")
    registry.define("vus", MetricKind.GAUGE)
    registry.add(registry.define("vus", MetricKind.GAUGE), 3, ())
    registry.add(registry.define("custom_score", MetricKind.TREND), 2.0, ())
    document = {
        "state": {"elapsed_s": elapsed_s},
        "manifest": {"profile": {"name": "unit"}},
        "thresholds": list(thresholds),
    }
    return LoadedSummary(path=Path("unit.json"), document=document, registry=registry)


def _judged(rules: list[str], base: LoadedSummary, cur: LoadedSummary) -> list[tuple[str, str]]:
    comparison = compare_summaries(base, cur, [parse_rule(r) for r in rules])
    return [
        (target.row.selector, target.judgement.verdict.value)
        for result in comparison.rules
        for target in result.targets
    ]


def test_a_wildcard_expands_to_the_names_both_runs_have_and_skips_setup() -> None:
    base = _summary({"GET /a": [10, 10], "GET /b": [10], "GET /old": [5]}, setup=[1000])
    cur = _summary({"GET /a": [10, 30], "GET /b": [10], "GET /new": [5]}, setup=[1])
    assert _judged(["http_req_duration{name:*}:max>+10%"], base, cur) == [
        ("http_req_duration{name:GET /a}", "broken"),
        ("http_req_duration{name:GET /b}", "ok"),
    ]


def test_a_named_sub_metric_leaves_out_setup_but_the_whole_metric_keeps_it() -> None:
    base = _summary({"POST /ed-fi/students": [10, 10]}, setup=[500])
    cur = _summary({"POST /ed-fi/students": [10, 10]}, setup=[5])
    comparison = compare_summaries(
        base,
        cur,
        [
            parse_rule("max>+10%"),
            parse_rule("http_req_duration{name:POST /ed-fi/students}:max>+10%"),
        ],
    )
    whole, named = comparison.rules
    assert [t.judgement.verdict for t in whole.targets] == [Verdict.OK]  # 500 ms → 10 ms
    assert whole.targets[0].row.baseline == 500.0
    assert [t.row.baseline for t in named.targets] == [10.0]
    assert comparison.regressions == 0
    by_name = [row for row in comparison.rows if row.section is Section.BY_NAME]
    assert {row.label for row in by_name} == {"POST /ed-fi/students"}
    assert next(r for r in by_name if r.stat == "rps").baseline == pytest.approx(0.2)


def test_rules_mark_their_rows_and_add_rows_for_stats_not_shown_by_default() -> None:
    base = _summary({"GET /a": [10] * 9 + [100]})
    cur = _summary({"GET /a": [10] * 9 + [300]}, elapsed_s=20.0)
    comparison = compare_summaries(
        base, cur, [parse_rule("p(99)>+10%"), parse_rule("max>+150ms"), parse_rule("rps<-10%")]
    )
    p99 = next(
        r for r in comparison.rows if r.selector == "http_req_duration" and r.stat == "p(99)"
    )
    assert p99.broken == ["p(99)>+10%"]
    extra = [row for row in comparison.rows if row.section is Section.RULES]
    assert [(row.selector, row.stat, row.broken) for row in extra] == [
        ("http_req_duration", "max", ["max>+150ms"])
    ]
    rps = next(r for r in comparison.rows if r.selector == "http_reqs" and r.stat == "rps")
    assert (rps.baseline, rps.current) == (pytest.approx(1.0), pytest.approx(0.5))
    assert rps.broken == ["rps<-10%"]
    assert comparison.regressions == 3


def test_a_rule_on_a_metric_neither_run_has_matches_nothing_and_is_a_rule_error() -> None:
    base, cur = _summary({"GET /a": [1]}), _summary({"GET /a": [1]})
    rules = [parse_rule("entity_creation_time:p(95)>+1%")]
    comparison = compare_summaries(base, cur, rules)
    assert comparison.rules[0].targets == [] and not comparison.rules[0].matched
    with pytest.raises(RuleError, match=r"neither run has metric 'entity_creation_time'$"):
        check_rules_match(Report(Path("a"), Path("b"), [comparison]), rules)
    rules = [parse_rule("http_req_duration{name:GET /zzz}:p(95)>+1%")]
    comparison = compare_summaries(base, cur, rules)
    assert [t.judgement.verdict for t in comparison.rules[0].targets] == [Verdict.NO_DATA]
    assert not comparison.rules[0].matched
    with pytest.raises(RuleError, match=r"samples of http_req_duration\{name:GET /zzz\}"):
        check_rules_match(Report(Path("a"), Path("b"), [comparison]), rules)


def test_a_rule_on_a_name_one_run_has_is_no_data_and_matched() -> None:
    base, cur = _summary({"GET /a": [1]}), _summary({"GET /a": [1], "GET /b": [2]})
    rules = [parse_rule("http_req_duration{name:GET /b}:p(95)>+1%")]
    comparison = compare_summaries(base, cur, rules)
    assert [t.judgement.verdict for t in comparison.rules[0].targets] == [Verdict.NO_DATA]
    assert comparison.rules[0].matched and comparison.regressions == 0
    check_rules_match(Report(Path("a"), Path("b"), [comparison]), rules)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "http_req_failed:p(95)>+10%",
            "p(95) does not apply to rate metric http_req_failed; use rate",
        ),
        ("http_reqs:rate>+1%", "rate does not apply to counter metric http_reqs; use count, rps"),
        ("vus:max>+1%", "max does not apply to gauge metric vus; gauges are not compared"),
        ("custom_score:p(95)>+5ms", "custom_score does not measure time"),
    ],
)
def test_a_stat_or_unit_that_does_not_fit_the_metric_is_a_rule_error(
    source: str, message: str
) -> None:
    base, cur = _summary({"GET /a": [1]}), _summary({"GET /a": [1]})
    with pytest.raises(RuleError) as caught:
        compare_summaries(base, cur, [parse_rule(source)])
    assert str(caught.value).startswith(f"--fail-on {source!r}: ")
    assert message in str(caught.value)


def test_threshold_changes_list_only_changed_verdicts() -> None:
    def doc(*entries: tuple[str, str, bool | None]) -> dict[str, Any]:
        return {"thresholds": [{"metric": m, "expression": e, "ok": ok} for m, e, ok in entries]}

    before = doc(("http_req_duration", "p(95)<20", True), ("checks", "rate>0.99", False))
    after = doc(
        ("http_req_duration", "p(95)<20", False),
        ("checks", "rate>0.99", False),
        ("entity_creation_time", "p(95)<5", None),
    )
    changes = threshold_changes(before, after)
    assert [(c.metric, c.baseline, c.current, c.newly_failed) for c in changes] == [
        ("http_req_duration", "passed", "failed", True),
        ("entity_creation_time", "absent", "no data", False),
    ]


def test_rule_is_a_frozen_value() -> None:
    rule = parse_rule("p(95)>+10%")
    assert isinstance(rule, Rule)
    with pytest.raises(AttributeError):
        rule.limit = 5  # type: ignore[misc]
