"""`dmsload setup --no-cms`: a client key and secret only; then the smoke profile passes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dmsload.cli import app
from dmsload.dms.descriptors import ALL_DESCRIPTORS
from dmsload.engine.runner import ExitCode, RunOptions, run_profile
from dmsload.profile import load_profile
from dmsload.sandbox.testing import running_sandbox
from dmsload.settings import load_settings
from dmsload.workloads import builtin_workloads

PROFILES = Path(__file__).resolve().parents[3] / "profiles"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.startswith("DMSLOAD_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.mark.serial  # smoke's thresholds (p95<500, no dropped iteration) must pass
def test_setup_with_only_a_client_key_skips_the_cms_and_smoke_then_passes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with running_sandbox() as sandbox:
        monkeypatch.setenv("DMSLOAD_CLIENT_KEY", sandbox.client_key)
        monkeypatch.setenv("DMSLOAD_CLIENT_SECRET", sandbox.client_secret)
        result = CliRunner().invoke(
            app, ["setup", "--dms-url", sandbox.base_url, "--seed-schools", "3"]
        )
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert lines[0].startswith("no CMS admin client: skipping the Configuration Service")
        steps = [line for line in lines if line.startswith("[")]
        assert [line[:6] for line in steps] == ["[ 1/4]", "[ 2/4]", "[ 3/4]", "[ 4/4]"]
        assert "seed descriptors" in steps[2] and f"{len(ALL_DESCRIPTORS)} created" in steps[2]
        assert "3 created" in steps[3]
        routes = sandbox.state.stats.snapshot()["routes"]
        assert "GET /metadata/dependencies" in routes
        assert not [r for r in routes if "/config" in r or "/connect" in r]  # no CMS call
        assert not (tmp_path / ".dmsload" / "credentials.json").exists()

        settings = load_settings(dms_url=sandbox.base_url)
        profile = load_profile(
            PROFILES / "smoke.toml", builtin_workloads(), env={"DMSLOAD_SEEDED_SCHOOLS": "3"}
        ).scaled(0.15)
        options = RunOptions(quiet=True, handle_signals=False, connection=settings)
        run = run_profile(profile, options)
        assert run.error is None, run.error
        assert run.exit_code == ExitCode.OK


def test_no_cms_with_a_wrong_secret_fails_at_the_token_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with running_sandbox() as sandbox:
        monkeypatch.setenv("DMSLOAD_CLIENT_KEY", sandbox.client_key)
        monkeypatch.setenv("DMSLOAD_CLIENT_SECRET", "wrong")
        result = CliRunner().invoke(app, ["setup", "--dms-url", sandbox.base_url, "--no-cms"])
        assert result.exit_code == 1
        assert "[ 1/4] get a token for the client key" in result.output
        assert "FAIL" in result.output and "401" in result.output
        assert "setup failed at step [1/4]" in result.output
