"""Every bad input exits 2 (1 for a target that fails at run time) with ONE line on stderr
naming the file, the key path, the problem and the value, and no traceback.

The cases (cases.py) run in-process through Typer's CliRunner, in a fresh directory with no
DMSLOAD_* variable set; `dmsload sandbox` cases, which would serve forever if a bad value
slipped through, run as subprocesses with a timeout. A few cases also run as subprocesses to
show that the in-process result is what a user sees.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dmsload.cli import app

from .cases import ALL, SCENARIO, SUMMARY, Case


@pytest.fixture(scope="module")
def good_summary(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real summary JSON: a 1-iteration run of the http workload (its request fails
    against a closed port; the summary is still a complete document)."""
    directory = tmp_path_factory.mktemp("summary")
    profile = directory / "p.toml"
    profile.write_text(
        SCENARIO.replace('executor = "constant-vus"', 'executor = "shared-iterations"').replace(
            'duration = "1s"', "iterations = 1"
        )
    )
    result = CliRunner().invoke(
        app, ["run", str(profile), "--quiet", "--summary-json", str(directory / "s.json")]
    )
    assert result.exit_code in (0, 99), result.output
    return (directory / "s.json").read_bytes()


def _clean_env() -> dict[str, str | None]:
    """Unset every DMSLOAD_* variable of the machine running the tests."""
    return {name: None for name in os.environ if name.startswith("DMSLOAD_")}


def _lay_out(directory: Path, case: Case, summary: bytes) -> None:
    (directory / SUMMARY).write_bytes(summary)
    for name, content in case.files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode("latin-1" if name == "p.toml" else "utf-8"))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def _check(case: Case, code: int, stdout: str, stderr: str) -> None:
    lines = stderr.splitlines()
    assert code == case.code, f"exit {code}, expected {case.code}; stderr: {stderr!r}"
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {stderr!r}"
    line = lines[0]
    for needle in case.expect:
        assert needle in line, f"{needle!r} not in {line!r}"
    assert "Traceback" not in stdout + stderr
    for class_name in ("Error:", "Exception", "ValidationError", "pydantic"):
        assert class_name not in line, line


def _subprocess(case: Case, directory: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMSLOAD_")}
    env.update(case.env)
    return subprocess.run(
        [str(Path(sys.executable).parent / "dmsload"), *case.argv],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("case", ALL, ids=[case.id for case in ALL])
def test_bad_input(case: Case, workdir: Path, good_summary: bytes) -> None:
    _lay_out(workdir, case, good_summary)
    if case.argv[0] == "sandbox":
        done = _subprocess(case, workdir)
        _check(case, done.returncode, done.stdout, done.stderr)
        return
    result = CliRunner().invoke(app, list(case.argv), env={**_clean_env(), **case.env})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{case.id}: uncaught {result.exception!r}") from result.exception
    _check(case, result.exit_code, result.stdout, result.stderr)


FAITHFUL = [
    "toml-unclosed-string",
    "time-scale-not-a-number",
    "credentials-file-not-json",
    "report-not-json",
    "unknown-option",
]


@pytest.mark.parametrize("case_id", FAITHFUL)
def test_a_real_process_says_the_same(case_id: str, workdir: Path, good_summary: bytes) -> None:
    """The in-process result is what a user sees: same status, same line."""
    case = next(case for case in ALL if case.id == case_id)
    _lay_out(workdir, case, good_summary)
    done = _subprocess(case, workdir)
    _check(case, done.returncode, done.stdout, done.stderr)
    in_process = CliRunner().invoke(app, list(case.argv), env={**_clean_env(), **case.env})
    assert in_process.stderr == done.stderr


def test_the_table_is_big_enough() -> None:
    assert len(ALL) >= 60
    assert len({case.id for case in ALL}) == len(ALL)
    commands = {case.argv[0] for case in ALL}
    assert {"run", "validate", "setup", "suite", "report", "compare", "sandbox"} <= commands


def test_a_profile_with_a_byte_order_mark_is_read(workdir: Path) -> None:
    """Editors on Windows write a UTF-8 BOM; the profile is still valid."""
    (workdir / "p.toml").write_bytes(b"\xef\xbb\xbf" + SCENARIO.encode())
    result = CliRunner().invoke(app, ["validate", "p.toml"], env=_clean_env())
    assert result.exit_code == 0, result.stderr
    assert "profile is valid" in result.stdout
