"""`--insecure` (or DMSLOAD_VERIFY_TLS=false) warns once on stderr for run, suite and setup."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dmsload.cli import app

PROFILE = """
[scenarios.s]
executor = "shared-iterations"
vus = 1
iterations = 1
workload = "http"
options = { url = "http://127.0.0.1:9/x" }
"""
WARNING = "dmsload: warning: --insecure: TLS certificates are not verified"


def _invoke(tmp_path: Path, *argv: str, **env: str) -> tuple[int, str]:
    clean: dict[str, str | None] = {k: None for k in os.environ if k.startswith("DMSLOAD_")}
    (tmp_path / "p.toml").write_text(PROFILE)
    result = CliRunner().invoke(app, list(argv), env={**clean, **env})
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stderr


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (("run", "{p}", "-q", "--insecure"), 0),
        (("suite", "--profiles", "{p}", "--results-dir", "{r}", "-q", "--insecure"), 0),
        (("setup", "--dms-url", "http://127.0.0.1:9", "--cms-url", "http://127.0.0.1:9",
          "--credentials-file", "{c}", "--insecure"), 1),
    ],
    ids=["run", "suite", "setup"],
)  # fmt: skip
def test_insecure_warns_once(tmp_path: Path, argv: tuple[str, ...], code: int) -> None:
    values = {"p": str(tmp_path / "p.toml"), "r": str(tmp_path / "r"), "c": str(tmp_path / "c")}
    real = [arg.format(**values) for arg in argv]
    exit_code, stderr = _invoke(tmp_path, *real)
    assert exit_code == code, stderr
    warnings = [line for line in stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and warnings[0].startswith(WARNING), stderr
    assert "client secret and tokens" in warnings[0]


def test_no_warning_without_insecure(tmp_path: Path) -> None:
    exit_code, stderr = _invoke(tmp_path, "run", str(tmp_path / "p.toml"), "-q")
    assert exit_code == 0 and "warning" not in stderr


def test_verify_tls_false_in_the_environment_warns_naming_it(tmp_path: Path) -> None:
    exit_code, stderr = _invoke(
        tmp_path, "run", str(tmp_path / "p.toml"), "-q", DMSLOAD_VERIFY_TLS="false"
    )
    assert exit_code == 0
    assert "dmsload: warning: DMSLOAD_VERIFY_TLS=false: TLS certificates are not verified" in stderr
