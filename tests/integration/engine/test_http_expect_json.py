"""The `http` workload's `expect_json` check, against a loopback server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def test_expect_json_checks_that_the_body_parses(run_cli: Any, echo: Any, tmp_path: Path) -> None:
    profile = tmp_path / "json.toml"
    profile.write_text(
        f"""
name = "json"
[scenarios.get]
executor = "shared-iterations"
iterations = 5
workload = "http"
options = {{ url = "{echo.url}/doc", expect_json = true }}
[scenarios.head]
executor = "shared-iterations"
iterations = 3
workload = "http"
options = {{ method = "HEAD", url = "{echo.url}/doc", expect_json = true }}
"""
    )
    out = tmp_path / "summary.json"
    done = run_cli("run", str(profile), "-q", "--summary-json", str(out))
    assert done.code == 0, done.stderr
    checks = json.loads(out.read_text())["checks"]
    assert checks == [{"name": "body is JSON", "passes": 5, "fails": 3}]
