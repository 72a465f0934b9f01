"""The dmsload summary JSON of a finished run (see outputs/summary_json.py for the shape)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dmsload.engine.runner import RunResult
from dmsload.manifest import build_manifest
from dmsload.metrics import SummaryContext
from dmsload.metrics.sinks import TREND_SCALE
from dmsload.outputs.summary_json import (
    SCHEMA,
    checks_document,
    metrics_document,
    thresholds_document,
)
from dmsload.profile import Profile


def summary_document(
    result: RunResult,
    profile: Profile,
    ctx: SummaryContext,
    argv: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Everything the report and compare need, in the documented `dmsload-summary/1` shape."""
    aborted = result.aborted_by
    return {
        "schema": SCHEMA,
        "manifest": build_manifest(
            profile_path=profile.source,
            profile_name=profile.name,
            description=profile.description,
            time_scale=profile.time_scale,
            started_at=result.started_at,
            ended_at=result.ended_at,
            run_id=result.run_id,
            discovery=result.discovery,
            data_api_url=result.data_api_url,
            argv=argv,
            execution_segment=None if profile.segment is None else profile.segment.to_json(),
        ),
        "state": {
            "elapsed_s": result.elapsed_s,
            "exit_code": int(result.exit_code),
            "interrupted": result.interrupted,
            "aborted_by": None
            if aborted is None
            else {"metric": aborted.selector, "expression": aborted.threshold.source},
            "error": result.error,
            "scenarios": list(result.scenario_names),
        },
        "options": {"summary_trend_stats": list(ctx.trend_stats), "trend_scale": TREND_SCALE},
        "metrics": metrics_document(result.registry, result.elapsed_s, ctx.trend_stats),
        "thresholds": thresholds_document(result.thresholds),
        "checks": checks_document(result.registry),
        "timeseries": result.timeline,
        "outputs": [report.to_json() for report in result.outputs],
        "notes": list(ctx.notes),
    }
