"""`dmsload merge` as a user runs it: the printed summary, the exports, the exit statuses, and
`report` and `compare` reading the merged file as they read a one-process run's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from .parts import SEQUENCE, quarters, samples, write_part

RULES = {"http_reqs": ["count<900"], "http_req_duration": ["p(95)<10000"]}


def _dmsload(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dmsload", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


@pytest.fixture
def parts(tmp_path: Path) -> list[Path]:
    profile = tmp_path / "split.toml"
    profile.write_text('name = "split"\n')
    items = samples(1000)
    return [
        write_part(
            tmp_path / f"part-{index}.summary.json",
            items[index::4],
            rules=RULES,
            profile=profile,
            segment=segment,
            sequence=SEQUENCE,
            index=index,
            timeseries=_series(index),
        )
        for segment, index in quarters()
    ]


def _series(index: int) -> dict[str, object]:
    """Three seconds of one part's per-second series."""
    columns: dict[str, object] = {"interval_s": 1, "t": [0, 1, 2], "length_s": [1.0, 1.0, 0.5]}
    for name in ("http_reqs", "iterations"):
        columns[name] = [100, 100, 50]
    for name in ("failed", "status_429", "status_5xx", "dropped_iterations"):
        columns[name] = [0, 0, 0]
    columns["rps"] = [100.0, 100.0, 100.0]
    columns["error_rate"] = [0.0, 0.0, 0.0]
    columns["vus"] = columns["vus_max"] = [2, 2, 0]
    for name in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
        columns[name] = [1.0 + index, 2.0, 3.0]
    columns["cpu_percent"] = [20.0 + index, 30.0, 10.0]
    return columns


def test_merge_prints_the_summary_writes_every_export_and_exits_99_on_merged_data(
    parts: list[Path], tmp_path: Path
) -> None:
    merged = tmp_path / "merged.summary.json"
    result = _dmsload(
        "merge",
        *parts,
        "--summary-json",
        merged,
        "--summary-export",
        tmp_path / "k6.json",
        "--junit",
        tmp_path / "junit.xml",
        "--no-color",
        cwd=tmp_path,
    )
    assert result.returncode == 99, result.stderr
    assert "http_reqs" in result.stdout
    assert "count<900" in result.stdout
    assert "merged 4 part(s): 0:1/4, 1/4:1/2, 1/2:3/4, 3/4:1" in result.stdout
    document = orjson.loads(merged.read_bytes())
    assert document["schema"] == "dmsload-summary/1"
    assert [t["ok"] for t in document["thresholds"]] == [False, True]
    assert document["metrics"]["http_reqs"]["values"]["count"] == 1000
    assert len(document["manifest"]["parts"]) == 4
    series = document["timeseries"]
    assert series["http_reqs"] == [400, 400, 200]
    assert series["vus"] == [8, 8, 0]
    assert series["p95_ms"] == [None, None, None]
    assert series["max_ms"] == [4.0, 2.0, 3.0]
    k6 = orjson.loads((tmp_path / "k6.json").read_bytes())
    assert k6["metrics"]["http_reqs"]["thresholds"] == {"count<900": True}  # k6: true = failed
    junit = (tmp_path / "junit.xml").read_text()
    assert 'failures="1"' in junit

    report = _dmsload("report", merged, "--output", tmp_path / "report.html", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "report.html").read_text()
    assert "Latency (http_req_duration)" in html and "Throughput" in html
    compare = _dmsload("compare", merged, merged, "--fail-on", "p(95)>+1%", cwd=tmp_path)
    assert compare.returncode == 0, compare.stderr


def test_a_missing_part_exits_1_after_writing_what_it_has(
    parts: list[Path], tmp_path: Path
) -> None:
    merged = tmp_path / "merged.summary.json"
    result = _dmsload("merge", parts[0], parts[1], parts[3], "--summary-json", merged, cwd=tmp_path)
    assert result.returncode == 1
    assert "dmsload: part 2 (segment 1/2:3/4) is missing" in result.stderr.splitlines()
    assert orjson.loads(merged.read_bytes())["state"]["exit_code"] == 1


def test_parts_of_another_run_exit_2_with_one_line_naming_the_part(
    parts: list[Path], tmp_path: Path
) -> None:
    result = _dmsload("merge", *parts, parts[2], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"dmsload: {parts[2]}: duplicated part (the same file is given twice)"
    ]
    assert result.stdout == ""
    not_json = tmp_path / "nope.json"
    not_json.write_text("{")
    result = _dmsload("merge", parts[0], not_json, cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"dmsload: {not_json}: not JSON")


def test_merge_writes_k6_handle_summary_data_and_the_legacy_text(
    parts: list[Path], tmp_path: Path
) -> None:
    result = _dmsload(
        "merge",
        *parts,
        "--k6-summary",
        tmp_path / "handle-summary.json",
        "--summary-mode",
        "legacy",
        cwd=tmp_path,
    )
    assert result.returncode == 99, result.stderr
    k6 = orjson.loads((tmp_path / "handle-summary.json").read_bytes())
    assert set(k6) >= {"root_group", "options", "state", "metrics"}
    reqs = k6["metrics"]["http_reqs"]
    assert reqs["type"] == "counter" and reqs["values"]["count"] == 1000
    assert reqs["thresholds"] == {"count<900": {"ok": False}}  # handleSummary(): ok = passed
    assert k6["metrics"]["http_req_duration"]["thresholds"] == {"p(95)<10000": {"ok": True}}
    lines = result.stdout.splitlines()
    assert any(line.lstrip().startswith("✗ http_reqs") for line in lines), result.stdout
    assert any(line.lstrip().startswith("✓ http_req_duration") for line in lines), result.stdout
