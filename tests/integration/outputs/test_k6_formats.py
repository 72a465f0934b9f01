"""dmsload's files in k6's exact formats, from one real run on loopback: `--k6-summary` has the
shape of the handleSummary() data real k6 wrote (tests/data/k6/handle-summary.json), and every
export and stream decodes with integer-typed fields where k6 writes integers."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import BaseModel, ConfigDict, StrictBool, StrictFloat, StrictInt, StrictStr

from dmsload.engine.runner import ExitCode, RunOptions, RunResult, run_profile
from dmsload.outputs.base import OutputContext
from dmsload.outputs.spec import parse_output
from dmsload.outputs.tap import Clock
from dmsload.profile import profile_from_mapping
from dmsload.run_report import ReportOptions, summary_context, write_exports
from dmsload.workloads import builtin_workloads

K6_DATA = Path(__file__).resolve().parents[2] / "data" / "k6"
K6_TREND_STATS = ["avg", "min", "med", "max", "p(90)", "p(95)"]
WHOLE_METRICS = ("http_reqs", "iterations", "checks", "http_req_failed", "vus", "vus_max")
"""Metrics whose every sample k6 writes as an integer (counts, 0/1 rates, VU counts)."""
Number = StrictInt | StrictFloat


@dataclass
class Files:
    result: RunResult
    k6_summary: Path
    summary_export: Path
    summary_json: Path
    ndjson: Path
    csv: Path


@pytest.fixture(scope="module")
def files(echo: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Files]:
    directory = tmp_path_factory.mktemp("k6formats")
    profile = profile_from_mapping(
        {
            "summary_trend_stats": K6_TREND_STATS,
            "scenarios": {
                "api": {
                    "executor": "constant-vus",
                    "vus": 2,
                    "duration": "2500ms",  # `vus` sampled at 1 s and 2 s, while both run
                    "workload": "http",
                    "options": {"url": echo.url + "/x", "expect_status": 200, "name": "list"},
                }
            },
            "thresholds": {
                "http_req_duration": ["p(95)<5000"],
                "http_req_duration{name:list}": ["max<5000"],
                "http_req_failed": ["rate<0.5"],
                "checks": ["rate>0.5"],
            },
        },
        builtin_workloads(),
        source="k6formats.toml",
    )
    ctx = OutputContext(clock=Clock.now(), thresholds=profile.thresholds)
    outputs = []
    for argument in (f"json={directory / 'samples.ndjson'}", f"csv={directory / 'samples.csv'}"):
        output = parse_output(argument, {})
        output.open(ctx)
        outputs.append(output)
    result = run_profile(
        profile, RunOptions(quiet=True, handle_signals=False, outputs=outputs, timeline=True)
    )
    assert result.exit_code == ExitCode.OK
    made = Files(
        result,
        directory / "k6-summary.json",
        directory / "export.json",
        directory / "summary.json",
        directory / "samples.ndjson",
        directory / "samples.csv",
    )
    options = ReportOptions(
        summary_export=made.summary_export,
        summary_json=made.summary_json,
        k6_summary=made.k6_summary,
    )
    assert write_exports(result, profile, summary_context(result, profile, "compact"), options)
    yield made


def _load(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def _shape(value: Any) -> Any:
    """A JSON value's structure: key sets, element shapes, and `number` for int and float."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _whole_floats(value: Any, path: str = "") -> list[str]:
    """Where a JSON document holds a whole number written as a float (`268.0`)."""
    if isinstance(value, dict):
        return [hit for key, item in value.items() for hit in _whole_floats(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [hit for i, item in enumerate(value) for hit in _whole_floats(item, f"{path}[{i}]")]
    if isinstance(value, float) and value.is_integer():
        return [f"{path}={value!r}"]
    return []


def test_k6_summary_has_the_shape_real_k6_wrote(files: Files) -> None:
    ours, k6 = _load(files.k6_summary), _load(K6_DATA / "handle-summary.json")
    assert set(ours) == set(k6) == {"root_group", "options", "state", "metrics"}
    for part in ("options", "state"):
        assert _shape(ours[part]) == _shape(k6[part]), part
    assert ours["options"]["summaryTrendStats"] == k6["options"]["summaryTrendStats"]
    # the root group: its id is k6's (md5 of ""), groups and checks are arrays
    root, k6_root = ours["root_group"], k6["root_group"]
    assert {key: root[key] for key in ("name", "path", "id")} == {
        key: k6_root[key] for key in ("name", "path", "id")
    }
    assert root["groups"] == [] and isinstance(k6_root["groups"], list)
    assert _shape(root["checks"]) == _shape(k6_root["checks"])
    check = root["checks"][0]
    assert check["path"] == f"::{check['name']}"
    assert check["id"] == hashlib.md5(check["path"].encode()).hexdigest()
    assert check["passes"] > 0 and check["fails"] == 0
    for k6_check in k6_root["checks"]:  # k6's ids are md5 of the path, as dmsload's
        assert k6_check["id"] == hashlib.md5(k6_check["path"].encode()).hexdigest()
    # every metric both have: same entry shape, type, contains and value names
    shared = set(ours["metrics"]) & set(k6["metrics"])
    assert {
        "http_req_duration",
        "http_req_duration{expected_response:true}",
        "http_req_duration{name:list}",
        "http_reqs",
        "http_req_failed",
        "checks",
        "iterations",
        "iteration_duration",
        "data_sent",
        "data_received",
        "vus",
        "vus_max",
    } <= shared
    for name in shared:
        mine, theirs = ours["metrics"][name], k6["metrics"][name]
        assert (mine["type"], mine["contains"]) == (theirs["type"], theirs["contains"]), name
        assert set(mine["values"]) == set(theirs["values"]), name
        assert set(mine) == set(theirs), name  # `thresholds` where k6 has them
        for verdict in mine.get("thresholds", {}).values():
            assert set(verdict) == {"ok"} and verdict["ok"] is True


class _CounterValues(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: StrictInt
    rate: Number


class _RateValues(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate: Number
    passes: StrictInt
    fails: StrictInt


class _GaugeValues(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: StrictInt
    min: StrictInt
    max: StrictInt


class _Check(BaseModel):
    name: StrictStr
    path: StrictStr
    id: StrictStr
    passes: StrictInt
    fails: StrictInt


class _Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ok: StrictBool


def test_every_json_export_writes_whole_numbers_as_integers(files: Files) -> None:
    for path in (files.k6_summary, files.summary_export, files.summary_json):
        assert _whole_floats(_load(path)) == [], path.name


def test_k6_summary_decodes_with_integer_typed_fields(files: Files) -> None:
    document = _load(files.k6_summary)
    metrics = document["metrics"]
    for name in ("http_reqs", "iterations", "data_sent", "data_received"):
        _CounterValues.model_validate(metrics[name]["values"])
    for name in ("checks", "http_req_failed"):
        _RateValues.model_validate(metrics[name]["values"])
        for verdict in metrics[name]["thresholds"].values():
            _Verdict.model_validate(verdict)
    # `vus` ends at its last sampled value (2 VUs ran throughout), not 0
    assert _GaugeValues.model_validate(metrics["vus"]["values"]).value == 2
    assert _GaugeValues.model_validate(metrics["vus_max"]["values"]).max == 2
    for check in document["root_group"]["checks"]:
        _Check.model_validate(check)


def test_legacy_export_and_summary_json_decode_with_integer_typed_fields(files: Files) -> None:
    export = _load(files.summary_export)["metrics"]
    _CounterValues.model_validate(export["http_reqs"] | {})
    for name in ("checks", "http_req_failed"):
        values = {key: export[name][key] for key in ("passes", "fails")}
        _RateValues.model_validate({"rate": export[name]["value"], **values})
    assert isinstance(export["vus"]["value"], int) and export["vus"]["value"] == 2
    summary = _load(files.summary_json)
    for name in ("http_reqs", "iterations"):
        _CounterValues.model_validate(summary["metrics"][name]["values"])
        for series in summary["metrics"][name]["series"]:
            assert isinstance(series["total"], int) and isinstance(series["count"], int)
    for item in summary["checks"]:
        assert isinstance(item["passes"], int) and isinstance(item["fails"], int)
    assert all(isinstance(n, int) for n in summary["timeseries"]["http_reqs"])


def test_ndjson_and_csv_write_counts_as_integers_and_timings_to_the_nanosecond(
    files: Files,
) -> None:
    points = [
        line
        for line in map(orjson.loads, files.ndjson.read_bytes().splitlines())
        if line["type"] == "Point"
    ]
    whole = [p for p in points if p["metric"] in WHOLE_METRICS]
    assert {p["metric"] for p in whole} == set(WHOLE_METRICS)
    assert all(isinstance(p["data"]["value"], int) for p in whole)
    timings = [p["data"]["value"] for p in points if p["metric"] == "http_req_waiting"]
    assert any(round(value * 1_000_000) % 1000 for value in timings)  # ns, not µs
    rows = list(csv.DictReader(io.StringIO(files.csv.read_text())))
    counts = [row["metric_value"] for row in rows if row["metric_name"] in WHOLE_METRICS]
    assert counts and all(re.fullmatch(r"-?\d+", value) for value in counts)  # Go's Atoi
    csv_timings = [row["metric_value"] for row in rows if row["metric_name"] == "http_req_waiting"]
    assert csv_timings == [repr(value) if value % 1 else str(int(value)) for value in timings]


def test_http_samples_carry_k6s_tags(files: Files) -> None:
    first = next(
        line
        for line in map(orjson.loads, files.ndjson.read_bytes().splitlines())
        if line.get("metric") == "http_req_duration" and line["type"] == "Point"
    )
    real = next(
        line
        for line in map(orjson.loads, (K6_DATA / "output.ndjson").read_bytes().splitlines())
        if line.get("metric") == "http_req_duration" and line["type"] == "Point"
    )
    assert set(real["data"]["tags"]) <= set(first["data"]["tags"])
    tags = first["data"]["tags"]
    assert tags["proto"] == "HTTP/1.1" and tags["url"] == tags["name"] == "list"
    assert tags["group"] == ""
