"""`dmsload compare` on real runs against the sandbox over loopback.

Three short constant-arrival-rate runs of one profile, made once for the module: `base`,
`slow` (the same with 30 ms of sandbox latency on every /data request) and `half` (half the
arrival rate). Their summary JSONs are the inputs; the command runs through Typer's CliRunner.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from dmsload.compare.command import compare
from dmsload.engine.runner import RunOptions, run_profile
from dmsload.outputs.summary_json import write_summary_json
from dmsload.profile import load_profile
from dmsload.run_report import summary_context
from dmsload.run_summary import summary_document
from dmsload.sandbox.testing import running_sandbox
from dmsload.settings import ConnectionSettings, load_settings
from dmsload.workloads import builtin_workloads

pytestmark = pytest.mark.serial  # compares p95 and throughput of runs made here

PROFILE = """
name = "cmp"

[scenarios.crud]
executor = "constant-arrival-rate"
rate = {rate}
duration = "2s"
pre_allocated_vus = 4
max_vus = 10
workload = "mixed-crud"

[scenarios.queries]
executor = "constant-arrival-rate"
rate = 5
duration = "2s"
pre_allocated_vus = 2
max_vus = 5
workload = "query"
options = {{ seed_students = 5 }}

[thresholds]
http_req_duration = ["p(95)<20"]
"""
SETUP_ONLY_NAME = "GET /ed-fi/students?totalCount"
"""The query workload's setup counts its seeded students with this request; the load never does."""
LATENCY_MS = 30.0


@dataclass(frozen=True)
class Runs:
    """The summary JSON of each run."""

    base: Path
    slow: Path
    half: Path


def _run(directory: Path, settings: ConnectionSettings, name: str, rate: int) -> Path:
    source = directory / f"{name}.toml"
    source.write_text(PROFILE.format(rate=rate))
    profile = load_profile(source, builtin_workloads())
    options = RunOptions(quiet=True, handle_signals=False, connection=settings)
    result = run_profile(profile, options)
    assert result.error is None, result.error
    document = summary_document(result, profile, summary_context(result, profile, "compact"))
    path = directory / f"{name}.summary.json"
    write_summary_json(path, document)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    directory = tmp_path_factory.mktemp("runs")
    with running_sandbox(seed_descriptors=True) as sandbox:
        settings = load_settings(
            dms_url=sandbox.base_url,
            cms_url=sandbox.base_url + "/config",
            client_key=sandbox.client_key,
            client_secret=sandbox.client_secret,
            credentials_file=directory / "no-credentials.json",
        )
        base = _run(directory, settings, "base", rate=20)
        sandbox.set_faults(latency_ms=LATENCY_MS)
        slow = _run(directory, settings, "slow", rate=20)
        sandbox.set_faults(latency_ms=0.0)
        half = _run(directory, settings, "half", rate=10)
    yield Runs(base=base, slow=slow, half=half)


def _app() -> typer.Typer:
    app = typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        """dmsload, as cli.py builds it."""

    app.command(name="compare")(compare)
    return app


def _compare(*args: str | Path) -> Result:
    return CliRunner().invoke(_app(), ["compare", *(str(arg) for arg in args)])


def _json(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def _stdout_lines(result: Result) -> list[str]:
    return result.stdout.rstrip("\n").splitlines()


# ---- a run against itself ----------------------------------------------------------------


def test_a_run_compared_with_itself_passes_and_every_change_is_zero(
    runs: Runs, tmp_path: Path
) -> None:
    out = tmp_path / "self.json"
    result = _compare(
        runs.base,
        runs.base,
        "--fail-on",
        "p(95)>+0%",
        "--fail-on",
        "rps<-0%",
        "--fail-on",
        "http_req_duration{name:*}:p(99)>+0ms",
        "--json",
        out,
    )
    assert result.exit_code == 0, result.output
    assert _stdout_lines(result)[-1] == "no regression"
    document = _json(out)
    assert document["exit_code"] == 0 and document["regressions"] == 0
    (profile,) = document["profiles"]
    rows = profile["rows"]
    assert len(rows) > 40
    assert all(row["baseline"] == row["current"] is not None for row in rows)
    assert all(row["delta"] == 0 and row["change_pct"] == 0 for row in rows)
    assert profile["thresholds"] == []
    names = {row["label"] for row in rows if row["section"] == "by name"}
    assert {"POST /ed-fi/students", "GET /ed-fi/students/{id}"} <= names
    assert SETUP_ONLY_NAME not in names  # setup requests are not the load
    wildcard = profile["rules"][2]
    assert {t["selector"] for t in wildcard["targets"]} == {
        f"http_req_duration{{name:{name}}}" for name in names
    }
    assert all(t["verdict"] == "ok" and t["change"] == 0 for t in wildcard["targets"])


# ---- injected latency --------------------------------------------------------------------


def test_injected_latency_breaks_a_p95_rule_and_names_every_slower_row(
    runs: Runs, tmp_path: Path
) -> None:
    out = tmp_path / "slow.json"
    result = _compare(
        runs.base,
        runs.slow,
        "--fail-on",
        "p(95)>+10%",
        "--fail-on",
        "http_req_duration{name:*}:p(95)>+10%",
        "--fail-on",
        "http_req_failed:rate>+1pp",
        "--json",
        out,
    )
    assert result.exit_code == 99, result.output
    lines = _stdout_lines(result)
    overall = next(line for line in lines if re.match(r"^\s+p\(95\)\s", line))
    assert overall.rstrip().endswith("✗ p(95)>+10%")
    assert "http_req_duration" in lines[lines.index(overall) - 2]
    profile = _json(out)["profiles"][0]
    wildcard = profile["rules"][1]
    names = {t["selector"] for t in wildcard["targets"]}
    assert "http_req_duration{name:POST /ed-fi/students}" in names
    assert len(names) >= 5
    assert all(t["verdict"] == "broken" for t in wildcard["targets"])
    for target in wildcard["targets"]:  # every request waited at least the injected latency
        assert target["current"] >= LATENCY_MS > target["baseline"]
    assert profile["rules"][2]["broken"] == 0  # no errors were injected
    expected = 1 + len(names)
    assert lines[-1] == f"{expected} regression(s)"
    assert _json(out)["regressions"] == expected
    marked = [line for line in lines if line.endswith("  ✗ http_req_duration{name:*}:p(95)>+10%")]
    assert len(marked) == len(names)
    assert all(line.split()[0] == "p(95)" for line in marked)
    assert "    ✗ http_req_duration 'p(95)<20': passed → failed" in lines
    assert "    ✗ p(95)>+10%: broken on 1 of 1 compared" in lines


def test_latency_below_the_limit_of_an_absolute_rule_passes(runs: Runs) -> None:
    result = _compare(runs.base, runs.slow, "--fail-on", "med>+1000ms")
    assert result.exit_code == 0, result.output
    assert "✓ med>+1000ms: ok on 1 row" in result.stdout
    assert _stdout_lines(result)[-1] == "no regression"


# ---- throughput --------------------------------------------------------------------------


def test_rps_rule_breaks_when_throughput_drops_and_holds_when_it_does_not(runs: Runs) -> None:
    dropped = _compare(runs.base, runs.half, "--fail-on", "rps<-10%")
    assert dropped.exit_code == 99, dropped.output
    row = next(line for line in _stdout_lines(dropped) if line.lstrip().startswith("http_reqs"))
    assert row.split()[:2] == ["http_reqs", "rps"] and row.endswith("✗ rps<-10%")
    change = float(row.split()[5].rstrip("%"))
    assert -45 < change < -20  # the load halved; the setup requests did not

    assert _compare(runs.base, runs.slow, "--fail-on", "rps<-10%").exit_code == 0  # same rate
    assert _compare(runs.half, runs.base, "--fail-on", "rps<-10%").exit_code == 0  # it grew
    absolute = _compare(runs.base, runs.half, "--fail-on", "rps<-5")
    assert absolute.exit_code == 99 and "✗ rps<-5" in absolute.stdout


# ---- suite directories -------------------------------------------------------------------


def _suite(directory: Path, entries: dict[str, Path], *, with_key: bool) -> Path:
    directory.mkdir()
    profiles = []
    for name, summary in entries.items():
        file_name = f"{name}.summary.json"
        (directory / file_name).write_bytes(summary.read_bytes())
        entry: dict[str, Any] = {"name": name, "summary": f"{name}.k6-summary.json", "exit_code": 0}
        if with_key:
            entry["summary_json"] = file_name
        profiles.append(entry)
    (directory / "suite.json").write_text(json.dumps({"profiles": profiles}))
    return directory


def test_suite_directories_compare_profile_by_profile(runs: Runs, tmp_path: Path) -> None:
    before = _suite(
        tmp_path / "before",
        {"steady": runs.base, "crud": runs.base, "gone": runs.base},
        with_key=True,
    )
    after = _suite(  # without summary_json: the <name>.summary.json fallback
        tmp_path / "after",
        {"crud": runs.slow, "fresh": runs.half, "steady": runs.base},
        with_key=False,
    )
    out = tmp_path / "dirs.json"
    result = _compare(before, after, "--fail-on", "p(95)>+10%", "--json", out)
    assert result.exit_code == 99, result.output
    lines = _stdout_lines(result)
    assert [line for line in lines if line.startswith("━━ ")] == ["━━ steady", "━━ crud"]
    assert "only in the baseline (not compared): gone" in lines
    assert "only in the current (not compared): fresh" in lines
    assert lines[-1] == "1 regression(s)"
    document = _json(out)
    assert [(p["name"], p["regressions"]) for p in document["profiles"]] == [
        ("steady", 0),
        ("crud", 1),
    ]
    assert document["only_in_baseline"] == ["gone"]
    assert document["only_in_current"] == ["fresh"]
    assert document["profiles"][1]["current"]["path"] == str(after / "crud.summary.json")

    passing = _compare(before, after, "--fail-on", "rps<-90%")
    assert passing.exit_code == 0 and _stdout_lines(passing)[-1] == "no regression"


def test_bad_suite_directories_exit_2_naming_the_problem(runs: Runs, tmp_path: Path) -> None:
    good = _suite(tmp_path / "good", {"crud": runs.base}, with_key=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = _suite(tmp_path / "broken", {"crud": runs.base}, with_key=True)
    (broken / "crud.summary.json").unlink()
    cases = [
        ((good, runs.base), f"{good} is a directory but {runs.base} is not"),
        ((runs.base, good), f"{good} is a directory but {runs.base} is not"),
        ((good, empty), f"{empty}: no suite.json (not a `dmsload suite --results-dir` directory)"),
        ((good, broken), f"{broken / 'crud.summary.json'}: cannot read it"),
    ]
    for args, message in cases:
        result = _compare(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
        assert result.stdout == ""


# ---- markdown ----------------------------------------------------------------------------


def _cells(line: str) -> list[str]:
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_markdown_is_well_formed_github_tables(runs: Runs, tmp_path: Path) -> None:
    out = tmp_path / "compare.md"
    result = _compare(
        runs.base,
        runs.slow,
        "--fail-on",
        "p(95)>+10%",
        "--fail-on",
        "http_req_duration{name:DELETE /ed-fi/students/{id}}:p(99)>+10%",
        "--markdown",
        out,
    )
    assert result.exit_code == 99, result.output
    text = out.read_text()
    lines = text.splitlines()
    assert lines[0] == "## ❌ dmsload compare: 2 regression(s)"
    assert text.count("<details>") == text.count("</details>") == 1
    tables = 0
    for index, line in enumerate(lines):
        if not line.startswith("|"):
            continue
        if not lines[index - 1].startswith("|"):  # a table starts: blank line, header, rule
            tables += 1
            assert lines[index - 1] == "", lines[index - 1]
            assert re.fullmatch(r"\|(---:?\|)+", lines[index + 1]), lines[index + 1]
            width = len(_cells(line))
        assert len(_cells(line)) == width == 7, line
        assert line.endswith("|")
    assert tables >= 3  # overall, then one per request name
    assert "| `http_req_duration` | p(95) |" in text
    row = next(line for line in lines if line.startswith("| `http_req_duration` | p(95) |"))
    assert _cells(row)[-1].strip() == "❌ `p(95)>+10%`"
    assert "**DELETE /ed-fi/students/{id}**" in text
    assert "- ❌ `http_req_duration{name:DELETE /ed-fi/students/{id}}:p(99)>+10%`" in text
    assert "- ❌ `http_req_duration` `p(95)<20`: passed → failed" in text
    prose = re.sub(r"`[^`]*`|</?(details|summary)>", "", text)
    assert "<" not in prose and ">" not in prose  # outside code, names are escaped


# ---- bad usage ---------------------------------------------------------------------------


def test_bad_rules_exit_2_before_any_file_is_read(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    result = _compare(missing, missing, "--fail-on", "p(95)>+10%", "--fail-on", "p95>+10%")
    assert result.exit_code == 2
    assert result.stderr == (
        "dmsload: --fail-on 'p95>+10%': unknown stat 'p95' (did you mean p(95)?); "
        "use avg, med, min, max, p(N), rate, rps or count\n"
    )


def test_bad_inputs_exit_2_with_one_line(runs: Runs, tmp_path: Path) -> None:
    not_json = tmp_path / "notes.txt"
    not_json.write_text("hello")
    k6_export = tmp_path / "k6.json"
    k6_export.write_text(json.dumps({"root_group": {}, "metrics": {}}))
    cases: list[tuple[tuple[Path | str, ...], str]] = [
        ((tmp_path / "nope.json", runs.base), f"{tmp_path / 'nope.json'}: no such file"),
        ((runs.base, not_json), f"{not_json}: not JSON"),
        ((k6_export, runs.base), "this is a k6 --summary-export file"),
        (
            (runs.base, runs.slow, "--fail-on", "http_req_failed:p(95)>+10%"),
            "p(95) does not apply to rate metric http_req_failed; use rate",
        ),
        (
            (runs.base, runs.slow, "--fail-on", "http_reqs:p(95)>+10%"),
            "p(95) does not apply to counter metric http_reqs",
        ),
    ]
    for args, message in cases:
        result = _compare(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("dmsload: ") and result.stderr.count("\n") == 1
        assert message in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            "bogus_metric:p(95)>+10%",
            "--fail-on 'bogus_metric:p(95)>+10%': neither run has metric 'bogus_metric'",
        ),
        (
            "http_req_duraton:p(95)>+10%",
            "neither run has metric 'http_req_duraton' (did you mean 'http_req_duration'",
        ),
        (
            "http_req_duration{name:POST /ed-fi/studnets}:p(95)>+10%",
            "neither run has samples of http_req_duration{name:POST /ed-fi/studnets} "
            "(did you mean 'POST /ed-fi/students'",
        ),
        (
            "http_req_duration{scenario:nope}:p(95)>+10%",
            "neither run has samples of http_req_duration{scenario:nope}",
        ),
        (
            "http_req_duration{name:*,scenario:nope}:p(99)>+20%",
            "http_req_duration{name:*,scenario:nope} matches no series that both runs have",
        ),
        (
            f"http_req_duration{{name:{SETUP_ONLY_NAME}}}:p(95)>+10%",
            f"neither run has samples of http_req_duration{{name:{SETUP_ONLY_NAME}}}",
        ),
    ],
)
def test_a_rule_that_matches_nothing_in_either_run_exits_2_naming_it(
    runs: Runs, rule: str, message: str
) -> None:
    # A typo must not pass the gate: the slow run would break a correct rule.
    result = _compare(runs.base, runs.slow, "--fail-on", "p(95)>+1000%", "--fail-on", rule)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(f"dmsload: --fail-on {rule!r}: ")
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_a_rule_on_a_name_one_run_lacks_is_no_data_not_an_error(runs: Runs, tmp_path: Path) -> None:
    base = _json(runs.base)
    kept = [
        series
        for series in base["metrics"]["http_req_duration"]["series"]
        if dict(series["tags"]).get("name") != "POST /ed-fi/students"
    ]
    assert kept != base["metrics"]["http_req_duration"]["series"]
    base["metrics"]["http_req_duration"]["series"] = kept
    edited = tmp_path / "edited.summary.json"
    edited.write_text(json.dumps(base))
    rule = "http_req_duration{name:POST /ed-fi/students}:p(95)>+10%"
    result = _compare(edited, runs.slow, "--fail-on", rule)
    assert result.exit_code == 0, result.output
    assert "no data in one run or both: not judged (not a failure)" in result.stdout


def test_a_suite_rule_matching_one_profile_is_judged_and_one_matching_none_exits_2(
    runs: Runs, tmp_path: Path
) -> None:
    before = _suite(tmp_path / "before", {"crud": runs.base}, with_key=True)
    after = _suite(tmp_path / "after", {"crud": runs.slow}, with_key=True)
    # judged, and passing whatever the machine's speed: the slow run's p95 can only rise
    known = _compare(before, after, "--fail-on", "query_response_time:p(95)<-50%")
    assert known.exit_code == 0, known.output
    assert "query_response_time" in known.output
    typo = _compare(before, after, "--fail-on", "query_response_tim:p(95)>+10%")
    assert typo.exit_code == 2, typo.output
    assert "neither compared profile has metric 'query_response_tim'" in typo.stderr


def test_suites_with_no_profile_in_common_cannot_be_gated(runs: Runs, tmp_path: Path) -> None:
    before = _suite(tmp_path / "before", {"gone": runs.base}, with_key=True)
    after = _suite(tmp_path / "after", {"fresh": runs.slow}, with_key=True)
    assert _compare(before, after).exit_code == 0  # a comparison without rules only reports
    gated = _compare(before, after, "--fail-on", "p(95)>+10%")
    assert gated.exit_code == 2, gated.output
    assert gated.stderr == (
        "dmsload: --fail-on 'p(95)>+10%': the inputs have no profile in common, "
        "so no rule can be judged\n"
    )
