"""`dmsload merge` on hand-made parts: exactness against one process, refusals, gaps, series."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from dmsload.merge import PartsError, check_parts, merge_parts, read_part
from dmsload.merge.combine import MergedRun, merged_document
from dmsload.merge.timeseries import merge_timeseries, start_offsets
from dmsload.metrics import Registry
from dmsload.metrics.sinks import TrendSink
from dmsload.outputs.summary_json import load_summary, metrics_document

from .parts import SEQUENCE, TREND_STATS, Sample, engine, quarters, record, samples, write_part

RULES = {
    "http_req_duration": ["p(95)<2000", "p(99)<4000", "avg<600", "med<20", "max<5000"],
    "http_req_duration{name:GET /ed-fi/students}": ["p(90)<1500"],
    "http_req_failed": ["rate<0.05"],
    "http_reqs": ["count<900", "rate>50"],
    "checks": ["rate>0.9"],
    "iterations": ["count==1000"],
    "iteration_duration": ["p(99.9)<5100"],
    "queue_depth": ["value==1"],
    "dropped_iterations": ["count<10"],
}


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "split.toml"
    path.write_text('name = "split"\n')
    return path


def _merge(paths: list[Path]) -> MergedRun:
    return merge_parts(check_parts([read_part(load_summary(path)) for path in paths]))


def _quarters(tmp_path: Path, profile: Path, items: list[Sample], **extra: Any) -> list[Path]:
    """The samples striped over four parts (k6 stripes iterations the same way)."""
    return [
        write_part(
            tmp_path / f"part-{index}.json",
            items[index::4],
            rules=RULES,
            profile=profile,
            segment=segment,
            sequence=SEQUENCE,
            index=index,
            **extra,
        )
        for segment, index in quarters()
    ]


def _recorded(sink: TrendSink) -> list[tuple[int, int]]:
    histogram = sink.histogram()
    return [
        (item.value_iterated_to, item.count_at_value_iterated_to)
        for item in histogram.get_recorded_iterator()
    ]


def test_merged_histograms_and_verdicts_equal_one_process_over_the_same_samples(
    tmp_path: Path, profile: Path
) -> None:
    items = samples(1000)
    whole = Registry()
    record(whole, items)
    merged = _merge(_quarters(tmp_path, profile, items))

    recorded = [metric for metric in whole.metrics() if metric.series]
    assert [m.name for m in merged.registry.metrics()] == [m.name for m in recorded]
    for metric in recorded:
        mine = merged.registry.get(metric.name)
        assert mine is not None
        assert set(mine.series) == set(metric.series), metric.name
        for tags, sink in metric.series.items():
            theirs = mine.series[tags]
            assert theirs.samples == sink.samples, (metric.name, tags)
            if isinstance(sink, TrendSink):
                assert isinstance(theirs, TrendSink)
                assert (theirs.sum, theirs.min, theirs.max) == (sink.sum, sink.min, sink.max)
                assert _recorded(theirs) == _recorded(sink), (metric.name, tags)
            else:
                state = [n for n in type(sink).__slots__ if n != "set_at_ns"]
                assert [getattr(theirs, n) for n in state] == [getattr(sink, n) for n in state]

    expected = engine(RULES).evaluate(whole, 10.0)
    got = [(r.selector, r.threshold.source, r.observed, r.ok) for r in merged.thresholds]
    assert got == [(r.selector, r.threshold.source, r.observed, r.ok) for r in expected]
    assert len(got) == 14
    assert {r.ok for r in expected} == {True, False}  # both verdicts are exercised
    assert _document(merged.registry) == _document(whole)


def _document(registry: Registry) -> dict[str, Any]:
    """The summary's `metrics`, each metric's series in tag order (parts meet tags in turn)."""
    document = metrics_document(registry, 10.0, TREND_STATS)
    for entry in document.values():
        entry["series"].sort(key=lambda series: sorted(series["tags"].items()))
    return document


def test_a_threshold_that_fails_only_on_merged_data_fails_the_merge_with_99(
    tmp_path: Path, profile: Path
) -> None:
    paths = _quarters(tmp_path, profile, samples(1000))
    for path in paths:  # every part passes its own `count<900` (250 requests each)
        part = load_summary(path).document
        verdict = [t for t in part["thresholds"] if t["expression"] == "count<900"]
        assert verdict[0]["ok"] is True
    merged = _merge(paths)
    verdict = [r for r in merged.thresholds if r.threshold.source == "count<900"]
    assert verdict[0].ok is False
    assert verdict[0].observed == 1000
    assert int(merged.exit_code) == 99


def test_every_threshold_passing_on_merged_data_exits_0_though_parts_failed(
    tmp_path: Path, profile: Path
) -> None:
    rules = {"iterations": ["count==400"]}
    paths = [
        write_part(
            tmp_path / f"p{index}.json",
            samples(100, seed=index),
            rules=rules,
            profile=profile,
            segment=segment,
            sequence=SEQUENCE,
            index=index,
        )
        for segment, index in quarters()
    ]
    assert load_summary(paths[0]).document["state"]["exit_code"] == 99
    merged = _merge(paths)
    assert [r.ok for r in merged.thresholds] == [True]
    assert int(merged.exit_code) == 0
    assert merged.error is None


def test_a_missing_part_merges_the_rest_and_exits_1_naming_it(
    tmp_path: Path, profile: Path
) -> None:
    paths = _quarters(tmp_path, profile, samples(400))
    merged = _merge([paths[0], paths[1], paths[3]])
    assert int(merged.exit_code) == 1
    assert merged.error == "part 2 (segment 1/2:3/4) is missing"
    assert merged.registry.view("iterations") is not None
    assert merged.registry.view("iterations").counter_total() == 300  # type: ignore[union-attr]
    document = merged_document(merged, argv=["merge"])
    assert document["state"]["exit_code"] == 1
    assert [p["segment"] for p in document["manifest"]["parts"]] == ["0:1/4", "1/4:1/2", "3/4:1"]


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ({"interrupted": True, "exit_code": 105}, "was interrupted (SIGINT/SIGTERM)"),
        ({"error": "ConnectError: refused", "exit_code": 1}, "failed: ConnectError: refused"),
        ({"exit_code": 2}, "exited 2"),
    ],
)
def test_a_part_that_did_not_finish_fails_the_merge_with_1(
    tmp_path: Path, profile: Path, state: dict[str, Any], reason: str
) -> None:
    paths = _quarters(tmp_path, profile, samples(40))
    broken = write_part(
        tmp_path / "part-1.json",
        samples(10),
        rules=RULES,
        profile=profile,
        segment="1/4:2/4",
        sequence=SEQUENCE,
        index=1,
        state=state,
    )
    merged = _merge([paths[0], broken, paths[2], paths[3]])
    assert int(merged.exit_code) == 1
    assert merged.error == f"part {broken} {reason}"


def test_parts_without_a_sequence_are_checked_by_their_segments(
    tmp_path: Path, profile: Path
) -> None:
    halves = [
        write_part(tmp_path / f"h{i}.json", samples(5), rules={}, profile=profile, segment=seg)
        for i, seg in enumerate(["0:50%", "0.5:1"])
    ]
    assert _merge(halves).error is None
    merged = _merge([halves[0]])
    assert merged.error == "part for segment 1/2:1 is missing"


def test_one_whole_run_merges_to_itself(tmp_path: Path, profile: Path) -> None:
    items = samples(50)
    path = write_part(tmp_path / "whole.json", items, rules=RULES, profile=profile, segment=None)
    merged = _merge([path])
    assert merged.error is None
    assert [r.ok for r in merged.thresholds] == [
        t["ok"] for t in load_summary(path).document["thresholds"]
    ]


def _refusal(paths: list[Path]) -> str:
    with pytest.raises(PartsError) as caught:
        _merge(paths)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_parts_of_different_profiles_are_refused_naming_the_part(
    tmp_path: Path, profile: Path
) -> None:
    other = tmp_path / "other.toml"
    other.write_text('name = "split"\n# changed\n')
    paths = _quarters(tmp_path, profile, samples(40))
    stranger = write_part(
        tmp_path / "stranger.json",
        samples(10),
        rules=RULES,
        profile=other,
        segment="1/4:2/4",
        sequence=SEQUENCE,
        index=1,
    )
    message = _refusal([paths[0], stranger, paths[2], paths[3]])
    assert message.startswith(f"{stranger}: manifest.profile: a different profile from")
    assert "(split, sha256 " in message

    document = load_summary(paths[1]).document
    document["manifest"]["profile"]["time_scale"] = 0.5
    scaled = tmp_path / "scaled.json"
    scaled.write_bytes(orjson.dumps(document))
    assert "time_scale 0.5, not split" in _refusal([paths[0], scaled])


def test_overlapping_duplicated_and_foreign_segments_are_refused(
    tmp_path: Path, profile: Path
) -> None:
    paths = _quarters(tmp_path, profile, samples(40))
    again = write_part(
        tmp_path / "again.json",
        samples(10),
        rules=RULES,
        profile=profile,
        segment="1/4:2/4",
        sequence=SEQUENCE,
        index=1,
    )
    assert "duplicated part: segment 1/4:1/2" in _refusal([*paths, again])
    assert "duplicated part (the same file is given twice)" in _refusal([*paths, paths[0]])

    wide, middle = (
        write_part(tmp_path / f"{name}.json", samples(5), rules=RULES, profile=profile, segment=seg)
        for name, seg in (("wide", "0:1/2"), ("middle", "1/4:3/4"))
    )
    assert _refusal([middle, wide]) == f"{middle}: segment 1/4:3/4 overlaps {wide}'s (0:1/2)"

    thirds = write_part(
        tmp_path / "thirds.json",
        samples(10),
        rules=RULES,
        profile=profile,
        segment="0:1/3",
        sequence="0,1/3,2/3,1",
        index=0,
    )
    assert "sequence: not the sequence of" in _refusal([paths[1], thirds])

    stray = write_part(
        tmp_path / "stray.json",
        samples(10),
        rules=RULES,
        profile=profile,
        segment="0:1/3",
        sequence=SEQUENCE,
        index=0,
    )
    assert "0:1/3 is not a segment of the sequence 0,1/4,1/2,3/4,1" in _refusal([stray])

    whole = write_part(
        tmp_path / "whole.json", samples(10), rules=RULES, profile=profile, segment=None
    )
    assert "a whole run (no execution_segment" in _refusal([paths[0], whole])


def test_parts_with_other_thresholds_or_malformed_segments_are_refused(
    tmp_path: Path, profile: Path
) -> None:
    paths = _quarters(tmp_path, profile, samples(40))
    loose = write_part(
        tmp_path / "loose.json",
        samples(10),
        rules={},
        profile=profile,
        segment="1/4:2/4",
        sequence=SEQUENCE,
        index=1,
    )
    assert _refusal([paths[0], loose]) == f"{loose}: thresholds: not the same as {paths[0]}'s"

    bad = write_part(
        tmp_path / "bad.json", samples(5), rules={}, profile=profile, segment="3/4:1/4"
    )
    assert _refusal([bad]) == (
        f"{bad}: manifest.execution_segment.segment: segment start(0.75) must be less than its "
        "end(0.25) (got '3/4:1/4')"
    )
    odd = write_part(
        tmp_path / "odd.json",
        samples(5),
        rules=RULES,
        profile=profile,
        segment="1/4:2/4",
        sequence=SEQUENCE,
        index=3,
    )
    assert "index: 3 is not the position of segment 1/4:1/2 in the sequence (1)" in _refusal([odd])


def _series(seconds: int, **columns: list[Any]) -> dict[str, Any]:
    base: dict[str, Any] = {"interval_s": 1, "t": list(range(seconds))}
    base["length_s"] = [1.0] * seconds
    for name in ("http_reqs", "failed", "status_429", "status_5xx", "iterations"):
        base[name] = [0] * seconds
    base["dropped_iterations"] = [0] * seconds
    for name in ("vus", "vus_max", "p50_ms", "p95_ms", "p99_ms", "max_ms"):
        base[name] = [None] * seconds
    base["cpu_percent"] = [0.0] * seconds
    base.update(columns)
    return base


def test_series_align_on_the_start_sum_counts_and_leave_percentiles_unmerged() -> None:
    a = _series(
        3,
        length_s=[1.0, 1.0, 0.5],
        http_reqs=[10, 20, 4],
        failed=[1, 0, 0],
        vus=[2, 2, 0],
        max_ms=[5.0, 9.0, 1.0],
        p95_ms=[4.0, 8.0, 1.0],
        cpu_percent=[30.0, 40.0, 10.0],
    )
    b = _series(2, http_reqs=[30, 30], failed=[0, 3], vus=[3, None], max_ms=[7.0, None])
    merged = merge_timeseries([a, b], [0, 1])
    assert merged is not None
    assert merged["t"] == [0, 1, 2]
    assert merged["length_s"] == [1.0, 1.0, 1.0]  # b's last second ends at 3 s
    assert merged["http_reqs"] == [10, 50, 34]
    assert merged["rps"] == [10.0, 50.0, 34.0]
    assert merged["error_rate"] == [0.1, 0.0, round(3 / 34, 6)]
    assert merged["vus"] == [2.0, 5.0, 3.0]  # b's vus carries over its null second
    assert merged["max_ms"] == [5.0, 9.0, 1.0]
    assert merged["p95_ms"] == [None, None, None]
    assert merged["not_merged"] == ["p50_ms", "p95_ms", "p99_ms"]
    assert merged["cpu_percent"] == [30.0, 40.0, 10.0]
    assert merge_timeseries([a, None], [0, 0]) is None


def test_merged_document_lists_the_parts_and_round_trips(tmp_path: Path, profile: Path) -> None:
    paths = _quarters(tmp_path, profile, samples(200), timeseries=_series(2, http_reqs=[20, 30]))
    merged = _merge(paths)
    document = merged_document(merged, argv=["merge", "--summary-json", "x"])
    manifest = document["manifest"]
    assert manifest["execution_segment"] is None
    assert [p["index"] for p in manifest["parts"]] == [0, 1, 2, 3]
    assert (
        manifest["profile"]["sha256"]
        == load_summary(paths[0]).document["manifest"]["profile"]["sha256"]
    )
    assert document["timeseries"]["http_reqs"] == [80, 120]
    assert document["state"]["exit_code"] == int(merged.exit_code) == 99
    out = tmp_path / "merged.json"
    from dmsload.jsonfiles import write_json_atomically

    write_json_atomically(out, document)
    again = load_summary(out)
    assert again.registry.view("iterations").counter_total() == 200  # type: ignore[union-attr]


def test_parts_with_one_start_at_share_t0_and_others_align_on_their_start() -> None:
    at = "2026-12-01T20:00:00.000Z"
    manifests = [
        {"started_at": "2026-12-01T19:59:50.100+00:00", "argv": ["run", "--start-at", at]},
        {"started_at": "2026-12-01T19:59:51.900+00:00", "argv": ["run", f"--start-at={at}"]},
    ]
    assert start_offsets(manifests) == [0, 0]
    manifests[1]["argv"] = ["run"]
    assert start_offsets(manifests) == [0, 2]


def test_a_part_aborted_by_a_threshold_makes_the_merge_exit_99_naming_it(
    tmp_path: Path, profile: Path
) -> None:
    rules = {"http_req_duration": ["p(95)<100000"]}
    aborted = {"metric": "http_req_duration", "expression": "p(95)<100000"}
    paths = [
        write_part(
            tmp_path / f"p{index}.json",
            samples(20, seed=index),
            rules=rules,
            profile=profile,
            segment=segment,
            sequence=SEQUENCE,
            index=index,
            state={"aborted_by": aborted, "exit_code": 99} if index == 2 else None,
        )
        for segment, index in quarters()
    ]
    merged = _merge(paths)
    assert [r.ok for r in merged.thresholds] == [True]  # the merged data would pass
    assert merged.aborted_by is not None
    assert merged.aborted_by.threshold.source == "p(95)<100000"
    assert int(merged.exit_code) == 99
    assert merged.error is None
    assert any(f"part {paths[2]} was aborted by threshold" in note for note in merged.notes)
    assert merged_document(merged, argv=["merge"])["state"]["aborted_by"] == aborted


def test_vus_and_vus_max_add_up_over_the_parts(tmp_path: Path, profile: Path) -> None:
    paths = [
        write_part(
            tmp_path / f"p{index}.json",
            samples(4, seed=index),
            rules={"vus": ["value==0"]},
            profile=profile,
            segment=segment,
            sequence=SEQUENCE,
            index=index,
            vus=(1, 2, 2, 0),
        )
        for segment, index in quarters()
    ]
    merged = _merge(paths)
    gauge = merged.registry.view("vus")
    assert gauge is not None
    assert (gauge.gauge().value, gauge.gauge().min, gauge.gauge().max) == (0, 0, 8)
    assert [r.ok for r in merged.thresholds] == [True]
