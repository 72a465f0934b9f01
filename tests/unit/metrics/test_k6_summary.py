"""`--k6-summary`: the handleSummary() document built from a registry and threshold results."""

from __future__ import annotations

import json
from pathlib import Path

from dmsload.metrics import (
    Registry,
    SummaryContext,
    ThresholdEngine,
    define_builtin_metrics,
    make_tags,
    parse_threshold,
)
from dmsload.metrics.k6_summary import K6SummaryOptions, k6_summary, write_k6_summary
from dmsload.metrics.numbers import k6_number, k6_numbers, k6_text

STATS = ("avg", "med", "p(95)", "count")


def _registry() -> tuple[Registry, list]:  # type: ignore[type-arg]
    registry = Registry()
    m = define_builtin_metrics(registry)
    tags = make_tags({"scenario": "s", "name": "list", "expected_response": "true"})
    for value_us in (1_000, 2_000, 3_000, 4_000):
        registry.add_trend_us(m.http_req_duration, value_us, tags)
        registry.add(m.http_reqs, 1.0, tags)
        registry.add(m.http_req_failed, 0.0, tags)
    registry.add(m.checks, 1.0, make_tags({"scenario": "s", "check": "is 200"}))
    registry.add(m.checks, 0.0, make_tags({"scenario": "s", "check": "is 200"}))
    engine = ThresholdEngine(
        {
            "http_req_duration": [parse_threshold("p(95)<5000"), parse_threshold("avg<1")],
            "http_req_duration{scenario:nosuch}": [parse_threshold("p(99)<100")],
            "http_reqs": [parse_threshold("count>1")],
        }
    )
    return registry, engine.evaluate(registry, 2.0)


def test_the_document_in_k6s_shape_with_verdicts_as_ok() -> None:
    registry, results = _registry()
    ctx = SummaryContext(elapsed_s=2.0, trend_stats=STATS, scenarios=["s"])
    document = k6_summary(registry, results, ctx, K6SummaryOptions(no_color=True))
    assert document["options"] == {
        "summaryTrendStats": list(STATS),
        "summaryTimeUnit": "",
        "noColor": True,
    }
    assert document["state"] == {
        "isStdOutTTY": False,
        "isStdErrTTY": False,
        "testRunDurationMs": 2000,
    }
    duration = document["metrics"]["http_req_duration"]
    assert duration["type"] == "trend" and duration["contains"] == "time"
    assert duration["values"]["count"] == 4 and isinstance(duration["values"]["count"], int)
    assert duration["values"]["avg"] == 2.5
    assert duration["thresholds"] == {"p(95)<5000": {"ok": True}, "avg<1": {"ok": False}}
    assert document["metrics"]["http_reqs"] == {
        "type": "counter",
        "contains": "default",
        "values": {"count": 4, "rate": 2},
        "thresholds": {"count>1": {"ok": True}},
    }
    assert document["metrics"]["checks"]["values"] == {"rate": 0.5, "passes": 1, "fails": 1}
    assert document["metrics"]["http_req_duration{expected_response:true}"]["values"]["count"] == 4
    # a thresholded sub-metric that saw nothing: zeros, and no data is not a failure (as k6)
    nothing = document["metrics"]["http_req_duration{scenario:nosuch}"]
    assert nothing["values"] == {stat: 0 for stat in STATS}
    assert nothing["thresholds"] == {"p(99)<100": {"ok": True}}
    assert document["root_group"]["checks"] == [
        {
            "name": "is 200",
            "path": "::is 200",
            "id": "b90917b286da7eb763f41c72548efc6d",  # md5("::is 200"), k6's check id
            "passes": 1,
            "fails": 1,
        }
    ]


def test_written_atomically_as_json(tmp_path: Path) -> None:
    registry, results = _registry()
    ctx = SummaryContext(elapsed_s=2.0, trend_stats=STATS, scenarios=["s"])
    path = tmp_path / "k6.json"
    write_k6_summary(path, registry, results, ctx)
    assert json.loads(path.read_text())["metrics"]["http_reqs"]["values"]["count"] == 4
    assert list(tmp_path.iterdir()) == [path]


def test_whole_numbers_are_integers() -> None:
    assert k6_number(268.0) == 268 and isinstance(k6_number(268.0), int)
    assert k6_number(2.5) == 2.5 and k6_number(float("inf")) == float("inf")
    assert isinstance(k6_number(2.0**60), float)  # beyond 2**53 a float is kept as it is
    assert k6_numbers({"a": [1.0, 1.5, {"b": 0.0}], "c": True, "d": None}) == {
        "a": [1, 1.5, {"b": 0}],
        "c": True,
        "d": None,
    }
    assert isinstance(k6_numbers({"b": 0.0})["b"], int)
    assert [k6_text(v) for v in (1.0, 11.856112, 0.0)] == ["1", "11.856112", "0"]
