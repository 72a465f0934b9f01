"""`--k6-tags`: the streams leave out dmsload's own `operation` and `resource` tags."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson

from dmsload.metrics import Registry, define_builtin_metrics, make_tags
from dmsload.outputs.base import DMSLOAD_TAGS, OutputContext
from dmsload.outputs.csv_output import CsvOutput
from dmsload.outputs.hdrlog import HdrLogOutput, parse_series_tag
from dmsload.outputs.line_protocol import LineEncoder
from dmsload.outputs.ndjson import JsonOutput
from dmsload.outputs.tap import Clock, Sample

TAGS = make_tags(
    {"scenario": "s", "name": "POST /students", "resource": "students", "operation": "create"}
)


def _batch() -> list[Sample]:
    metrics = define_builtin_metrics(Registry())
    return [(1_000, metrics.http_req_duration, TAGS, 1.5), (2_000, metrics.http_reqs, TAGS, 1.0)]


def test_ndjson_and_csv_keep_or_drop_dmsloads_tags(tmp_path: Path) -> None:
    for drop, expected in ((frozenset(), set(dict(TAGS))), (DMSLOAD_TAGS, {"scenario", "name"})):
        ctx = OutputContext(clock=Clock(0), drop_tags=drop)
        ndjson = JsonOutput(str(tmp_path / "x.ndjson"))
        ndjson.ctx = ctx
        lines = [orjson.loads(line) for line in ndjson.encode(_batch()).splitlines()]
        points = [line for line in lines if line["type"] == "Point"]
        assert [set(p["data"]["tags"]) for p in points] == [expected, expected]
        assert points[1]["data"]["value"] == 1 and isinstance(points[1]["data"]["value"], int)
        table = CsvOutput(str(tmp_path / "x.csv"), {})
        table.ctx = ctx
        rows = list(csv.reader(io.StringIO(table.encode(_batch()).decode())))
        extra = "operation=create&resource=students" if not drop else ""
        assert [row[-2] for row in rows] == [extra, extra]
        assert [row[2] for row in rows] == ["1.5", "1"]


def test_line_protocol_drops_them_too() -> None:
    encoder = LineEncoder({})
    encoder.drop_tags = DMSLOAD_TAGS
    prefix = encoder.prefix("http_reqs", TAGS)
    assert "resource" not in prefix and "operation" not in prefix and "scenario=s" in prefix


def test_hdrlog_drops_them_and_merges_the_series_they_split(tmp_path: Path) -> None:
    metrics = define_builtin_metrics(Registry())
    read = make_tags({"scenario": "s", "name": "GET /students", "operation": "read"})
    query = make_tags({"scenario": "s", "name": "GET /students", "operation": "query"})
    batch: list[Sample] = [
        (1_000, metrics.http_req_duration, read, 1.5),
        (2_000, metrics.http_req_duration, query, 2.5),
        (2_000_000_000, metrics.http_req_duration, read, 1.0),  # closes the first second
    ]
    for drop, series in ((frozenset(), 2), (DMSLOAD_TAGS, 1)):
        log = HdrLogOutput(str(tmp_path / "x.hlog"))
        log.ctx = OutputContext(clock=Clock(0), drop_tags=drop)
        lines = [line for line in log.encode(batch).decode().splitlines() if line[:4] == "Tag="]
        tags = [parse_series_tag(line[4:].split(",", 1)[0]) for line in lines]
        assert len(lines) == series
        assert all(("operation" in found) == (not drop) for _name, found in tags)
        if drop:
            assert tags == [("http_req_duration", {"scenario": "s", "name": "GET /students"})]
            assert lines[0].split(",")[3] == "2.500"  # both requests in one histogram
