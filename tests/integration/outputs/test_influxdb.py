"""`--out influxdb=URL`: line protocol, a real InfluxDB 1.x on loopback, a v2 receiver that
parses every line strictly, and a database that is down, failing, refusing or hanging."""

from __future__ import annotations

import base64
import json
import math
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest

from dmsload.engine.runner import ExitCode, RunOptions, RunResult, run_profile
from dmsload.metrics import Registry
from dmsload.metrics.kinds import MetricKind, make_tags
from dmsload.outputs import influxdb, line_protocol
from dmsload.outputs.base import OutputContext, OutputError
from dmsload.outputs.influxdb import InfluxDbOutput, undelivered_in_partial_write
from dmsload.outputs.influxdb_config import parse_config
from dmsload.outputs.line_protocol import (
    LineEncoder,
    escape_key,
    escape_measurement,
    escape_string_field,
)
from dmsload.outputs.spec import parse_output
from dmsload.outputs.tap import Clock, Sample
from dmsload.profile import profile_from_mapping
from dmsload.workloads import builtin_workloads

TOKEN = "s3cr3t-t0ken"

# -- a strict line-protocol parser (InfluxDB 1.x rules), for the receiver ---------------------

_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INT = re.compile(r"[+-]?\d+i")
_BOOLS = {"t": True, "T": True, "true": True, "True": True, "TRUE": True}
_BOOLS |= {"f": False, "F": False, "false": False, "False": False, "FALSE": False}


@dataclass
class Point:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, Any]
    time_ns: int


def _scan(line: str, i: int, stops: str) -> tuple[str, int]:
    """Read up to an unescaped stop character; `\\,` `\\=` `\\ ` unescape, other `\\` stay."""
    out: list[str] = []
    while i < len(line) and line[i] not in stops:
        if line[i] == "\\" and i + 1 < len(line) and line[i + 1] in ",= ":
            out.append(line[i + 1])
            i += 2
            continue
        if line[i] in "\n\r":
            raise ValueError(f"raw newline at {i}")
        out.append(line[i])
        i += 1
    return "".join(out), i


def parse_line(line: str) -> Point:
    """One line of line protocol, parsed strictly; ValueError on anything out of place."""
    measurement, i = _scan(line, 0, ", ")
    if not measurement:
        raise ValueError("empty measurement")
    tags: dict[str, str] = {}
    while i < len(line) and line[i] == ",":
        key, i = _scan(line, i + 1, "=, ")
        if not key or i >= len(line) or line[i] != "=":
            raise ValueError(f"bad tag key at {i}: {line!r}")
        value, i = _scan(line, i + 1, ", =")
        if not value or (i < len(line) and line[i] == "="):
            raise ValueError(f"bad tag value for {key!r}: {line!r}")
        if key in tags:
            raise ValueError(f"tag {key!r} twice")
        tags[key] = value
    if i >= len(line) or line[i] != " ":
        raise ValueError(f"no fields: {line!r}")
    i += 1
    fields: dict[str, Any] = {}
    while True:
        key, i = _scan(line, i, "=, ")
        if not key or i >= len(line) or line[i] != "=":
            raise ValueError(f"bad field key at {i}: {line!r}")
        i += 1
        if i < len(line) and line[i] == '"':
            i += 1
            chars: list[str] = []
            while True:
                if i >= len(line):
                    raise ValueError("unterminated string")
                c = line[i]
                if c == "\\" and i + 1 < len(line) and line[i + 1] in '"\\':
                    chars.append(line[i + 1])
                    i += 2
                elif c == '"':
                    i += 1
                    break
                elif c in "\n\r":
                    raise ValueError("raw newline in a string")
                else:
                    chars.append(c)
                    i += 1
            value: Any = "".join(chars)
        else:
            start = i
            while i < len(line) and line[i] not in ", ":
                i += 1
            raw = line[start:i]
            if _INT.fullmatch(raw):
                value = int(raw[:-1])
            elif _FLOAT.fullmatch(raw):
                value = float(raw)
            elif raw in _BOOLS:
                value = _BOOLS[raw]
            else:
                raise ValueError(f"bad field value {raw!r} for {key!r}")
        if key in fields:
            raise ValueError(f"field {key!r} twice")
        fields[key] = value
        if i < len(line) and line[i] == ",":
            i += 1
            continue
        break
    if i >= len(line) or line[i] != " ":
        raise ValueError(f"no timestamp: {line!r}")
    stamp = line[i + 1 :]
    if not re.fullmatch(r"-?\d+", stamp):
        raise ValueError(f"bad timestamp {stamp!r}")
    return Point(measurement, tags, fields, int(stamp))


def test_the_test_parser_is_strict() -> None:
    point = parse_line('m,a=x\\,y\\ z,b=c\\=d f="q\\"\\\\",g=3i,h=true,value=1e-05 17')
    assert point == Point(
        "m", {"a": "x,y z", "b": "c=d"}, {"f": 'q"\\', "g": 3, "h": True, "value": 1e-05}, 17
    )
    for bad in (
        "m value=1",
        "m value=1 1.5",
        "m,a= value=1 1",
        "m,a=b,a=c value=1 1",
        "m value=nan 1",
        "m value=inf 1",
        'm s="open 1',
        "m value=1  1",
        "m,a=b  value=1 1",
        " value=1 1",
        "m value=1,value=2 1",
    ):
        with pytest.raises(ValueError):
            parse_line(bad)


# -- 1: encoding ------------------------------------------------------------------------------


def test_escaping() -> None:
    assert escape_measurement("http reqs,x=1") == "http\\ reqs\\,x=1"
    assert escape_key("a b,c=d") == "a\\ b\\,c\\=d"
    assert escape_key("C:\\dir\\") == "C:\\dir"  # a final backslash cannot be carried
    assert escape_key("two\nlines") == "two\\nlines"
    assert escape_string_field('say "hi" \\ bye') == '"say \\"hi\\" \\\\ bye"'


def _metric(name: str = "http_reqs", kind: MetricKind = MetricKind.COUNTER) -> Any:
    return Registry().define(name, kind)


def test_lines_tags_fields_and_time() -> None:
    encoder = LineEncoder(line_protocol.parse_tags_as_fields("t", "vu:int,iter:int,url,ok:bool"))
    metric = _metric()
    tags = make_tags(
        {"method": "GET", "url": 'http://h/a "b"', "vu": "7", "ok": "true"}
        | {"empty": "", "time": "x"}
    )
    lines = encoder.encode([(1_000, metric, tags, 1.0), (2_000, metric, tags, 2)], 5)
    assert lines == [
        'http_reqs,method=GET,time_tag=x ok=true,url="http://h/a \\"b\\"",vu=7i,value=1.0 1005\n',
        'http_reqs,method=GET,time_tag=x ok=true,url="http://h/a \\"b\\"",vu=7i,value=2.0 2005\n',
    ]
    point = parse_line(lines[0].rstrip("\n"))
    assert point.tags == {"method": "GET", "time_tag": "x"}
    assert point.fields == {"ok": True, "url": 'http://h/a "b"', "vu": 7, "value": 1.0}


def test_non_finite_values_are_skipped_and_bad_conversions_noted() -> None:
    encoder = LineEncoder({"vu": "int"})
    metric = _metric("custom", MetricKind.TREND)
    tags = make_tags({"vu": "not-a-number"})
    lines = encoder.encode(
        [(1, metric, tags, math.nan), (2, metric, tags, math.inf), (3, metric, tags, 1e16)], 0
    )
    assert lines == ["custom value=1e+16 3\n"]
    assert encoder.skipped == 2
    assert encoder.notes and "vu" in encoder.notes[0]


def test_partial_write_answers_are_counted() -> None:
    body = '{"error":"partial write: field type conflict: input field ... dropped=3"}'
    assert undelivered_in_partial_write(body, 10) == 3
    body = '{"error":"partial write: unable to parse \'a\': x\\n'
    body += "unable to parse 'b': y dropped=0\"}"
    assert undelivered_in_partial_write(body, 10) == 2
    assert undelivered_in_partial_write('{"error":"database not found"}', 10) is None


# -- 5: arguments and environment ------------------------------------------------------------


def test_v1_arguments() -> None:
    config = parse_config("http://127.0.0.1:8086", {})
    assert (config.addr, config.database, config.v2) == ("http://127.0.0.1:8086", "dmsload", False)
    assert dict(config.tags_as_fields) == {"vu": "int", "iter": "int", "url": "string"}
    assert config.push_interval_s == 1.0
    config = parse_config(
        "https://u:p%40ss@db.example:8087/runs/",
        {"DMSLOAD_INFLUXDB_PUSH_INTERVAL": "250ms", "K6_INFLUXDB_TAGS_AS_FIELDS": ""},
    )
    assert (config.addr, config.database) == ("https://db.example:8087", "runs")
    assert (config.username, config.password) == ("u", "p@ss")
    assert config.push_interval_s == 0.25 and dict(config.tags_as_fields) == {}
    config = parse_config(
        "http://h:8086/x",
        {"DMSLOAD_INFLUXDB_USERNAME": "me", "K6_INFLUXDB_PASSWORD": "pw"},
    )
    assert (config.username, config.password) == ("me", "pw")


def test_v2_arguments_from_dmsload_or_k6_variables() -> None:
    env = {
        "K6_INFLUXDB_BUCKET": "b",
        "K6_INFLUXDB_ORGANIZATION": "o",
        "DMSLOAD_INFLUXDB_TOKEN": TOKEN,
    }
    config = parse_config("http://127.0.0.1:8086", env)
    assert config.v2 and config.write_url == "http://127.0.0.1:8086/api/v2/write"
    assert config.write_params == {"org": "o", "bucket": "b", "precision": "ns"}
    assert TOKEN not in repr(config)


def test_the_label_holds_no_secret() -> None:
    output = parse_output("influxdb=http://u:hunter2@127.0.0.1:8086/db", {})
    assert output.label == "influxdb=http://u:***@127.0.0.1:8086/db"
    assert "hunter2" not in output.target
    with pytest.raises(OutputError) as caught:
        parse_output("influxdb=http://u:hunter2@127.0.0.1:bad/db", {})
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("target", "env", "needle"),
    [
        ("ftp://127.0.0.1/db", {}, "ftp://127.0.0.1/db: the URL must start with http://"),
        ("127.0.0.1:8086", {}, "must start with http://"),
        ("http://127.0.0.1:8086/a/b", {}, "one database name"),
        ("http://127.0.0.1:8086/db?precision=s", {}, "no query"),
        ("http://127.0.0.1:notaport/db", {}, "not a URL"),
        (
            "http://h:8086",
            {"DMSLOAD_INFLUXDB_BUCKET": "runs", "DMSLOAD_INFLUXDB_TOKEN": "t"},
            "DMSLOAD_INFLUXDB_BUCKET=runs (InfluxDB v2) needs DMSLOAD_INFLUXDB_ORGANIZATION",
        ),
        (
            "http://h:8086",
            {"K6_INFLUXDB_BUCKET": "runs", "DMSLOAD_INFLUXDB_ORGANIZATION": "o"},
            "K6_INFLUXDB_BUCKET=runs (InfluxDB v2) needs DMSLOAD_INFLUXDB_TOKEN",
        ),
        (
            "http://h:8086/db",
            {"DMSLOAD_INFLUXDB_BUCKET": "b", "K6_INFLUXDB_ORGANIZATION": "o"}
            | {"K6_INFLUXDB_TOKEN": "t"},
            "the URL names no database; drop /db",
        ),
        ("http://h/db", {"DMSLOAD_INFLUXDB_PUSH_INTERVAL": "soon"}, "PUSH_INTERVAL=soon: not a"),
        ("http://h/db", {"K6_INFLUXDB_PUSH_INTERVAL": "1ms"}, "K6_INFLUXDB_PUSH_INTERVAL=1ms:"),
        (
            "http://h/db",
            {"DMSLOAD_INFLUXDB_TAGS_AS_FIELDS": "vu:integer"},
            "DMSLOAD_INFLUXDB_TAGS_AS_FIELDS=vu:integer: unknown field type 'integer'",
        ),
        ("http://h/db", {"DMSLOAD_INFLUXDB_TAGS_AS_FIELDS": "url,url"}, "more than once"),
        ("http://h/db", {"DMSLOAD_INFLUXDB_PASSWORD": "pw"}, "DMSLOAD_INFLUXDB_PASSWORD is set"),
        ("http://h/db", {"DMSLOAD_INFLUXDB_INSECURE": "maybe"}, "INSECURE=maybe: use true"),
    ],
)
def test_bad_arguments_are_one_line_errors(target: str, env: dict[str, str], needle: str) -> None:
    with pytest.raises(OutputError) as caught:
        parse_output(f"influxdb={target}", env)
    message = str(caught.value)
    assert needle in message and "\n" not in message
    assert "pw" not in message.replace("PASSWORD", "")


# -- helpers: free ports, runs, driving an output --------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _profile(url: str, **extra: Any) -> Any:
    doc = {
        "scenarios": {
            "load": {
                "executor": "constant-arrival-rate",
                "rate": 100,
                "duration": "1s",
                "pre_allocated_vus": 5,
                "max_vus": 10,
                "workload": "http",
                "options": {"url": url + "/x"},
            }
        },
        **extra,
    }
    return profile_from_mapping(doc, builtin_workloads(), source="test.toml")


def _run(output: InfluxDbOutput, url: str, **extra: Any) -> RunResult:
    profile = _profile(url, **extra)
    output.open(OutputContext(clock=Clock.now(), thresholds=profile.thresholds))
    return run_profile(profile, RunOptions(quiet=True, handle_signals=False, outputs=[output]))


def _samples(result: RunResult) -> dict[str, int]:
    """Samples recorded per metric, as the registry counts them."""
    counts = {
        metric.name: sum(sink.samples for sink in metric.series.values())
        for metric in result.registry.metrics()
    }
    return {name: n for name, n in counts.items() if n}


def _drive(output: InfluxDbOutput, batch: list[Sample]) -> None:
    """Run an output by itself on one batch, as the session would."""
    output.open(OutputContext(clock=Clock(0)))

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(output.run)
            await anyio.sleep(0)
            output.offer(batch)
            output.request_close()
        await output.finish()

    anyio.run(main)


# -- 2: a real InfluxDB 1.x ------------------------------------------------------------------


INFLUXD_CONFIG = """\
reporting-disabled = true
reporting-enabled = false
bind-address = "127.0.0.1:{rpc}"

[meta]
  dir = "{root}/meta"
  logging-enabled = false

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  wal-fsync-delay = "0s"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  bind-address = "127.0.0.1:{http}"
  log-enabled = false
  suppress-write-log = true
  pprof-enabled = false

[logging]
  level = "error"
  suppress-logo = true

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false
"""


def _influxd_binary() -> str | None:
    found = shutil.which("influxd")
    if found is None and Path("/usr/bin/influxd").exists():
        found = "/usr/bin/influxd"
    return found


@dataclass
class Influxd:
    url: str
    process: subprocess.Popen[bytes]
    version: str

    def query(self, db: str, q: str) -> list[dict[str, Any]]:
        params = urllib.parse.urlencode({"db": db, "q": q, "epoch": "ns"})
        with urllib.request.urlopen(f"{self.url}/query?{params}", timeout=10) as response:
            doc = json.loads(response.read())
        result = doc["results"][0]
        assert "error" not in result, result
        series: list[dict[str, Any]] = result.get("series", [])
        return series

    def counts(self, db: str) -> dict[str, int]:
        series = self.query(db, "SELECT count(value) FROM /.*/")
        return {s["name"]: s["values"][0][1] for s in series}

    def write(self, db: str, lines: str) -> None:
        request = urllib.request.Request(
            f"{self.url}/write?db={db}&precision=ns", data=lines.encode(), method="POST"
        )
        urllib.request.urlopen(request, timeout=10).read()

    def create(self, db: str) -> None:
        data = urllib.parse.urlencode({"q": f'CREATE DATABASE "{db}"'}).encode()
        urllib.request.urlopen(f"{self.url}/query", data=data, timeout=10).read()


def _start_influxd(binary: str, root: Path) -> Influxd:
    for attempt in range(3):
        http, rpc = _free_port(), _free_port()
        home = root / f"influxd-{attempt}"
        home.mkdir()
        config = home / "influxdb.conf"
        config.write_text(INFLUXD_CONFIG.format(root=home, http=http, rpc=rpc))
        log = (home / "influxd.log").open("wb")
        process = subprocess.Popen(
            [binary, "run", "-config", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{http}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(url + "/ping", timeout=1) as response:
                    if response.status == 204:
                        version = response.headers.get("X-Influxdb-Version", "?")
                        return Influxd(url, process, version)
            except OSError:
                time.sleep(0.1)
        process.kill()
        process.wait(timeout=10)
    raise RuntimeError(f"influxd did not start; see {root}/influxd-*/influxd.log")


@pytest.fixture(scope="module")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influxd]:
    binary = _influxd_binary()
    if binary is None:
        message = "influxd is not installed (Debian: apt-get install influxdb)"
        if os.environ.get("DMSLOAD_REQUIRE_EXTERNAL_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    server = _start_influxd(binary, tmp_path_factory.mktemp("influxd"))
    yield server
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


def test_a_run_lands_in_a_real_influxdb_v1(influxd: Influxd, echo: Any) -> None:
    env = {
        "DMSLOAD_INFLUXDB_PUSH_INTERVAL": "200ms",
        "DMSLOAD_INFLUXDB_TAGS_AS_FIELDS": "name,status:int",
    }
    output = InfluxDbOutput.from_argument(f"{influxd.url}/run_v1", env)
    result = _run(output, echo.url)
    assert result.exit_code == ExitCode.OK
    expected = _samples(result)
    (report,) = result.outputs
    assert report.warnings == () and report.lost == report.undelivered == 0
    assert report.written == sum(expected.values())
    # the database was created by the output, and holds every sample of every metric
    assert influxd.counts("run_v1") == expected
    http_reqs = result.registry.view("http_reqs")
    assert http_reqs is not None and expected["http_reqs"] == http_reqs.counter_total() >= 95
    duration = result.registry.view("http_req_duration")
    assert duration is not None and expected["http_req_duration"] == duration.count
    (total,) = influxd.query("run_v1", "SELECT sum(value) FROM http_req_duration")
    # the stream keeps each value to the nanosecond, as k6 does; the histogram keeps whole
    # microseconds: the sums agree to within a microsecond a sample
    assert abs(total["values"][0][1] - duration.trend().sum / 1000) <= duration.count * 0.001
    # tags as tags, the tags named in TAGS_AS_FIELDS as (typed) fields
    (keys,) = influxd.query("run_v1", "SHOW TAG KEYS FROM http_reqs")
    # k6's system tags (`proto`, `url`; `group` is empty here, and an empty tag is not sent)
    tag_keys = {"expected_response", "method", "proto", "scenario", "url"}
    assert {row[0] for row in keys["values"]} == tag_keys
    (fields,) = influxd.query("run_v1", "SHOW FIELD KEYS FROM http_reqs")
    assert dict(map(tuple, fields["values"])) == {
        "name": "string",
        "status": "integer",
        "value": "float",
    }
    (row,) = influxd.query("run_v1", "SELECT * FROM http_reqs LIMIT 1")
    first = dict(zip(row["columns"], row["values"][0], strict=True))
    assert first["status"] == 200 and first["name"] == echo.url + "/x"
    assert first["scenario"] == "load" and first["method"] == "GET"
    # wall-clock ns timestamps, within the run
    (first_row,) = influxd.query("run_v1", "SELECT first(value) FROM http_reqs")
    (last_row,) = influxd.query("run_v1", "SELECT last(value) FROM http_reqs")
    t_first, t_last = first_row["values"][0][0], last_row["values"][0][0]
    assert result.started_at * 1e9 - 1e9 < t_first <= t_last < result.ended_at * 1e9 + 1e9


def test_escaped_tags_and_fields_round_trip_through_influxdb(influxd: Influxd) -> None:
    tags = {
        "comma": "a,b",
        "space": "a b",
        "equals": "a=b",
        "quote": 'say "x"',
        "backslash": "C:\\dir\\file",
        "trailing": "ends\\",
        "unicode": "élève ✓",
        "with space": "k",
        "eq=key": "k",
        "time": "reserved",
    }
    env = {"DMSLOAD_INFLUXDB_TAGS_AS_FIELDS": "url,n:float"}
    output = InfluxDbOutput.from_argument(f"{influxd.url}/escapes", env)
    metric = _metric("escaped_metric", MetricKind.TREND)
    url = 'http://h/p?q="1"&r=\\x, y'
    all_tags = make_tags({**tags, "url": url, "n": "2.5"})
    _drive(output, [(1_700_000_000_000_000_000, metric, all_tags, 12.5)])
    assert (output.written, output.undelivered, output.warnings) == (1, 0, [])
    (row,) = influxd.query("escapes", "SELECT * FROM escaped_metric")
    stored = dict(zip(row["columns"], row["values"][0], strict=True))
    assert stored.pop("time") == 1_700_000_000_000_000_000
    want = {**tags, "trailing": "ends", "url": url, "n": 2.5, "value": 12.5}
    want["time_tag"] = want.pop("time")
    assert stored == want


def test_a_partial_write_counts_only_the_refused_lines(influxd: Influxd) -> None:
    influxd.create("partial")
    influxd.write("partial", 'conflicting,k=a status="text",value=1 1\n')
    output = InfluxDbOutput.from_argument(
        f"{influxd.url}/partial", {"DMSLOAD_INFLUXDB_TAGS_AS_FIELDS": "status:int"}
    )
    bad, good = _metric("conflicting"), _metric("fine")
    tags = make_tags({"k": "a", "status": "200"})
    batch: list[Sample] = [(10 + i, bad, tags, 1.0) for i in range(3)]
    batch += [(20 + i, good, tags, 1.0) for i in range(5)]
    _drive(output, batch)
    assert (output.written, output.undelivered) == (5, 3)
    assert "refused some lines" in output.warnings[0] and "conflict" in output.warnings[0]
    assert influxd.counts("partial") == {"conflicting": 1, "fine": 5}


# -- 3: a v2 receiver that checks every line --------------------------------------------------


@dataclass
class Receiver:
    """A small InfluxDB stand-in on loopback: `/api/v2/write`, `/write` and `/query`."""

    url: str = ""
    token: str = TOKEN
    basic: str | None = None
    status: int = 204
    body: bytes = b""
    delay_s: float = 0.0
    points: list[Point] = field(default_factory=list)
    requests: list[tuple[str, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, path: str, query: dict[str, list[str]], headers: Any) -> str | None:
        if path == "/api/v2/write":
            if headers.get("Authorization") != f"Token {self.token}":
                return "token"
            if query != {"org": ["o"], "bucket": ["b"], "precision": ["ns"]}:
                return f"params {query}"
        elif path in ("/write", "/query"):
            if self.basic is not None and headers.get("Authorization") != self.basic:
                return "basic"
            if path == "/write" and query != {"db": ["db"], "precision": ["ns"]}:
                return f"params {query}"
        else:
            return f"path {path}"
        return None


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            payload = self.rfile.read(length)
            parts = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(parts.query)
            with receiver.lock:
                receiver.in_flight += 1
                receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
            try:
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                problem = receiver.check(parts.path, query, self.headers)
                if problem == "token":
                    body = b'{"code":"unauthorized","message":"unauthorized access"}'
                    return self._answer(401, body)
                if problem is not None:
                    receiver.problems.append(problem)
                    return self._answer(400, json.dumps({"error": problem}).encode())
                if parts.path == "/query":
                    return self._answer(200, b'{"results":[{"statement_id":0}]}')
                if receiver.status >= 300:
                    return self._answer(receiver.status, receiver.body)
                text = payload.decode("utf-8")
                if not text.endswith("\n"):
                    receiver.problems.append("payload does not end with a newline")
                lines = text.split("\n")[:-1]
                receiver.requests.append((parts.path, len(lines)))
                for line in lines:
                    try:
                        receiver.points.append(parse_line(line))
                    except ValueError as exc:
                        receiver.problems.append(str(exc))
                self._answer(204)
            finally:
                with receiver.lock:
                    receiver.in_flight -= 1

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


V2_ENV = {
    "DMSLOAD_INFLUXDB_BUCKET": "b",
    "DMSLOAD_INFLUXDB_ORGANIZATION": "o",
    "DMSLOAD_INFLUXDB_TOKEN": TOKEN,
    "DMSLOAD_INFLUXDB_PUSH_INTERVAL": "200ms",
}


def test_v2_writes_every_sample_as_a_valid_line(
    receiver: Receiver, echo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(influxdb, "MAX_LINES_PER_REQUEST", 100)
    receiver.delay_s = 0.005
    output = InfluxDbOutput.from_argument(receiver.url, V2_ENV)
    result = _run(output, echo.url, tags={"url": "http://example/a b", "team": "x,y"})
    assert result.exit_code == ExitCode.OK
    assert receiver.problems == []
    expected = _samples(result)
    (report,) = result.outputs
    assert report.written == sum(expected.values()) == len(receiver.points)
    assert (report.lost, report.undelivered, report.warnings) == (0, 0, ())
    assert Counter(p.measurement for p in receiver.points) == expected
    # split into requests of at most 100 lines, one at a time, pushed as the run went
    assert max(n for _, n in receiver.requests) <= 100
    assert len(receiver.requests) >= len(receiver.points) / 100
    assert receiver.max_in_flight == 1
    low, high = result.started_at * 1e9 - 1e9, result.ended_at * 1e9 + 1e9
    for point in receiver.points:
        assert isinstance(point.fields["value"], float)
        assert low < point.time_ns < high
        assert "url" not in point.tags
        if point.measurement.startswith("http_req"):  # the profile's tags: a tag and a field
            assert point.tags["team"] == "x,y" and point.fields["url"] == "http://example/a b"
    statuses = {p.tags.get("status") for p in receiver.points if p.measurement == "http_reqs"}
    assert statuses == {"200"}


def test_v1_basic_auth_and_the_database_in_the_path(receiver: Receiver) -> None:
    receiver.basic = "Basic " + base64.b64encode(b"user:p@ss").decode()
    output = InfluxDbOutput.from_argument(f"http://user:p%40ss@{receiver.url[7:]}/db", {})
    assert "p@ss" not in output.label and "p%40ss" not in output.label
    metric = _metric()
    _drive(output, [(i, metric, make_tags({"vu": "3", "iter": str(i)}), 1.0) for i in range(7)])
    assert receiver.problems == [] and output.written == 7 and output.warnings == []
    assert receiver.points[0].fields == {"vu": 3, "iter": 0, "value": 1.0}
    assert receiver.requests == [("/write", 7)]


# -- 4: the database down, failing, refusing, hanging ----------------------------------------


def _expect_undelivered(result: RunResult, echo_requests: int) -> str:
    assert result.exit_code == ExitCode.OK
    http_reqs = result.registry.view("http_reqs")
    assert http_reqs is not None and http_reqs.counter_total() == echo_requests >= 95
    (report,) = result.outputs
    assert report.written == report.lost == 0
    assert report.undelivered == sum(_samples(result).values())
    text = "\n".join(report.lines())
    assert "could not be delivered" in text and TOKEN not in text
    return text


@pytest.mark.serial
def test_a_database_that_is_down_costs_the_run_nothing(echo: Any) -> None:
    echo.reset()
    output = InfluxDbOutput.from_argument(f"http://127.0.0.1:{_free_port()}/db", {})
    started = time.monotonic()
    result = _run(output, echo.url)
    assert time.monotonic() - started < 5
    text = _expect_undelivered(result, echo.stats()["requests"])
    assert "did not accept writes: connection refused" in text


def test_a_server_error_is_counted_and_reported(receiver: Receiver, echo: Any) -> None:
    echo.reset()
    receiver.status, receiver.body = 500, b'{"error":"engine on fire"}'
    output = InfluxDbOutput.from_argument(
        f"{receiver.url}/db", {"DMSLOAD_INFLUXDB_PUSH_INTERVAL": "300ms"}
    )
    text = _expect_undelivered(_run(output, echo.url), echo.stats()["requests"])
    assert f"InfluxDB at {receiver.url} answered 500: engine on fire" in text


def test_a_wrong_token_is_counted_and_reported(receiver: Receiver, echo: Any) -> None:
    echo.reset()
    output = InfluxDbOutput.from_argument(receiver.url, V2_ENV)
    receiver.token = "another"
    text = _expect_undelivered(_run(output, echo.url), echo.stats()["requests"])
    assert "answered 401: unauthorized access" in text
    assert receiver.points == []


@pytest.mark.serial
def test_a_hanging_database_does_not_slow_the_run(
    receiver: Receiver, echo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    echo.reset()
    monkeypatch.setattr(influxdb, "REQUEST_TIMEOUT_S", 0.3)
    receiver.delay_s = 3.0
    output = InfluxDbOutput.from_argument(receiver.url, V2_ENV)
    started = time.monotonic()
    result = _run(output, echo.url)
    assert time.monotonic() - started < 4
    text = _expect_undelivered(result, echo.stats()["requests"])
    assert "did not accept writes: no answer within 0.3 s" in text
