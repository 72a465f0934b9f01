"""`dmsload report`: recommendations from hand-built summaries, the HTML of a real run against
the sandbox, the command's exit statuses, and the page in headless Chromium (charts drawn, no
console errors, no network, a screenshot)."""

from __future__ import annotations

import base64
import html
import os
import re
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from typer.testing import CliRunner

from dmsload.engine.runner import RunOptions, run_profile
from dmsload.outputs.summary_json import LoadedSummary, load_summary, write_summary_json
from dmsload.profile import load_profile
from dmsload.report import NO_PROBLEMS, recommendations, render_summary_html
from dmsload.report.charts import chart_specs
from dmsload.report.command import load_suite, report
from dmsload.report.figures import request_rows
from dmsload.run_report import summary_context
from dmsload.run_summary import summary_document
from dmsload.sandbox.testing import running_sandbox
from dmsload.settings import load_settings
from dmsload.workloads import builtin_workloads

from .cdp import Page, find_chromium, launched
from .summaries import SummaryBuilder, timeseries

# ---- recommendations (hand-built summaries) --------------------------------------------


def _clean() -> SummaryBuilder:
    builder = SummaryBuilder(thresholds={"http_req_duration": ["p(95)<500"]})
    builder.request("GET /ed-fi/students", ms=20, count=200)
    builder.request("POST /ed-fi/students", ms=40, status=201, count=100)
    builder.intended(25, count=300)
    builder.check("status is 200", passes=300)
    builder.series = timeseries(10, cpu_percent=[35.0] * 10)
    return builder


def _one(found: list[str], needle: str) -> str:
    matching = [text for text in found if needle in text]
    assert len(matching) == 1, f"expected one recommendation with {needle!r} in {found}"
    return matching[0]


def test_a_clean_run_has_no_recommendation_and_the_page_says_so() -> None:
    summary = _clean().build()
    assert recommendations(summary) == []
    assert NO_PROBLEMS in render_summary_html(summary)


def test_a_failed_p95_threshold_names_the_target_and_the_slowest_request() -> None:
    builder = SummaryBuilder(thresholds={"http_req_duration": ["p(95)<500"]})
    builder.request("GET /ed-fi/students", ms=100, count=50)
    builder.request("GET /ed-fi/students?offset=deep", ms=900, count=50)
    text = _one(recommendations(builder.build()), "High latency")
    assert "p(95) of http_req_duration" in text
    assert "target of 500 ms" in text
    assert "slowest: GET /ed-fi/students?offset=deep" in text


def test_a_passing_p95_within_80_percent_of_its_limit_warns_of_little_headroom() -> None:
    near = SummaryBuilder(thresholds={"http_req_duration{scenario:load}": ["p(95)<500"]})
    near.request(ms=450, count=100)
    text = _one(recommendations(near.build()), "headroom")
    assert "http_req_duration{scenario:load}" in text and "90%" in text
    far = SummaryBuilder(thresholds={"http_req_duration": ["p(95)<500"]})
    far.request(ms=390, count=100)  # 78%: not near enough
    assert recommendations(far.build()) == []


def test_an_error_rate_above_1_percent_is_reported_with_its_statuses() -> None:
    builder = SummaryBuilder()
    builder.request(count=97).request(status=500, count=2).request(status=404, count=1)
    text = _one(recommendations(builder.build()), "Error rate")
    assert "3.00%" in text and "3 of 100" in text and "500 ×2" in text and "404 ×1" in text
    at_limit = SummaryBuilder().request(count=99).request(status=500, count=1)
    assert recommendations(at_limit.build()) == []  # exactly 1% is not above 1%


def test_dropped_iterations_mean_add_vus_in_the_scenarios_that_dropped() -> None:
    builder = SummaryBuilder().request(count=10).dropped(7, scenario="writes")
    text = _one(recommendations(builder.build()), "dropped")
    assert text.startswith("7 iterations were dropped (scenario writes)")
    assert "pre_allocated_vus" in text and "max_vus" in text


def test_a_saturated_generator_cpu_means_use_workers() -> None:
    busy = _clean()
    busy.series = timeseries(10, cpu_percent=[60.0] + [97.0] * 9)
    text = _one(recommendations(busy.build()), "load generator was saturated")
    assert "--workers" in text
    spiky = _clean()
    spiky.series = timeseries(20, cpu_percent=[40.0] * 18 + [100.0, None])  # 1 busy s of 19
    assert recommendations(spiky.build()) == []


def test_429_storms_mean_the_dms_rate_limit() -> None:
    builder = SummaryBuilder().request(count=90).request(status=429, count=10)
    text = _one(recommendations(builder.build()), "rate limit")
    assert "10 responses were 429" in text and "10.0%" in text
    assert "DMS_RATE_LIMIT_PERMIT_LIMIT" in text and "Host" in text
    few = SummaryBuilder().request(count=995).request(status=429, count=5)  # 0.5%
    assert not [t for t in recommendations(few.build()) if "rate limit" in t]


def test_503s_point_at_the_circuit_breaker() -> None:
    builder = SummaryBuilder().request(count=1000).request(status=503, count=1)
    assert "1 response was 503" in _one(recommendations(builder.build()), "circuit breaker")


def test_intended_latency_far_above_service_time_means_coordinated_omission() -> None:
    queued = SummaryBuilder().request(ms=20, count=100).intended(400, count=100)
    text = _one(recommendations(queued.build()), "coordinated omission")
    assert "http_req_latency_intended p(99)" in text
    fast = SummaryBuilder().request(ms=1, count=100).intended(8, count=100)  # 8x but 7 ms
    assert recommendations(fast.build()) == []


def test_setup_requests_are_kept_out_of_the_per_name_table() -> None:
    builder = SummaryBuilder()
    builder.request("GET /ed-fi/students", count=10)
    builder.request("POST /ed-fi/schools", status=201, scenario="setup", count=3)
    summary = builder.build()
    rows, total = request_rows(summary)
    assert [row.name for row in rows] == ["GET /ed-fi/students"]
    assert total is not None and total.count == 10 and total.rate == pytest.approx(1.0)
    page = render_summary_html(summary)
    load_table = page.split('class="requests"')[1].split("</table>")[0]
    setup_table = page.split('class="setup-requests"')[1].split("</table>")[0]
    assert "POST /ed-fi/schools" not in load_table and "POST /ed-fi/schools" in setup_table
    assert "Setup requests (3)" in page


def test_a_short_last_second_is_not_charted() -> None:
    lengths = [1.0, 1.0, 1.0, 0.02]
    series = timeseries(4, length_s=lengths, http_reqs=[10, 10, 10, 3], rps=[10, 10, 10, 150])
    throughput = next(s for s in chart_specs(series) if s.key == "throughput")
    assert throughput.data["x"] == [0, 1, 2]
    assert throughput.data["series"][0]["values"] == [10, 10, 10]
    lengths[-1] = 0.6
    assert len(chart_specs(series)[0].data["x"]) == 4


def test_a_summary_without_timeseries_says_so_instead_of_charting() -> None:
    summary = _clean().build()
    summary.document["timeseries"] = None
    page = render_summary_html(summary)
    assert "no per-second time series" in page
    assert not re.search(r"<div[^>]*data-chart=", page)
    assert chart_specs({"interval_s": 1, "t": []}) == []


def test_every_summary_text_is_escaped_in_the_page() -> None:
    hostile = "<script>alert(1)</script>"
    builder = _clean()
    builder.request(f"GET /x{hostile}", count=3)
    builder.notes.append(f"note {hostile} & </script><!--")
    builder.name = f"evil{hostile}"
    page = render_summary_html(builder.build())
    assert hostile not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    data = page.split('<script type="application/json" id="dmsload-report-data">')[1]
    assert "</script" not in data.split("</script>")[0]


# ---- the command -------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(name="report")(report)

    @app.callback()
    def _root() -> None:
        """A one-command app, so `report` stays a subcommand as in dmsload's CLI."""

    return app


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(_app(), ["report", *args])


def test_the_command_writes_a_self_contained_page(tmp_path: Path) -> None:
    summary_path = tmp_path / "run.summary.json"
    _clean().build(summary_path)
    output = tmp_path / "out" / "report.html"
    output.parent.mkdir()
    result = _invoke(str(summary_path), "-o", str(output))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(output)
    page = output.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=""", page)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "The MIT License (MIT)" in page and "Leon Sorokin" in page
    assert "var uPlot=function" in page  # the library is inlined
    assert [p.name for p in output.parent.iterdir()] == ["report.html"]  # no temporary left


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.json", "missing.json: no such file or directory"),
        (lambda d: _write(d / "plain.txt", b"hello"), "plain.txt: not JSON"),
        (
            lambda d: _write(d / "k6.json", b'{"root_group": {}, "metrics": {}}'),
            "this is a k6 --summary-export file",
        ),
        (lambda d: d, "no suite.json (not a `dmsload suite --results-dir` directory)"),
        (
            lambda d: _write(d / "bad.json", orjson.dumps({"schema": "dmsload-summary/1"})),
            "bad.json: metrics: malformed",
        ),
    ],
)
def test_a_bad_input_exits_2_with_one_line_naming_it(
    tmp_path: Path, make: Any, message: str
) -> None:
    target = make(tmp_path)
    result = _invoke(str(target), "-o", str(tmp_path / "r.html"))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dmsload report: ") and message in lines[0]
    assert str(target) in lines[0]
    assert not (tmp_path / "r.html").exists()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_an_unwritable_output_exits_1(tmp_path: Path) -> None:
    summary_path = tmp_path / "run.summary.json"
    _clean().build(summary_path)
    output = tmp_path / "no-such-dir" / "report.html"
    result = _invoke(str(summary_path), "-o", str(output))
    assert result.exit_code == 1
    assert "no-such-dir/report.html: cannot write it" in result.stderr


def _suite_dir(root: Path, summary: Path) -> Path:
    """A results directory: one profile naming its summary_json, one relying on the
    `<name>.summary.json` fallback, one with no summary at all."""
    directory = root / "suite"
    directory.mkdir()
    shutil.copy(summary, directory / "first.summary.json")
    shutil.copy(summary, directory / "second.summary.json")
    entry = {"exit_code": 0, "elapsed_s": 3.0, "http_reqs": 120, "thresholds_total": 2}
    index = {
        "started": "2026-12-01T10:00:00+00:00",
        "ended": "2026-12-01T10:01:00+00:00",
        "profiles": [
            {**entry, "name": "first", "summary_json": "first.summary.json"},
            {**entry, "name": "second", "exit_code": 99, "thresholds_failed": 1},
            {**entry, "name": "third"},
        ],
    }
    (directory / "suite.json").write_bytes(orjson.dumps(index))
    return directory


def test_a_suite_directory_gets_an_overview_and_a_section_per_profile(tmp_path: Path) -> None:
    summary_path = tmp_path / "run.summary.json"
    _clean().build(summary_path)
    directory = _suite_dir(tmp_path, summary_path)
    suite = load_suite(directory)
    assert [p.summary is not None for p in suite.profiles] == [True, True, False]
    assert "third.summary.json is not in the results directory" in str(suite.profiles[2].problem)
    output = tmp_path / "suite.html"
    result = _invoke(str(directory), "-o", str(output))
    assert result.exit_code == 0, result.output
    page = output.read_text(encoding="utf-8")
    overview = page.split('class="overview"')[1].split("</table>")[0]
    assert [m for m in re.findall(r'href="#(profile-\d)">(\w+)<', overview)] == [
        ("profile-0", "first"),
        ("profile-1", "second"),
        ("profile-2", "third"),
    ]
    assert "thresholds failed · exit 99" in page
    assert page.count('data-chart="profile-0-') == 5 and page.count('data-chart="profile-1-') == 5
    # a profile naming a summary that is missing is a broken directory, not a note
    index = orjson.loads((directory / "suite.json").read_bytes())
    index["profiles"][0]["summary_json"] = "gone.summary.json"
    (directory / "suite.json").write_bytes(orjson.dumps(index))
    result = _invoke(str(directory), "-o", str(output))
    assert result.exit_code == 2 and "gone.summary.json: cannot read it" in result.stderr


# ---- a real run against the sandbox ------------------------------------------------------

FAULTY_PROFILE = """
name = "report-it"
description = "mixed CRUD at 40/s from one VU against a slow sandbox that fails 10% of reads"

[scenarios.crud]
executor = "constant-arrival-rate"
rate = 40
duration = "3s"
pre_allocated_vus = 1
max_vus = 1
workload = "mixed-crud"
options = { resource = "students" }

[thresholds]
http_req_duration = ["p(95)<10"]
http_req_failed = ["rate<0.01"]
dropped_iterations = ["count<1"]
"""


@pytest.fixture(scope="module")
def real_summary(tmp_path_factory: pytest.TempPathFactory) -> LoadedSummary:
    """A 3-second run of the engine against an in-process sandbox that adds 30 ms to every
    data request and answers 10% of them 503: one VU cannot keep up with 40 iterations/s."""
    root = tmp_path_factory.mktemp("real-run")
    profile_path = root / "report-it.toml"
    profile_path.write_text(FAULTY_PROFILE)
    faults = {"latency_ms": 30, "error_rate": 0.1, "error_status": 503, "retry_after_s": 0}
    with running_sandbox(seed_descriptors=True, faults={**faults, "seed": 3}) as sandbox:
        settings = load_settings(
            dms_url=sandbox.base_url,
            cms_url=sandbox.base_url + "/config",
            client_key=sandbox.client_key,
            client_secret=sandbox.client_secret,
            credentials_file=root / "no-credentials.json",
        )
        profile = load_profile(profile_path, builtin_workloads(), env={})
        options = RunOptions(quiet=True, handle_signals=False, connection=settings, timeline=True)
        result = run_profile(profile, options)
    assert result.error is None, result.error
    document = summary_document(result, profile, summary_context(result, profile, "compact"))
    path = root / "report-it.summary.json"
    write_summary_json(path, document)
    return load_summary(path)


@pytest.mark.serial  # it asserts the generator was not saturated: not beside other tests
def test_a_real_run_gets_the_recommendations_its_faults_cause(real_summary: LoadedSummary) -> None:
    found = recommendations(real_summary)
    assert _one(found, "High latency").startswith("High latency: p(95) of http_req_duration")
    assert "503" in _one(found, "Error rate")
    assert _one(found, "circuit breaker")
    assert "(scenario crud)" in _one(found, "dropped")
    assert not [text for text in found if "rate limit" in text or "--workers" in text]


def test_a_real_run_renders_its_figures(real_summary: LoadedSummary) -> None:
    page = render_summary_html(real_summary)
    rows, total = request_rows(real_summary)
    assert total is not None and total.count > 30
    assert {row.name.split(" ")[0] for row in rows} >= {"GET", "POST", "PUT"}
    for row in rows:
        assert f'<td class="mono">{html.escape(row.name)}</td>' in page
    assert "thresholds failed · exit 99" in page
    thresholds = page.split('class="thresholds"')[1].split("</table>")[0]
    assert thresholds.count('<td class="mark fail" title="failed">✗</td>') == 3
    assert page.count('data-chart="run-') == 5
    specs = {spec.key: spec for spec in chart_specs(real_summary.timeseries)}
    assert set(specs) == {"latency", "throughput", "vus", "errors", "cpu"}
    series = real_summary.timeseries or {}
    points = len(specs["latency"].data["x"])
    assert 3 <= points <= len(series["t"])
    if points < len(series["t"]):  # a short last second is not charted
        assert series["length_s"][-1] < 0.5
    for spec in specs.values():
        assert len(spec.data["x"]) == points
        assert all(len(line["values"]) == points for line in spec.data["series"])


# ---- the page in headless Chromium -------------------------------------------------------

CHART_PROBE = """
(() => window.dmsloadReport.charts.map((entry) => {
  const canvas = entry.chart.root.querySelector("canvas");
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let colored = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    const r = pixels[i], g = pixels[i + 1], b = pixels[i + 2];
    if (pixels[i + 3] > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60) colored++;
  }
  return {
    id: entry.id,
    width: canvas.width,
    height: canvas.height,
    shown: canvas.getBoundingClientRect().width,
    colored: colored,
    lengths: entry.chart.data.map((column) => column.length),
  };
}))()
"""
TABLE_PROBE = """
(() => Object.fromEntries(["thresholds", "requests", "checks", "statuses"].map((name) =>
  [name, document.querySelectorAll("table." + name + " tbody tr").length])))()
"""


@pytest.fixture
def chromium() -> Iterator[str]:
    executable = find_chromium()
    if executable is None:
        if os.environ.get("DMSLOAD_REQUIRE_EXTERNAL_TOOLS") == "1":
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    yield executable


def _load(page: Page, path: Path) -> None:
    page.send("Page.navigate", {"url": path.resolve().as_uri()})
    page.wait_for_event("Page.loadEventFired", timeout_s=15)
    page.wait_until("window.dmsloadReport && window.dmsloadReport.ready", timeout_s=10)


def _problems(page: Page) -> list[str]:
    found = [
        f"console.{event.get('type')}: {event.get('args')}"
        for event in page.events("Runtime.consoleAPICalled")
        if event.get("type") in ("error", "warning", "assert")
    ]
    found += [
        f"exception: {event.get('exceptionDetails')}"
        for event in page.events("Runtime.exceptionThrown")
    ]
    found += [
        f"log: {event.get('entry', {}).get('text')}"
        for event in page.events("Log.entryAdded")
        if event.get("entry", {}).get("level") == "error"
    ]
    return found


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_page_renders_in_headless_chromium(
    chromium: str, real_summary: LoadedSummary, tmp_path: Path
) -> None:
    report_path = tmp_path / "report.html"
    report_path.write_text(render_summary_html(real_summary), encoding="utf-8")
    suite_dir = _suite_dir(tmp_path, real_summary.path)
    suite_path = tmp_path / "suite.html"
    assert _invoke(str(suite_dir), "-o", str(suite_path)).exit_code == 0

    with launched(chromium) as browser:
        page = browser.open_page()
        for domain in ("Runtime", "Log", "Page", "Network"):
            page.send(f"{domain}.enable")
        page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 1600, "deviceScaleFactor": 1, "mobile": False},
        )
        _load(page, report_path)

        charts = page.evaluate(CHART_PROBE)
        points = len(chart_specs(real_summary.timeseries)[0].data["x"])
        assert [c["id"] for c in charts] == [
            "run-latency",
            "run-throughput",
            "run-vus",
            "run-errors",
            "run-cpu",
        ]
        for chart in charts:
            assert chart["width"] > 200 and chart["height"] > 100, chart
            assert chart["shown"] > 200, chart
            assert set(chart["lengths"]) == {points}, chart
            assert chart["colored"] > 100, f"chart {chart['id']} drew no series: {chart}"
        latency = next(c for c in charts if c["id"] == "run-latency")
        assert latency["width"] > 1000  # spans the row
        assert page.evaluate("window.dmsloadReport.errors") == []

        tables = page.evaluate(TABLE_PROBE)
        assert tables["thresholds"] == len(real_summary.document["thresholds"]) == 3
        assert tables["requests"] >= 4 and tables["checks"] >= 2 and tables["statuses"] >= 2
        assert page.evaluate("document.querySelectorAll('.recommendations li').length") >= 4

        shot = page.send("Page.captureScreenshot", {"format": "png"}, timeout_s=20)
        png = base64.b64decode(shot["data"])
        (tmp_path / "report.png").write_bytes(png)
        assert _png_size(png) == (1280, 1600)

        _load(page, suite_path)
        suite_charts = page.evaluate(CHART_PROBE)
        assert len(suite_charts) == 10  # two profiles with summaries, five charts each
        assert all(chart["colored"] > 100 for chart in suite_charts)
        assert page.evaluate("document.querySelectorAll('table.overview tbody tr').length") == 3

        assert _problems(page) == []
        urls = [event["request"]["url"] for event in page.events("Network.requestWillBeSent")]
        assert urls and all(url.startswith("file://") for url in urls), urls


def test_an_open_model_run_shows_its_start_lateness_tile_and_a_closed_one_does_not() -> None:
    closed = _clean().build()
    assert "Start lateness" not in render_summary_html(closed)
    builder = _clean()
    tags = (("scenario", "load"),)
    for ms in [0.05] * 98 + [0.8, 3.0]:
        builder.registry.add(builder.metrics.iteration_start_lateness, ms, tags)
    page = render_summary_html(builder.build())
    tile = page[page.index("Start lateness p(50)") :][:400]
    assert "0.05 ms" in tile and "p(99) 0.8" in tile, tile
