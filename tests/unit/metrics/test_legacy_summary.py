"""`--summary-mode legacy`: k6's v0.x text summary, laid out as k6 prints it
(tests/data/k6/legacy-summary.txt is k6 1.1's own `--summary-mode=legacy` output)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dmsload.metrics import (
    Registry,
    SummaryContext,
    ThresholdEngine,
    define_builtin_metrics,
    make_tags,
    parse_threshold,
)
from dmsload.metrics.legacy_summary import legacy_duration, legacy_summary_lines

K6_LEGACY = Path(__file__).resolve().parents[2] / "data" / "k6" / "legacy-summary.txt"
STATS = ("avg", "min", "med", "max", "p(90)", "p(95)")
DOTTED = re.compile(r"^(?P<lead> {3}[✓✗] | {5}[✓✗] | {5}| {7})(?P<name>\S.*?)\.{3,}: (?P<rest>.*)$")


def _legacy_text() -> list[str]:
    registry = Registry()
    m = define_builtin_metrics(registry)
    ok = make_tags({"scenario": "s", "name": "list", "expected_response": "true"})
    bad = make_tags({"scenario": "s", "name": "x", "expected_response": "false"})
    for i in range(34):
        registry.add_trend_us(m.http_req_duration, 1_420 + i * 1_000, ok)
        registry.add_trend_us(m.http_req_duration, 9_000, bad)
        registry.add(m.http_req_failed, 0, ok)
        registry.add(m.http_req_failed, 1, bad)
        registry.add(m.http_reqs, 1, ok)
        registry.add(m.http_reqs, 1, bad)
        registry.add(m.checks, 1, make_tags({"scenario": "s", "check": "is 404"}))
        registry.add(m.checks, 1, make_tags({"scenario": "s", "check": "is 404"}))
        registry.add(m.checks, 0, make_tags({"scenario": "s", "check": "never"}))
    registry.add(m.data_sent, 5_700, make_tags({"scenario": "s"}))
    registry.add(m.vus, 2, ())
    registry.add(m.vus_max, 2, ())
    engine = ThresholdEngine(
        {
            "http_req_duration": [parse_threshold("p(95)<5000"), parse_threshold("avg<0.001")],
            "http_req_duration{name:list}": [parse_threshold("max<5000")],
            "http_req_failed": [parse_threshold("rate<0.9")],
            "checks": [parse_threshold("rate>0.5")],
            "http_req_duration{scenario:nosuch}": [parse_threshold("p(99)<100")],
        }
    )
    results = engine.evaluate(registry, 2.0)
    ctx = SummaryContext(2.0, STATS, ["s"])
    lines = legacy_summary_lines(registry, results, ctx, script="p.toml", outputs=["json=x"])
    return [line.plain for line in lines]


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (0.0, "0s"),
        (0.58042, "580.42µs"),
        (0.06, "60µs"),
        (1.8, "1.8ms"),
        (10.68, "10.68ms"),
        (122.1, "122.1ms"),
        (8.4, "8.4ms"),
        (1520.0, "1.52s"),
        (63_500.0, "1m3.5s"),
    ],
)
def test_durations_read_as_k6s_legacy_summary_prints_them(ms: float, shown: str) -> None:
    assert legacy_duration(ms) == shown


def test_the_layout_is_k6s() -> None:
    text = _legacy_text()
    assert text[1:4] == [
        "     execution: local",
        "        script: p.toml",
        "        output: json=x",
    ]
    # checks first: a failed one with k6's ↳ line
    assert "     ✓ is 404" in text
    at = text.index("     ✗ never")
    assert text[at + 1] == "      ↳  0% — ✓ 0 / ✗ 34"
    rows = {match["name"]: match for line in text if (match := DOTTED.match(line))}
    # 68/102 is 66.666...%: k6 truncates it to 66.66%
    assert rows["checks"]["lead"] == "   ✓ " and rows["checks"]["rest"].startswith(
        "66.66% 68 out of 102"
    )
    assert rows["http_req_duration"]["lead"] == "   ✗ "  # avg<0.001 failed
    assert rows["{ expected_response:true }"]["lead"] == " " * 7
    assert rows["{ name:list }"]["lead"] == "     ✓ "
    assert rows["http_req_failed"]["lead"] == "   ✓ "
    assert rows["http_reqs"]["lead"] == " " * 5
    assert rows["http_reqs"]["rest"].split()[:2] == ["68", "34/s"]
    assert rows["data_sent"]["rest"].split()[:4] == ["5.7", "kB", "2.9", "kB/s"]
    assert rows["vus"]["rest"].split() == ["2", "min=2", "max=2"]
    assert rows["http_req_duration"]["rest"].split()[0].startswith("avg=")
    colons = {line.index("..: ") for line in text if DOTTED.match(line)}
    assert len(colons) == 1  # one column, as k6 pads the names
    assert list(rows)[-1] == "vus_max"  # k6-to-junit ends a test at the vus_max line
    # a threshold with no data passes, as in k6, and the notes say so
    assert rows["{ scenario:nosuch }"]["lead"] == "     ✓ "
    assert rows["{ scenario:nosuch }"]["rest"].split()[:2] == ["avg=0s", "min=0s"]
    assert (
        "     ! threshold http_req_duration{scenario:nosuch} 'p(99)<100' saw no samples: "
        "reported as no data, not as passed"
    ) in text


def test_every_dotted_line_is_built_like_one_of_k6s() -> None:
    k6_lines = K6_LEGACY.read_text().splitlines()
    k6_leads = {match["lead"] for line in k6_lines if (match := DOTTED.match(line))}
    ours = [match for line in _legacy_text() if (match := DOTTED.match(line))]
    assert {match["lead"] for match in ours} == k6_leads
    k6_rates = [m["rest"] for line in k6_lines if (m := DOTTED.match(line)) and "%" in m["rest"]]
    assert k6_rates[0].startswith("66.66% 68 out of 102")  # k6 truncates, as dmsload does
