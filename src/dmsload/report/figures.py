"""The report's per-request-name figures, computed from a summary's exact series."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dmsload.metrics.registry import MetricView
from dmsload.outputs.summary_json import LoadedSummary
from dmsload.report.recommendations import (
    group_by_tag,
    is_load,
    view_where,
)

# ---- figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestRow:
    """One line of the per-request-name table."""

    name: str
    count: int
    rate: float
    failed: float | None
    avg: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None


def _row_of(
    name: str, duration: MetricView | None, failed: MetricView | None, elapsed: float
) -> RequestRow:
    count = duration.count if duration is not None else 0
    trues, samples = failed.rate_parts() if failed is not None else (0, 0)

    def stat(aggregation: str) -> float | None:
        return duration.value(aggregation, elapsed) if duration is not None else None

    return RequestRow(
        name=name,
        count=count,
        rate=count / elapsed if elapsed > 0 else 0.0,
        failed=trues / samples if samples else None,
        avg=stat("avg"),
        p50=stat("p(50)"),
        p95=stat("p(95)"),
        p99=stat("p(99)"),
        max=stat("max"),
    )


def request_rows(
    summary: LoadedSummary, keep: Callable[[Mapping[str, str]], bool] = is_load
) -> tuple[list[RequestRow], RequestRow | None]:
    """The requests by `name` tag (sorted by name) and the total, over the series `keep` takes."""
    registry, elapsed = summary.registry, summary.elapsed_s
    durations = group_by_tag(registry, "http_req_duration", "name", keep)
    failures = group_by_tag(registry, "http_req_failed", "name", keep)
    rows = [_row_of(name, view, failures.get(name), elapsed) for name, view in durations.items()]
    total_view = view_where(registry, "http_req_duration", keep)
    if total_view is None:
        return rows, None
    total = _row_of(
        "All requests", total_view, view_where(registry, "http_req_failed", keep), elapsed
    )
    return rows, total
