"""Fixtures: a sandbox per test, connection settings for its preseeded client, and a
helper that runs a profile in-process against it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from dmsload.dms.data import RunData
from dmsload.engine.runner import RunOptions, RunResult, run_profile
from dmsload.profile import load_profile
from dmsload.sandbox.testing import SandboxHandle, running_sandbox
from dmsload.settings import ConnectionSettings, load_settings
from dmsload.workloads import builtin_workloads

PROFILES = Path(__file__).resolve().parents[3] / "profiles"

RunToml = Callable[..., RunResult]


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed_descriptors=True) as handle:
        yield handle


@pytest.fixture
def settings(sandbox: SandboxHandle, tmp_path: Path) -> ConnectionSettings:
    return load_settings(
        dms_url=sandbox.base_url,
        cms_url=sandbox.base_url + "/config",
        client_key=sandbox.client_key,
        client_secret=sandbox.client_secret,
        credentials_file=tmp_path / "no-credentials.json",
    )


def run_file(
    path: Path,
    settings: ConnectionSettings,
    *,
    time_scale: float = 1.0,
    env: Mapping[str, str] | None = None,
    run_data: RunData | None = None,
) -> RunResult:
    """Load a profile and run it in this process (no signal handling, no progress)."""
    profile = load_profile(path, builtin_workloads(), env=dict(env or {})).scaled(time_scale)
    options = RunOptions(quiet=True, handle_signals=False, connection=settings, run_data=run_data)
    return run_profile(profile, options)


@pytest.fixture
def run_toml(tmp_path: Path, settings: ConnectionSettings) -> RunToml:
    def run(text: str, **kwargs: object) -> RunResult:
        path = tmp_path / "profile.toml"
        path.write_text(text)
        return run_file(path, settings, **kwargs)  # type: ignore[arg-type]

    return run


def counts_by_tag(result: RunResult, metric: str, tag: str) -> dict[str, float]:
    """A counter's total per value of one tag."""
    view = result.registry.get(metric)
    assert view is not None, f"no metric {metric}"
    totals: dict[str, float] = {}
    for tags, sink in view.series.items():
        value = dict(tags).get(tag)
        if value is not None:
            totals[value] = totals.get(value, 0.0) + sink.total  # type: ignore[attr-defined]
    return totals


def rate_parts(
    result: RunResult, selector: str, tags: Mapping[str, str] | None = None
) -> tuple[int, int]:
    view = result.registry.view(selector, tags)
    assert view is not None, f"no samples for {selector}{tags or ''}"
    return view.rate_parts()
