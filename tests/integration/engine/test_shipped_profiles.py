"""Every profile that ships in profiles/ validates and prints its plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

PROFILES = sorted((Path(__file__).resolve().parents[3] / "profiles").glob("*.toml"))


def test_there_are_profiles() -> None:
    assert PROFILES


@pytest.mark.parametrize("profile", PROFILES, ids=[p.name for p in PROFILES])
def test_validate_prints_the_plan(run_cli: Any, profile: Path) -> None:
    done = run_cli("validate", str(profile))
    assert done.code == 0, done.stderr
    assert "profile is valid" in done.stdout
    assert "scenario " in done.stdout and "thresholds" in done.stdout


def test_validate_takes_every_profile_at_once_with_a_line_each(run_cli: Any) -> None:
    done = run_cli("validate", *(str(p) for p in PROFILES))
    assert done.code == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [f"ok  {p}" for p in PROFILES]
    assert lines[-1] == f"{len(PROFILES)} profiles are valid"
    assert done.stderr == ""


def test_validate_names_each_invalid_file_and_exits_2(run_cli: Any, tmp_path: Path) -> None:
    bad_key = tmp_path / "bad-key.toml"
    bad_key.write_text(PROFILES[0].read_text() + "\n[nonsense]\nx = 1\n")
    not_toml = tmp_path / "not-toml.toml"
    not_toml.write_text("this is not = = toml")
    missing = tmp_path / "missing.toml"
    done = run_cli("validate", str(PROFILES[0]), str(bad_key), str(not_toml), str(missing))
    assert done.code == 2, done.stdout + done.stderr
    assert done.stdout.splitlines() == [done.stdout.splitlines()[0]]
    assert done.stdout.startswith(f"ok  {PROFILES[0]}: ")
    lines = done.stderr.splitlines()
    assert any(line.startswith(f"{bad_key}: nonsense") for line in lines), lines
    assert any(line.startswith(f"{not_toml}: ") for line in lines), lines
    assert any(line.startswith(f"{missing}: ") for line in lines), lines
    assert lines[-1] == (f"dmsload: 3 of 4 profiles invalid: {bad_key}, {not_toml}, {missing}")
    assert "Traceback" not in done.stderr
