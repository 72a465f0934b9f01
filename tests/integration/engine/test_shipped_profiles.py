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
