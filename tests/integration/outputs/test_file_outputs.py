"""File outputs against a real run on loopback: k6 NDJSON and CSV, HDR interval logs, JUnit,
the summary JSON, and what happens when the disk is slower than the run."""

from __future__ import annotations

import csv
import gzip
import io
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
import xmlschema
from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

from dmsload.engine.runner import ExitCode, RunOptions, RunResult, run_profile
from dmsload.metrics.registry import Registry
from dmsload.outputs.base import Output, OutputContext, OutputError
from dmsload.outputs.csv_output import HEADER
from dmsload.outputs.hdrlog import parse_series_tag, series_tag
from dmsload.outputs.spec import parse_output
from dmsload.outputs.summary_json import load_summary, write_summary_json
from dmsload.outputs.tap import Clock
from dmsload.profile import Profile, profile_from_mapping
from dmsload.run_report import ReportOptions, summary_context, write_exports
from dmsload.run_summary import summary_document
from dmsload.workloads import builtin_workloads

SCHEMA = Path(__file__).resolve().parents[2] / "data" / "junit.xsd"


def _profile(url: str, rate: int = 200, duration: str = "2s", **extra: Any) -> Profile:
    doc: dict[str, Any] = {
        "tags": {"env": "ci"},
        "scenarios": {
            "open": {
                "executor": "constant-arrival-rate",
                "rate": rate,
                "duration": duration,
                "pre_allocated_vus": 20,
                "max_vus": 50,
                "workload": "http",
                "options": {"url": url, "expect_status": 200, "name": "GET /x"},
            }
        },
        "thresholds": {"http_req_duration": ["p(95)<1000"], "http_req_failed": ["rate<0.5"]},
        **extra,
    }
    return profile_from_mapping(doc, builtin_workloads(), source="outputs.toml")


def _open(profile: Profile, *arguments: str, environ: dict[str, str] | None = None) -> list[Output]:
    ctx = OutputContext(clock=Clock.now(), thresholds=profile.thresholds)
    outputs = []
    for argument in arguments:
        output = parse_output(argument, environ or {})
        output.open(ctx)
        outputs.append(output)
    return outputs


def _run(profile: Profile, outputs: list[Output], timeline: bool = False) -> RunResult:
    options = RunOptions(quiet=True, handle_signals=False, outputs=outputs, timeline=timeline)
    return run_profile(profile, options)


def _samples_by_metric(registry: Registry) -> Counter[str]:
    counts: Counter[str] = Counter()
    for metric, _tags, sink in registry.series():
        counts[metric.name] += sink.samples
    return counts


def _points(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        lines = [orjson.loads(line) for line in handle.read().splitlines()]
    return [x for x in lines if x["type"] == "Metric"], [x for x in lines if x["type"] == "Point"]


@pytest.mark.parametrize("name", ["samples.ndjson", "samples.ndjson.gz"])
@pytest.mark.serial
def test_ndjson_at_1000_per_second_holds_every_sample_in_k6_shape(
    echo: Any, tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    profile = _profile(echo.url + "/x", rate=1000, duration="3s")
    outputs = _open(profile, f"json={path}")
    result = _run(profile, outputs)
    assert result.exit_code == ExitCode.OK
    metrics, points = _points(path)
    recorded = _samples_by_metric(result.registry)
    # as k6, no dropped_iterations point of value 0 (the scenario's opening zero sample)
    recorded["dropped_iterations"] -= 1
    recorded = +recorded
    assert Counter(point["metric"] for point in points) == recorded
    assert all(p["data"]["value"] > 0 for p in points if p["metric"] == "dropped_iterations")
    reqs, dropped = result.registry.view("http_reqs"), result.registry.view("dropped_iterations")
    assert reqs is not None and dropped is not None
    assert reqs.counter_total() + dropped.counter_total() == pytest.approx(3000, abs=2)
    assert reqs.counter_total() > 2500 and recorded["http_reqs"] == reqs.counter_total()
    report = result.outputs[0]
    assert (report.written, report.lost, report.undelivered) == (len(points), 0, 0)
    # one Metric line per metric, before its first point, in k6's shape
    assert sorted(m["metric"] for m in metrics) == sorted(recorded)
    first_point = {p["metric"]: i for i, p in reversed(list(enumerate(points)))}
    seen = 0
    with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as handle:
        for index, line in enumerate(handle.read().splitlines()):
            item = orjson.loads(line)
            if item["type"] == "Metric":
                assert index - seen <= first_point[item["metric"]]
                seen += 1
    duration = next(m for m in metrics if m["metric"] == "http_req_duration")["data"]
    assert duration == {
        "name": "http_req_duration",
        "type": "trend",
        "contains": "time",
        "thresholds": ["p(95)<1000"],
        "submetrics": [  # as k6 lists it, thresholds or not
            {
                "name": "http_req_duration{expected_response:true}",
                "suffix": "expected_response:true",
                "tags": {"expected_response": "true"},
            }
        ],
    }
    sample = next(p for p in points if p["metric"] == "http_req_duration")
    assert sample["data"]["tags"] == {
        "env": "ci",
        "expected_response": "true",
        "group": "",
        "method": "GET",
        "name": "GET /x",
        "proto": "HTTP/1.1",
        "scenario": "open",
        "status": "200",
        "url": "GET /x",
    }
    assert sample["data"]["time"].endswith("Z") and len(sample["data"]["time"]) == 30
    # nanosecond precision, as k6: each value (ms) truncates to the histogram's whole µs
    values_ns = [
        round(p["data"]["value"] * 1_000_000) for p in points if p["metric"] == "http_req_duration"
    ]
    view = result.registry.view("http_req_duration")
    assert view is not None and sum(ns // 1000 for ns in values_ns) == view.trend().sum
    assert any(ns % 1000 for ns in values_ns)  # not µs rounded


def test_csv_has_k6_columns_and_one_row_per_sample(echo: Any, tmp_path: Path) -> None:
    path = tmp_path / "samples.csv"
    profile = _profile(echo.url + "/x", rate=100, duration="2s")
    outputs = _open(profile, f"csv={path}", environ={"DMSLOAD_CSV_TIME_FORMAT": "unix_milli"})
    started_ms = time.time() * 1000
    result = _run(profile, outputs)
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert tuple(rows[0]) == HEADER
    body = [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]
    assert Counter(row["metric_name"] for row in body) == _samples_by_metric(result.registry)
    request = next(row for row in body if row["metric_name"] == "http_req_duration")
    assert request["scenario"] == "open" and request["status"] == "200"
    assert request["name"] == "GET /x" and request["method"] == "GET"
    assert request["extra_tags"] == "env=ci" and request["url"] == "GET /x"
    assert request["proto"] == "HTTP/1.1" and request["group"] == ""
    assert started_ms - 5000 < int(request["timestamp"]) < time.time() * 1000
    assert float(request["metric_value"]) > 0


def test_hdr_interval_log_round_trips_through_hdrhistograms_reader(
    echo: Any, tmp_path: Path
) -> None:
    path = tmp_path / "run.hlog"
    profile = _profile(echo.url + "/x", rate=200, duration="3s")
    before = time.time()
    result = _run(profile, _open(profile, f"hdrlog={path}"))
    reader = HistogramLogReader(str(path), HdrHistogram(1, 3_600_000_000, 3))
    per_series: dict[str, int] = Counter()
    maxima: dict[str, int] = {}
    starts: list[float] = []
    while (interval := reader.get_next_interval_histogram()) is not None:
        tag = interval.get_tag()
        per_series[tag] += interval.get_total_count()
        maxima[tag] = max(maxima.get(tag, 0), interval.get_max_value())
        starts.append(interval.get_start_time_stamp() / 1000)
    assert before - 1 < reader.get_start_time_sec() < time.time()
    assert starts == sorted(starts) and len(set(starts)) >= 3  # one interval per second
    metric = result.registry.get("http_req_duration")
    assert metric is not None
    for tags, sink in metric.series.items():
        tag = series_tag("http_req_duration", tags)
        assert per_series[tag] == sink.samples
        assert maxima[tag] == pytest.approx(sink.max, rel=0.001)
        name, parsed = parse_series_tag(tag)
        assert name == "http_req_duration" and parsed == dict(tags)
        assert "," not in tag and " " not in tag
    trend_series = sum(
        1
        for m, _t, s in result.registry.series()
        if m.kind.value == "trend" and s.samples and m.name != "auth_token_duration"
    )
    assert len(per_series) == trend_series


def test_junit_validates_and_marks_failed_and_no_data_thresholds(echo: Any, tmp_path: Path) -> None:
    profile = _profile(
        echo.url + "/x?status=500",
        rate=50,
        duration="1s",
        thresholds={
            "http_req_failed": ["rate<0.01"],
            "http_req_duration": ["p(95)<10000"],
            "http_req_duration{scenario:nosuch}": ["p(99)<100"],
        },
    )
    result = _run(profile, [])
    junit = tmp_path / "junit.xml"
    ctx = summary_context(result, profile, "compact")
    assert write_exports(result, profile, ctx, ReportOptions(junit=junit))
    xmlschema.XMLSchema(str(SCHEMA)).validate(str(junit))
    text = junit.read_text()
    assert 'tests="4" failures="2" errors="0" skipped="1"' in text  # root: 3 thresholds + 1 check
    assert "<failure message=\"http_req_failed 'rate&lt;0.01' failed: observed 1\"" in text
    assert '<skipped message="http_req_duration{scenario:nosuch}: no samples"' in text
    assert 'name="status is 200"' in text and "50 of 50 failed" in text


@pytest.mark.serial
def test_summary_json_rebuilds_every_figure_and_holds_the_timeline(
    echo: Any, tmp_path: Path
) -> None:
    profile = _profile(echo.url + "/x", rate=100, duration="3s")
    result = _run(profile, [], timeline=True)
    ctx = summary_context(result, profile, "compact")
    path = tmp_path / "summary.json"
    write_summary_json(path, summary_document(result, profile, ctx, argv=["run", "x.toml"]))
    loaded = load_summary(path)
    for metric, tags, _sink in result.registry.series():
        original = result.registry.view(metric.name, tags)
        again = loaded.registry.view(metric.name, tags)
        assert original is not None and again is not None
        for stat in ("count", "avg", "min", "max", "p(50)", "p(95)", "p(99.9)", "rate", "value"):
            try:
                expected = original.value(stat, result.elapsed_s)
            except ValueError:
                continue
            assert again.value(stat, result.elapsed_s) == expected, (metric.name, stat)
    series = loaded.timeseries
    assert series is not None and series["t"] == list(range(len(series["t"])))
    assert len(series["t"]) in (3, 4)
    reqs = result.registry.view("http_reqs")
    assert reqs is not None and sum(series["http_reqs"]) == reqs.counter_total()
    assert all(rps == pytest.approx(100, abs=12) for rps in series["rps"][:3])
    assert all(p is not None and p > 0 for p in series["p99_ms"][:3])
    assert max(series["vus"]) >= 1 and series["cpu_percent"][1] > 0
    manifest = loaded.document["manifest"]
    assert manifest["profile"]["path"] == "outputs.toml" and manifest["argv"] == ["run", "x.toml"]
    assert [t["expression"] for t in loaded.document["thresholds"]] == ["p(95)<1000", "rate<0.5"]
    iterations = result.registry.view("iterations")
    assert iterations is not None
    assert loaded.document["checks"] == [
        {"name": "status is 200", "passes": iterations.counter_total(), "fails": 0}
    ]


@pytest.mark.serial  # 200/s for 3 s: the VUs must keep pace
def test_a_disk_slower_than_the_run_loses_samples_not_requests(echo: Any, tmp_path: Path) -> None:
    fifo = tmp_path / "slow.ndjson"
    os.mkfifo(fifo)
    reader_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so the writer can open it
    profile = _profile(echo.url + "/x", rate=200, duration="3s")
    outputs = _open(profile, f"json={fifo}")
    outputs[0].queue_samples = 2_000  # a small queue, so that it overflows
    received = bytearray()

    def drain_later() -> None:
        time.sleep(4.5)  # nobody reads during the run: the pipe fills and writes block
        os.set_blocking(reader_fd, True)
        while chunk := os.read(reader_fd, 1 << 16):
            received.extend(chunk)

    reader = threading.Thread(target=drain_later, daemon=True)
    reader.start()
    try:
        result = _run(profile, outputs)
    finally:
        reader.join(timeout=30)
        os.close(reader_fd)
    iterations = result.registry.view("iterations")
    assert iterations is not None and iterations.counter_total() >= 595  # the VUs kept pace
    report = result.outputs[0]
    assert report.lost > 0 and report.undelivered == 0
    total = sum(_samples_by_metric(result.registry).values())
    points = [line for line in received.splitlines() if b'"type":"Point"' in line]
    omitted = outputs[0].omitted  # type: ignore[attr-defined]  # dropped_iterations zeros
    assert omitted <= 1  # unless its batch was among the lost ones
    assert len(points) == report.written and report.written + report.lost + omitted == total
    assert any("LOST" in line for line in report.lines())


def test_bad_output_arguments_are_one_line_errors(tmp_path: Path) -> None:
    profile = _profile("http://127.0.0.1:9/x")
    with pytest.raises(OutputError, match=r"^--out jsn=x: unknown output 'jsn'; use json, csv"):
        _open(profile, "jsn=x")
    with pytest.raises(OutputError, match=r"^--out json=: json needs a target"):
        _open(profile, "json=")
    missing = tmp_path / "no" / "such" / "dir.ndjson"
    with pytest.raises(OutputError, match=rf"^--out json={missing}: No such file or directory$"):
        _open(profile, f"json={missing}")
    with pytest.raises(OutputError, match=r"^DMSLOAD_CSV_TIME_FORMAT: unknown time format 'iso'"):
        _open(profile, f"csv={tmp_path / 'x.csv'}", environ={"DMSLOAD_CSV_TIME_FORMAT": "iso"})
