"""Pure parts of the outputs: argv redaction, RFC 3339 stamps, the per-second timeline."""

from __future__ import annotations

from dmsload.manifest import redact_argv, redact_url
from dmsload.metrics import MetricKind, Registry, make_tags
from dmsload.outputs.tap import Sample
from dmsload.outputs.timeline import Timeline
from dmsload.outputs.timestamps import Rfc3339

S = 1_000_000_000


def test_argv_keeps_what_ran_and_hides_secrets() -> None:
    argv = [
        "run",
        "p.toml",
        "-e",
        "DMSLOAD_CLIENT_SECRET=s3cret",
        "--env=API_TOKEN=t0ken",
        "-e",
        "RATE=50",
        "--out",
        "influxdb=http://admin:hunter2@127.0.0.1:8086/k6",
        "--dms-url",
        "https://user:pw@dms.example/api",
        "--client-secret",
        "abc",
    ]
    assert redact_argv(argv) == [
        "run",
        "p.toml",
        "-e",
        "DMSLOAD_CLIENT_SECRET=***",
        "--env=API_TOKEN=***",
        "-e",
        "RATE=50",
        "--out",
        "influxdb=http://admin:***@127.0.0.1:8086/k6",
        "--dms-url",
        "https://user:***@dms.example/api",
        "--client-secret",
        "***",
    ]
    assert redact_url("http://127.0.0.1:8080/data") == "http://127.0.0.1:8080/data"


def test_rfc3339_stamps_have_nanoseconds_in_utc() -> None:
    stamps = Rfc3339()
    assert stamps.format(1_796_131_287_000_000_042) == "2026-12-01T13:21:27.000000042Z"
    assert stamps.format(1_796_131_288_123_456_789, 3) == "2026-12-01T13:21:28.123Z"
    assert stamps.format(1_796_131_288_999_999_999, 0) == "2026-12-01T13:21:28Z"


def _samples(registry: Registry, start: int) -> list[Sample]:
    reqs = registry.define("http_reqs", MetricKind.COUNTER)
    failed = registry.define("http_req_failed", MetricKind.RATE)
    duration = registry.define("http_req_duration", MetricKind.TREND)
    vus = registry.define("vus", MetricKind.GAUGE)
    ok, limited = make_tags({"status": "200"}), make_tags({"status": "429"})
    out: list[Sample] = [(start - 5, reqs, ok, 1.0)]  # setup, before t = 0: not counted
    for i in range(10):  # second 0: 10 requests, 1..10 ms, one 429
        t = start + i * S // 20
        tags = limited if i == 9 else ok
        out += [
            (t, reqs, tags, 1.0),
            (t, failed, tags, float(i == 9)),
            (t, duration, tags, i + 1.0),
        ]
    out.append((start + S // 2, vus, (), 5.0))
    for i in range(4):  # second 2: 4 requests of 100 ms
        t = start + 2 * S + i
        out += [(t, reqs, ok, 1.0), (t, failed, ok, 0.0), (t, duration, ok, 100.0)]
    return out


def test_timeline_buckets_by_second_with_percentiles_rates_and_gaps() -> None:
    start = 10 * S
    timeline = Timeline()
    timeline.begin(start)
    batch = _samples(Registry(), start)
    timeline.consume(batch[:15])  # batches split anywhere
    timeline.consume(batch[15:])
    timeline.note_cpu(start + S // 10, 1.0)
    timeline.note_cpu(start + S // 5, 1.25)  # 0.25 s of CPU in second 0
    timeline.finish(start + 2 * S + S // 2)
    series = timeline.to_json()
    assert series["t"] == [0, 1, 2]
    assert series["length_s"] == [1.0, 1.0, 0.5]
    assert series["http_reqs"] == [10, 0, 4] and series["rps"] == [10.0, 0.0, 8.0]
    assert series["failed"] == [1, 0, 0] and series["error_rate"] == [0.1, 0.0, 0.0]
    assert series["status_429"] == [1, 0, 0]
    assert series["p50_ms"] == [5.5, None, 100.0]
    assert series["p99_ms"] == [9.91, None, 100.0] and series["max_ms"] == [10.0, None, 100.0]
    assert series["vus"] == [5.0, 5.0, 5.0]  # a gauge holds its value through empty seconds
    assert series["cpu_percent"] == [25.0, 0.0, 0.0]


def test_cpu_is_spread_over_the_seconds_its_interval_covers() -> None:
    """CPU noted every 0.2 s at half a core: a short last second reads 50%, not the whole
    interval's CPU over its few ms (CI saw a 3-second run's last 0.05 s read as 165%)."""
    start = 1_000 * S
    timeline = Timeline()
    timeline.note_cpu(start - S // 10, 10.0)  # before t = 0: only the part after it counts
    timeline.begin(start)
    for step in range(1, 16):  # t = 0.1 s, 0.3 s, ..., 2.9 s
        timeline.note_cpu(start - S // 10 + step * S // 5, 10.0 + step * 0.1)
    timeline.note_cpu(start + 3 * S + S // 20, 11.5 + 0.075)  # the end, 0.15 s after the last
    timeline.finish(start + 3 * S + S // 20)
    series = timeline.to_json()
    assert series["length_s"] == [1.0, 1.0, 1.0, 0.05]
    assert series["cpu_percent"] == [50.0, 50.0, 50.0, 50.0]


def test_redact_argv_covers_clicks_attached_short_forms() -> None:
    """-eKEY=VALUE and -oKIND=URL are the same options as -e KEY=VALUE and -o KIND=URL."""
    from dmsload.manifest import redact_argv

    assert redact_argv(
        ["-eAPI_TOKEN=t0k", "-eREGION=eu", "-oinfluxdb=http://u:pw@h:8086/db", "-q"]
    ) == ["-eAPI_TOKEN=***", "-eREGION=eu", "-oinfluxdb=http://u:***@h:8086/db", "-q"]


def test_the_http_workload_names_a_url_without_its_password() -> None:
    """The default `name` tag of the http workload drops the URL's password, as k6's does."""
    from dmsload.workloads.http import HttpOptions, HttpWorkload

    workload = HttpWorkload(HttpOptions(url="http://user:s3cret@127.0.0.1:9/x"))
    assert workload._name == "http://user:***@127.0.0.1:9/x"
