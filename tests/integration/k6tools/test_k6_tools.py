"""Tools written for k6, from npm, read dmsload's results: k6-html-reporter and k6-junit read
`--k6-summary` (k6's handleSummary() data), k6-to-junit scrapes `--summary-mode legacy`.

The tools are installed with `npm install --prefix TMPDIR` at test time; without npm (or the
npm registry) these tests skip, unless DMSLOAD_REQUIRE_EXTERNAL_TOOLS=1, when they fail. Each
tool also reads the file real k6 wrote (tests/data/k6/), so that a tool's own quirk is not
mistaken for dmsload's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

HERE = Path(__file__).resolve().parent
K6_DATA = HERE.parents[1] / "data" / "k6"
TOOLS = ("k6-html-reporter@1.0.5", "k6-junit@1.2.0", "k6-to-junit@1.0.3")
THRESHOLDS = {
    "http_req_duration": ["p(95)<5000", "avg<10000"],
    "http_req_duration{name:list}": ["max<5000"],
    "http_req_failed": ["rate<0.5"],
    "checks": ["rate>0.5"],
    "http_reqs": ["count<1"],  # the one that fails: 40 requests are sent
}
FAILING = ("http_reqs", "count<1")


def _unavailable(reason: str) -> None:
    if os.environ.get("DMSLOAD_REQUIRE_EXTERNAL_TOOLS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def node_prefix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory whose node_modules holds the three tools."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        _unavailable("npm and node are not installed (scripts/install-test-tools)")
    prefix = tmp_path_factory.mktemp("k6tools")
    command = [str(npm), "install", "--prefix", str(prefix), "--no-audit", "--no-fund", *TOOLS]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        _unavailable(f"npm install {' '.join(TOOLS)} failed: {done.stderr.strip()[-300:]}")
    return prefix


@dataclass
class DmsloadRun:
    """One dmsload run against the echo server, with its k6 summary and legacy text."""

    code: int
    k6_summary: Path
    legacy: Path
    profile: Path


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


@pytest.fixture(scope="module")
def dmsload_run(echo: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DmsloadRun]:
    directory = tmp_path_factory.mktemp("run")
    profile = directory / "k6tools.toml"
    thresholds = "\n".join(f'"{key}" = {_toml_list(items)}' for key, items in THRESHOLDS.items())
    profile.write_text(
        'name = "k6tools"\n'
        "[scenarios.api]\n"
        'executor = "shared-iterations"\nvus = 2\niterations = 40\nworkload = "http"\n'
        f'options = {{ url = "{echo.url}/data/students", '  # type: ignore[attr-defined]
        'expect_status = 200, name = "list" }\n'
        f"[thresholds]\n{thresholds}\n"
    )
    k6_summary = directory / "k6-summary.json"
    legacy = directory / "legacy.txt"
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    done = subprocess.run(
        [
            *(sys.executable, "-m", "dmsload", "run", str(profile), "-q", "--no-color"),
            *("--summary-mode", "legacy", "--k6-summary", str(k6_summary)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    legacy.write_text(done.stdout)
    yield DmsloadRun(done.returncode, k6_summary, legacy, profile)


def _node(prefix: Path, script: str, *arguments: Path) -> None:
    done = subprocess.run(
        ["node", str(HERE / script), str(prefix), *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _html_thresholds(page: str) -> tuple[list[str], list[str]]:
    """The threshold expressions k6-html-reporter listed as passed and as failed."""
    items = re.findall(r'list-group-item (success|fail)-block">\s*(.*?)\s*</li>', page, re.S)
    passed = [text for kind, text in items if kind == "success"]
    failed = [text for kind, text in items if kind == "fail"]
    return passed, failed


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_the_run_fails_exactly_one_threshold(dmsload_run: DmsloadRun) -> None:
    assert dmsload_run.code == 99
    assert dmsload_run.k6_summary.exists()


def test_k6_html_reporter_lists_every_threshold_and_the_one_failure(
    node_prefix: Path, dmsload_run: DmsloadRun, tmp_path: Path
) -> None:
    _node(node_prefix, "html_report.js", dmsload_run.k6_summary, tmp_path)
    page = (tmp_path / "report.html").read_text()
    passed, failed = _html_thresholds(page)
    expected = sorted(item for items in THRESHOLDS.values() for item in items)
    assert sorted(_unescape(text) for text in passed + failed) == expected
    assert [_unescape(text) for text in failed] == [FAILING[1]]
    assert "1 threshold was not met" in page
    assert "passes: 5" in page and "fails: 1" in page
    # the metrics tables list the metrics (the legacy export gave none)
    for metric in ("http_req_duration", "http_reqs", "iterations", "http_req_failed"):
        assert f"<td>{metric}</td>" in page, metric
    assert "<td>status is 200</td>" in page


def test_k6_junit_has_a_case_per_threshold_with_one_failure_plus_the_checks(
    node_prefix: Path, dmsload_run: DmsloadRun, tmp_path: Path
) -> None:
    xml = tmp_path / "junit.xml"
    _node(node_prefix, "junit.js", dmsload_run.k6_summary, xml)
    root = ET.parse(xml).getroot()
    assert root.get("failures") == "1"
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert set(suites) == {"Root", "Thresholds"}
    cases = {case.get("name"): case for case in suites["Thresholds"].iter("testcase")}
    expected = {f"{key}: {item}" for key, items in THRESHOLDS.items() for item in items}
    assert set(cases) == expected
    failed = [name for name, case in cases.items() if case.find("failure") is not None]
    assert failed == [f"{FAILING[0]}: {FAILING[1]}"]
    checks = list(suites["Root"].iter("testcase"))
    assert [case.get("name") for case in checks] == ["status is 200"]
    assert checks[0].find("failure") is None


def _k6_to_junit(prefix: Path, text: Path, tmp_path: Path) -> ET.Element:
    out = tmp_path / "k6-to-junit.xml"
    command = ["node", str(prefix / "node_modules" / "k6-to-junit" / "dist" / "command.js")]
    with text.open("rb") as stdin:
        subprocess.run(
            [*command, str(out)], stdin=stdin, capture_output=True, timeout=60, check=False
        )
    return ET.parse(out).getroot()


def test_k6_to_junit_finds_the_same_thresholds_and_the_one_failure(
    node_prefix: Path, dmsload_run: DmsloadRun, tmp_path: Path
) -> None:
    root = _k6_to_junit(node_prefix, dmsload_run.legacy, tmp_path)
    suites = list(root.iter("testsuite"))
    assert [suite.get("name") for suite in suites] == [str(dmsload_run.profile)]
    cases = {case.get("name"): case for case in suites[0].iter("testcase")}
    # k6's legacy summary marks each thresholded metric and sub-metric line
    assert set(cases) == {
        "checks",
        "http_req_duration",
        "{ name:list }",
        "http_req_failed",
        "http_reqs",
    }
    failed = [name for name, case in cases.items() if case.find("failure") is not None]
    assert failed == [FAILING[0]]
    assert root.get("failures") == "1"


def test_the_tools_read_real_k6_files_the_same_way(node_prefix: Path, tmp_path: Path) -> None:
    """The reference: the same tools on what k6 1.1 wrote for tests/data/k6/script.js."""
    _node(node_prefix, "junit.js", K6_DATA / "handle-summary.json", tmp_path / "j.xml")
    root = ET.parse(tmp_path / "j.xml").getroot()
    thresholds = next(s for s in root.iter("testsuite") if s.get("name") == "Thresholds")
    assert thresholds.get("tests") == "5" and thresholds.get("failures") == "1"
    legacy = _k6_to_junit(node_prefix, K6_DATA / "legacy-summary.txt", tmp_path)
    assert legacy.get("tests") == "4" and legacy.get("failures") == "1"
