"""The end-of-test summary and k6's legacy export shape."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from dmsload.metrics import (
    Registry,
    SummaryContext,
    ThresholdEngine,
    define_builtin_metrics,
    k6_legacy_summary,
    make_tags,
    parse_threshold,
    render_summary,
    write_k6_summary_export,
)
from dmsload.metrics.formatting import format_bytes, format_ms

STATS = ("avg", "min", "med", "max", "p(90)", "p(95)")


def _run_like() -> tuple[Registry, list]:  # type: ignore[type-arg]
    registry = Registry()
    m = define_builtin_metrics(registry)
    ok = make_tags({"scenario": "reads", "method": "GET", "expected_response": "true"})
    bad = make_tags({"scenario": "reads", "method": "GET", "expected_response": "false"})
    for i in range(90):
        registry.add_trend_us(m.http_req_duration, 10_000 + i * 100, ok)
        registry.add(m.http_req_failed, 0, ok)
        registry.add(m.http_reqs, 1, ok)
    for _ in range(10):
        registry.add_trend_us(m.http_req_duration, 500_000, bad)
        registry.add(m.http_req_failed, 1, bad)
        registry.add(m.http_reqs, 1, bad)
    registry.add(m.data_received, 2_500_000, make_tags({"scenario": "reads"}))
    registry.add(m.vus, 5, ())
    for i in range(20):
        registry.add(m.checks, i % 10 != 0, make_tags({"scenario": "reads", "check": "is 200"}))
        registry.add(m.checks, 1, make_tags({"scenario": "reads", "check": "has body"}))
    engine = ThresholdEngine(
        {
            "http_req_failed": [parse_threshold("rate<0.01")],
            "http_req_duration{scenario:reads}": [parse_threshold("p(95)<1000")],
            "dropped_iterations": [parse_threshold("count<1")],
        }
    )
    return registry, engine.evaluate(registry, 10.0)


def _text(mode: str = "compact") -> str:
    registry, results = _run_like()
    console = Console(record=True, width=200, no_color=True)
    ctx = SummaryContext(10.0, STATS, ["reads"], notes=["a note"], mode=mode)
    render_summary(registry, results, ctx, console)
    return console.export_text()


def test_summary_shows_thresholds_checks_and_groups_like_k6() -> None:
    text = _text()
    assert "█ THRESHOLDS" in text and "█ TOTAL RESULTS" in text
    assert "✗ 'rate<0.01' rate=10.00%" in text
    assert "✓ 'p(95)<1000' p(95)=" in text
    assert "? 'count<1' no data" in text
    assert "checks_total" in text and "checks_succeeded" in text and "95.00%" in text
    assert "✓ has body" in text and "✗ is 200" in text and "↳  90% — ✓ 18 / ✗ 2" in text
    for group in ("HTTP", "EXECUTION", "NETWORK"):
        assert f"    {group}\n" in text
    assert "{ expected_response:true }" in text
    assert "{ scenario:reads }" in text
    assert "http_reqs" in text and "100      10/s" in text
    assert "10.00%   10 out of 100" in text
    assert "2.5 MB" in text and "250 kB/s" in text
    assert "saw no samples" in text and "a note" in text
    assert "http_req_waiting" not in text  # compact mode, like k6


def test_full_mode_adds_a_section_per_scenario() -> None:
    text = _text("full")
    assert "█ SCENARIO: reads" in text


def test_legacy_export_has_k6_field_names_and_polarity(tmp_path: Path) -> None:
    registry, results = _run_like()
    ctx = SummaryContext(10.0, STATS, ["reads"])
    path = tmp_path / "summary.json"
    write_k6_summary_export(path, registry, results, ctx)
    data = json.loads(path.read_text())
    assert data == json.loads(json.dumps(k6_legacy_summary(registry, results, ctx)))
    metrics = data["metrics"]
    assert metrics["http_reqs"] == {"count": 100, "rate": 10.0}
    failed = metrics["http_req_failed"]
    assert (failed["passes"], failed["fails"], failed["value"]) == (10, 90, 0.1)
    assert failed["thresholds"] == {"rate<0.01": True}  # k6: true means failed
    sub = metrics["http_req_duration{scenario:reads}"]
    assert set(sub) == {*STATS, "thresholds"} and sub["thresholds"] == {"p(95)<1000": False}
    assert metrics["http_req_duration{expected_response:true}"]["max"] == 18.9
    assert metrics["vus"] == {"value": 5, "min": 5, "max": 5}
    assert metrics["dropped_iterations"] == {"thresholds": {"count<1": False}}
    checks = data["root_group"]["checks"]
    assert checks["is 200"]["passes"] == 18 and checks["is 200"]["fails"] == 2
    assert checks["is 200"]["path"] == "::is 200"
    assert data["root_group"]["id"] == "d41d8cd98f00b204e9800998ecf8427e"
    assert not list(tmp_path.glob(".*.tmp"))


def test_units_read_like_k6() -> None:
    assert format_ms(0.5123) == "512.30µs"
    assert format_ms(12.345) == "12.35ms"
    assert format_ms(1520) == "1.52s"
    assert format_ms(123_400) == "2m3.4s"
    assert format_bytes(950) == "950 B"
    assert format_bytes(26_000) == "26 kB"
    assert format_bytes(3_100_000) == "3.1 MB"
