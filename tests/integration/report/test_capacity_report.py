"""The report of a capacity search: the step chart (offered vs achieved, p95, the knee marked)
and the table of steps, from a real search against a sandbox with a known knee, drawn in
headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmsload.capacity import CapacityOptions, StepRule, run_steps
from dmsload.engine.runner import RunOptions
from dmsload.outputs.summary_json import LoadedSummary, load_summary, write_summary_json
from dmsload.profile import load_profile
from dmsload.report import render_summary_html
from dmsload.report.capacity import capacity_chart
from dmsload.run_report import summary_context
from dmsload.run_summary import summary_document
from dmsload.sandbox.testing import running_sandbox
from dmsload.settings import load_settings
from dmsload.workloads import builtin_workloads

from .cdp import Page, find_chromium, launched

pytestmark = pytest.mark.serial  # a capacity search: the knee depends on the CPU it gets

PROFILE = """
name = "capacity-report"
[scenarios.health]
executor = "constant-vus"
vus = 1
duration = "5s"
workload = "http"
options = { url = "${DMSLOAD_DMS_URL}/health", expect_status = 200 }
"""


@pytest.fixture(scope="module")
def capacity_summary(tmp_path_factory: pytest.TempPathFactory) -> LoadedSummary:
    """A search of 1-second steps of +10/s from 10/s against a sandbox serving 2 requests at
    once for 50 ms each: its knee is 40/s, so the step at 50/s achieves at most 80%."""
    root = tmp_path_factory.mktemp("capacity-report")
    path = root / "capacity.toml"
    path.write_text(PROFILE)
    faults = {"concurrency_limit": 2, "service_time_ms": 50}
    with running_sandbox(faults=faults) as sandbox:
        settings = load_settings(dms_url=sandbox.base_url, credentials_file=root / "none.json")
        profile = load_profile(path, builtin_workloads(), env={"DMSLOAD_DMS_URL": sandbox.base_url})
        options = CapacityOptions(
            start_rate=10, step=StepRule("add", 10), step_duration_ns=1_000_000_000, max_rate=80
        )
        run_options = RunOptions(
            quiet=True, handle_signals=False, connection=settings, timeline=True
        )
        result = run_steps(profile, "health", options, run_options)
    ctx = summary_context(result.run, result.profile, "compact")
    document = summary_document(result.run, result.profile, ctx)
    document["capacity"] = result.to_json()
    out = root / "capacity.summary.json"
    write_summary_json(out, document)
    return load_summary(out)


def test_the_search_found_the_sandbox_knee(capacity_summary: LoadedSummary) -> None:
    section = capacity_summary.document["capacity"]
    knee = section["knee"]
    assert knee["found"] is True, section["steps"]
    assert 10 <= knee["rate"] <= 40  # 1-second steps: the p95 rule may call it early
    assert section["steps"][-1]["offered_rate"] == knee["rate"] + 10


def test_the_step_chart_has_one_point_per_step_and_marks_the_knee(
    capacity_summary: LoadedSummary,
) -> None:
    section = capacity_summary.document["capacity"]
    spec = capacity_chart(section)
    assert spec is not None
    offered = [step["offered_rate"] for step in section["steps"]]
    assert spec.data["x"] == offered
    lines = {line["label"]: line["values"] for line in spec.data["series"]}
    assert lines["offered/s"] == offered
    assert lines["achieved/s"] == [step["achieved_rate"] for step in section["steps"]]
    assert lines["p95"] == [step["http_req_duration"]["p95"] for step in section["steps"]]
    marked = [x for x, v in zip(offered, lines["knee"], strict=True) if v is not None]
    assert marked == [section["knee"]["rate"]]
    page = render_summary_html(capacity_summary)
    assert 'data-chart="run-capacity"' in page
    assert page.count('<tr class="knee">') == 1
    assert section["knee"]["text"].split(":")[0] in page


def test_a_run_without_a_capacity_section_has_no_capacity_panel() -> None:
    assert capacity_chart({}) is None
    assert capacity_chart({"steps": "nonsense"}) is None


CHART_PROBE = """
(() => window.dmsloadReport.charts.map((entry) => {
  const canvas = entry.chart.root.querySelector("canvas");
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let red = 0;
  let colored = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    const r = pixels[i], g = pixels[i + 1], b = pixels[i + 2];
    if (pixels[i + 3] > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60) colored++;
    if (pixels[i + 3] > 128 && r > 180 && g < 80 && b < 80) red++;
  }
  const legend = entry.chart.root.querySelector(".u-legend");
  return {id: entry.id, colored: colored, red: red, points: entry.points,
          legend: legend ? legend.textContent : ""};
}))()
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


def test_the_step_chart_renders_in_headless_chromium(
    chromium: str, capacity_summary: LoadedSummary, tmp_path: Path
) -> None:
    report_path = tmp_path / "capacity.html"
    report_path.write_text(render_summary_html(capacity_summary), encoding="utf-8")
    steps = len(capacity_summary.document["capacity"]["steps"])
    with launched(chromium) as browser:
        page = browser.open_page()
        for domain in ("Runtime", "Log", "Page"):
            page.send(f"{domain}.enable")
        page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 1600, "deviceScaleFactor": 1, "mobile": False},
        )
        _load(page, report_path)
        charts = {chart["id"]: chart for chart in page.evaluate(CHART_PROBE)}
        assert "run-capacity" in charts and "run-latency" in charts
        capacity = charts["run-capacity"]
        assert capacity["points"] == steps
        assert capacity["colored"] > 500, capacity
        assert capacity["red"] > 20, "the knee marker was not drawn"
        assert capacity["legend"].startswith("offered"), capacity  # x is a rate, not time
        assert "knee" in capacity["legend"] and "achieved/s" in capacity["legend"]
        assert page.evaluate("window.dmsloadReport.errors") == []
        rows = page.evaluate("document.querySelectorAll('table.capacity tbody tr').length")
        assert rows == steps
        errors = [
            event
            for event in page.events("Runtime.consoleAPICalled")
            if event.get("type") in ("error", "warning", "assert")
        ]
        assert errors == [] and page.events("Runtime.exceptionThrown") == []
