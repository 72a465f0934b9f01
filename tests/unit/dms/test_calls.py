"""Retry-After parsing and the suite's status ordering and overview table."""

from __future__ import annotations

from pathlib import Path

import httpx

from dmsload.dms.calls import query_url, retry_after_seconds
from dmsload.engine.runner import ExitCode
from dmsload.suite import ProfileOutcome, overview_lines, overview_markdown, worst


def test_retry_after_takes_seconds_or_an_http_date() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 0 ") == 0.0
    now = 1_700_000_000.0  # 2023-11-14T22:13:20Z
    assert retry_after_seconds("Tue, 14 Nov 2023 22:13:30 GMT", now=now) == 10.0
    assert retry_after_seconds("Tue, 14 Nov 2023 22:13:00 GMT", now=now) == 0.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None


def test_worst_status_orders_interrupt_error_usage_threshold_ok() -> None:
    assert worst([]) == ExitCode.OK
    assert worst([ExitCode.OK, ExitCode.THRESHOLDS_FAILED]) == ExitCode.THRESHOLDS_FAILED
    assert worst([ExitCode.THRESHOLDS_FAILED, ExitCode.CANNOT_PROCEED]) == ExitCode.CANNOT_PROCEED
    assert worst([ExitCode.CANNOT_PROCEED, ExitCode.INTERRUPTED]) == ExitCode.INTERRUPTED


def test_overview_has_one_row_per_profile() -> None:
    outcomes = [
        ProfileOutcome(
            "baseline", Path("b.toml"), ExitCode.OK, None, 2.0, 100, 0.0, 1.5, 1.0, 0, 2
        ),
        ProfileOutcome("spike", Path("s.toml"), ExitCode.THRESHOLDS_FAILED, None, 1.0, 10),
    ]
    lines = overview_lines(outcomes)
    assert lines[0].split()[:2] == ["profile", "status"]
    assert lines[2].startswith("baseline") and "passed" in lines[2] and "50.0" in lines[2]
    assert "FAILED (99)" in lines[3] and "0/0 passed" in lines[3]


def test_overview_markdown_is_a_table_with_escaped_cells() -> None:
    outcomes = [
        ProfileOutcome("base|line", Path("b.toml"), ExitCode.OK, None, 2.0, 100, 0.0, 1.5, 1.0),
    ]
    lines = overview_markdown(outcomes).splitlines()
    assert lines[0] == (
        "| profile | status | requests | req/s | failed | p(95) ms | checks | thresholds |"
    )
    assert lines[1] == "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    assert lines[2] == (
        "| base\\|line | passed | 100 | 50.0 | 0.00% | 1.50 | 100.00% | 0/0 passed |"
    )


def test_query_url_encodes_parameters_as_httpx_params_does() -> None:
    base = "http://127.0.0.1:8080/data/ed-fi/students"
    cases: list[dict[str, str | int | bool]] = [
        {"studentUniqueId": "S-1a2b3c4d-0-12-7"},
        {"limit": 25, "offset": 0, "totalCount": True},
        {"totalCount": False},
        {"name": "a b&c=d/e?f#g+h%20i", "city": "Zürich ñ 東京"},
        {"q": "", "x": "~-._*'()!"},
    ]
    for params in cases:
        expected = str(httpx.URL(base).copy_merge_params(params))
        assert query_url(base, params) == expected
        # and the client's parse of the string gives the same request target
        assert httpx.URL(query_url(base, params)).raw_path == httpx.URL(expected).raw_path
