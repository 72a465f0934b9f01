"""`run --timeout S` (as `setup --timeout`): every request of the run times out after S."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

PROFILE = """
name = "timeout"
request_timeout = "60s"
[scenarios.s]
executor = "shared-iterations"
vus = 2
iterations = 6
workload = "http"
options = { url = "${TARGET}/slow" }
"""


def _run(run_cli: Any, tmp_path: Path, url: str, *args: str) -> tuple[Any, dict[str, Any]]:
    path = tmp_path / "p.toml"
    path.write_text(PROFILE)
    export = tmp_path / "k6.json"
    done = run_cli(
        "run", str(path), "-q", "-e", f"TARGET={url}", "--summary-export", str(export), *args
    )
    metrics = json.loads(export.read_text())["metrics"] if export.exists() else {}
    return done, metrics


@pytest.mark.serial
def test_timeout_overrides_the_profiles_request_timeout(
    run_cli: Any, slow_echo: Any, tmp_path: Path
) -> None:
    samples = tmp_path / "samples.ndjson"
    done, metrics = _run(
        run_cli, tmp_path, slow_echo.url, "--timeout", "0.005", "--out", f"json={samples}"
    )
    assert done.code == 0, done.stderr
    assert metrics["http_reqs"]["count"] == 6
    assert metrics["http_req_failed"]["value"] == 1.0  # 20 ms answers, 5 ms timeout
    points = [json.loads(line) for line in samples.read_text().splitlines()]
    errors = [
        p["data"]["tags"].get("error")
        for p in points
        if p["type"] == "Point" and p["metric"] == "http_reqs"
    ]
    assert errors == ["request timeout"] * 6
    done, metrics = _run(run_cli, tmp_path, slow_echo.url)
    assert done.code == 0, done.stderr
    assert metrics["http_req_failed"]["value"] == 0.0  # the profile's 60 s


def test_a_bad_timeout_is_bad_usage(run_cli: Any, tmp_path: Path) -> None:
    for value in ("0", "-1", "abc"):
        done, _ = _run(run_cli, tmp_path, "http://127.0.0.1:9", "--timeout", value)
        assert done.code == 2, (value, done.stderr)
        assert "--timeout" in done.stderr and "Traceback" not in done.stderr
