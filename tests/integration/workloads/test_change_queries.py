"""`change-queries` against the sandbox while a writer creates, updates and deletes: every
changed document comes back once per window and none is missed; with tombstones kept, every
delete appears in `/deletes` exactly once; without them the workload says it cannot check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dmsload.engine.runner import RunOptions, RunResult, run_profile
from dmsload.profile import load_profile
from dmsload.sandbox.testing import SandboxHandle, running_sandbox
from dmsload.settings import load_settings
from dmsload.workloads import builtin_workloads

PROFILE = """
name = "change-queries-it"

[scenarios.writer]
executor = "constant-arrival-rate"
rate = 30
duration = "3s"
pre_allocated_vus = 5
max_vus = 20
graceful_stop = "2s"
workload = "mixed-crud"

[scenarios.writer.options]
resource = "studentSchoolAssociations"
weights = { create = 40, update = 30, delete = 30 }

[scenarios.sync_client]
executor = "constant-vus"
vus = 1
duration = "6500ms"
workload = "change-queries"
options = { page_size = 7, think_time = "700ms" }
"""
SYNCED = ("students", "studentSchoolAssociations")


def _run(sandbox: SandboxHandle, tmp_path: Path) -> RunResult:
    path = tmp_path / "change-queries.toml"
    path.write_text(PROFILE)
    settings = load_settings(
        dms_url=sandbox.base_url,
        cms_url=sandbox.base_url + "/config",
        client_key=sandbox.client_key,
        client_secret=sandbox.client_secret,
        credentials_file=tmp_path / "none.json",
    )
    profile = load_profile(path, builtin_workloads(), env={})
    options = RunOptions(quiet=True, handle_signals=False, connection=settings)
    result = run_profile(profile, options)
    assert result.error is None, result.error
    return result


def _total(result: RunResult, metric: str) -> int:
    view = result.registry.view(metric)
    return 0 if view is None else int(view.counter_total())


def _sync_checks(result: RunResult) -> dict[str, tuple[int, int]]:
    """(passes, runs) of each change-queries check."""
    metric = result.registry.get("checks")
    assert metric is not None
    out: dict[str, tuple[int, int]] = {}
    for tags, sink in metric.series.items():
        name = dict(tags).get("check", "")
        if name.startswith("change-queries:"):
            passes, runs = out.get(name, (0, 0))
            out[name] = (passes + sink.trues, runs + sink.samples)  # type: ignore[union-attr]
    return out


@pytest.fixture
def tracking() -> Iterator[SandboxHandle]:
    with running_sandbox(seed_descriptors=True, track_changes=True) as sandbox:
        yield sandbox


def test_every_change_and_every_delete_comes_back_once(
    tracking: SandboxHandle, tmp_path: Path
) -> None:
    result = _run(tracking, tmp_path)
    checks = _sync_checks(result)
    for name in (
        "change-queries: availableChangeVersions is readable",
        "change-queries: no document returned twice in a pass",
        "change-queries: every document changed in the window was returned",
        "change-queries: every tombstone's document is gone",
    ):
        passes, runs = checks.get(name, (0, 0))
        assert runs > 0 and passes == runs, (name, checks)
    passes = result.registry.view("sync_pass_time")
    assert passes is not None and passes.count >= 4  # passes during the writes and after
    stats = tracking.state.stats
    deleted = sum(stats.count(f"DELETE /data/ed-fi/{r}/{{id}}", 204) for r in SYNCED)
    assert deleted > 5  # the writer deleted, and so did the workload's setup probe
    # contiguous windows from version 0: each tombstone is in exactly one of them
    assert _total(result, "sync_deletes") == deleted
    # every document alive at the end was returned by the window holding its last change
    alive = sum(tracking.state.store.count(tracking.state.schema.find(r)) for r in SYNCED)
    assert alive > 0 and _total(result, "sync_documents") >= alive


def test_without_tombstones_it_says_once_that_deletes_cannot_be_checked(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with running_sandbox(seed_descriptors=True) as sandbox:
        result = _run(sandbox, tmp_path)
    err = capfd.readouterr().err
    assert err.count("cannot be checked there") == 1, err
    assert _total(result, "sync_deletes") == 0
    checks = _sync_checks(result)
    assert "change-queries: every tombstone's document is gone" not in checks
    passes, runs = checks["change-queries: every document changed in the window was returned"]
    assert runs > 0 and passes == runs
