"""`--summary-export`: k6's legacy JSON summary (`summary-wrapper.js: oldJSONSummary`).

Each metric is flattened to its values; a Rate's `rate` is named `value`; trend values are in
milliseconds; `thresholds` maps each expression to True when it FAILED (k6's polarity).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dmsload.jsonfiles import write_json_atomically
from dmsload.metrics.checks import check_totals
from dmsload.metrics.kinds import MetricKind, TagSet
from dmsload.metrics.numbers import k6_numbers
from dmsload.metrics.registry import MetricView, Registry
from dmsload.metrics.summary import EXPECTED_SUBMETRIC, SummaryContext
from dmsload.metrics.thresholds import ThresholdResult, parse_metric_selector


def _group_id(path: str) -> str:
    return hashlib.md5(path.encode(), usedforsecurity=False).hexdigest()


def metric_values(view: MetricView, elapsed_s: float, trend_stats: Sequence[str]) -> dict[str, Any]:
    """A metric's flattened values in k6's legacy export shape."""
    kind = view.kind
    if kind is MetricKind.TREND:
        return {stat: view.value(stat, elapsed_s) for stat in trend_stats}
    if kind is MetricKind.COUNTER:
        total = view.counter_total()
        return {"count": total, "rate": total / elapsed_s if elapsed_s > 0 else 0.0}
    if kind is MetricKind.RATE:
        trues, samples = view.rate_parts()
        return {
            "passes": trues,
            "fails": samples - trues,
            "value": trues / samples if samples else 0.0,
        }
    gauge = view.gauge()
    return {"value": gauge.value, "min": gauge.min, "max": gauge.max}


def _root_group(registry: Registry) -> dict[str, Any]:
    checks = {
        name: {
            "name": name,
            "path": f"::{name}",
            "id": _group_id(f"::{name}"),
            "passes": passes,
            "fails": fails,
        }
        for name, (passes, fails) in check_totals(registry).items()
    }
    return {"name": "", "path": "", "id": _group_id(""), "groups": {}, "checks": checks}


def _selector(name: str, tags: TagSet) -> str:
    if not tags:
        return name
    return name + "{" + ",".join(f"{key}:{value}" for key, value in tags) + "}"


def k6_legacy_summary(
    registry: Registry, results: Sequence[ThresholdResult], ctx: SummaryContext
) -> dict[str, Any]:
    """The whole export document, whole numbers as integers."""
    wanted: list[tuple[str, TagSet]] = [
        (metric.name, ()) for metric in registry.metrics() if metric.series
    ]
    wanted.append(("http_req_duration", EXPECTED_SUBMETRIC))
    for result in results:
        parsed = parse_metric_selector(result.selector)
        if parsed not in wanted:
            wanted.append(parsed)
    metrics: dict[str, dict[str, Any]] = {}
    for name, tags in wanted:
        view = registry.view(name, tags)
        if view is None or view.count == 0:
            continue
        metrics[_selector(name, tags)] = metric_values(view, ctx.elapsed_s, ctx.trend_stats)
    for result in results:
        name, tags = parse_metric_selector(result.selector)
        key = _selector(name, tags)
        entry = metrics.setdefault(key, {})
        entry.setdefault("thresholds", {})[result.threshold.source] = result.ok is False
    document: dict[str, Any] = {"root_group": _root_group(registry), "metrics": metrics}
    if ctx.interrupted:  # k6's export has no such field; tools that read it ignore it
        document["state"] = {"interrupted": True}
    return dict(k6_numbers(document))


def write_k6_summary_export(
    path: Path, registry: Registry, results: Sequence[ThresholdResult], ctx: SummaryContext
) -> None:
    """Write `--summary-export`."""
    write_json_atomically(path, k6_legacy_summary(registry, results, ctx))
