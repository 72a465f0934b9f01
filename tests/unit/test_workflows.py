"""The GitHub workflows parse, and every dmsload command they run exists with its options."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from dmsload.cli import app

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"


def _steps(path: Path) -> list[dict[str, Any]]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict) and document.get("jobs"), path
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def _dmsload_commands(script: str) -> list[list[str]]:
    joined = re.sub(r"\\\n\s*", " ", script)
    commands = []
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith("dmsload "):
            words = shlex.split(line.split(">>")[0].split("&&")[0])
            commands.append(words[1:])
    return commands


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_workflow_commands_exist_with_their_options(path: Path) -> None:
    runner = CliRunner()
    found = 0
    for step in _steps(path):
        for words in _dmsload_commands(step.get("run", "")):
            found += 1
            command = words[0]
            shown = runner.invoke(app, [command, "--help"], terminal_width=200)
            assert shown.exit_code == 0, (path.name, command, shown.output)
            for option in (w.split("=")[0] for w in words[1:] if w.startswith("--")):
                assert option in shown.output, (path.name, command, option)
    if path.name == "performance-tests.yml":
        assert found >= 4  # setup, suite, report, compare


def test_the_performance_workflow_runs_nightly_and_on_demand() -> None:
    document = yaml.safe_load((WORKFLOWS / "performance-tests.yml").read_text())
    triggers = document[True]  # YAML 1.1 reads the key `on` as a boolean
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    assert set(triggers["workflow_dispatch"]["inputs"]) == {"time_scale", "profiles", "fail_on"}
    names = [step.get("name", "") for step in _steps(WORKFLOWS / "performance-tests.yml")]
    assert any("Upload" in name for name in names) and any("Gate" in name for name in names)
