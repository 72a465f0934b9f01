"""`--k6-summary FILE`: the data k6 1.x passes to `handleSummary()`.

Tools written for k6's `handleSummary()` (k6-html-reporter, k6-junit) read this shape, not the
legacy `--summary-export`: each metric carries `type`, `contains` and `values`; a threshold is
`{expression: {ok: bool}}` (true when it passed); `root_group.groups` and `root_group.checks`
are arrays whose `id` is the md5 of the path. Shape from k6's `internal/js/summary.go` and
`summary-wrapper.js`; checked against JSON real k6 wrote (tests/data/k6/handle-summary.json).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dmsload.jsonfiles import write_json_atomically
from dmsload.metrics.checks import check_totals
from dmsload.metrics.export import metric_values
from dmsload.metrics.kinds import MetricKind, TagSet
from dmsload.metrics.numbers import k6_numbers
from dmsload.metrics.registry import Metric, Registry
from dmsload.metrics.summary import EXPECTED_SUBMETRIC, SummaryContext
from dmsload.metrics.thresholds import ThresholdResult, parse_metric_selector


@dataclass(frozen=True)
class K6SummaryOptions:
    """The `options` and `state` k6 reports besides the metrics."""

    no_color: bool = False
    stdout_tty: bool = False
    stderr_tty: bool = False
    summary_time_unit: str = ""


def k6_id(path: str) -> str:
    """k6's id of a group or check: the md5 of its path (`::group::check`)."""
    return hashlib.md5(path.encode(), usedforsecurity=False).hexdigest()


def root_group(registry: Registry) -> dict[str, Any]:
    """The root group: no sub-groups (dmsload workloads have none) and every check."""
    checks = [
        {"name": name, "path": f"::{name}", "id": k6_id(f"::{name}"), "passes": ok, "fails": bad}
        for name, (ok, bad) in check_totals(registry).items()
    ]
    return {"name": "", "path": "", "id": k6_id(""), "groups": [], "checks": checks}


def _empty_values(metric: Metric, trend_stats: Sequence[str]) -> dict[str, Any]:
    """The values k6 reports for a metric (or sub-metric) that saw no sample: zeros."""
    if metric.kind is MetricKind.TREND:
        return {stat: 0 for stat in trend_stats}
    if metric.kind is MetricKind.COUNTER:
        return {"count": 0, "rate": 0}
    if metric.kind is MetricKind.RATE:
        return {"rate": 0, "passes": 0, "fails": 0}
    return {"value": 0, "min": 0, "max": 0}


def _k6_values(values: dict[str, Any], kind: MetricKind) -> dict[str, Any]:
    """The legacy export's values under k6 1.x's names (a Rate's `value` is `rate`)."""
    if kind is MetricKind.RATE:
        return {"rate": values["value"], "passes": values["passes"], "fails": values["fails"]}
    return values


def _selector(name: str, tags: TagSet) -> str:
    if not tags:
        return name
    return name + "{" + ",".join(f"{key}:{value}" for key, value in tags) + "}"


def k6_summary_metrics(
    registry: Registry, results: Sequence[ThresholdResult], ctx: SummaryContext
) -> dict[str, dict[str, Any]]:
    """Every metric that saw samples, `http_req_duration{expected_response:true}`, and every
    thresholded (sub-)metric (zeros when it saw none), in k6's shape."""
    wanted: list[tuple[str, TagSet]] = [
        (metric.name, ()) for metric in registry.metrics() if metric.series
    ]
    wanted.append(("http_req_duration", EXPECTED_SUBMETRIC))
    thresholded = {parse_metric_selector(result.selector) for result in results}
    wanted += sorted(thresholded - set(wanted))
    metrics: dict[str, dict[str, Any]] = {}
    for name, tags in wanted:
        metric = registry.get(name)
        if metric is None:
            continue
        view = registry.view(name, tags)
        if view is None or view.count == 0:
            if (name, tags) not in thresholded:
                continue
            values = _empty_values(metric, ctx.trend_stats)
        else:
            values = _k6_values(metric_values(view, ctx.elapsed_s, ctx.trend_stats), metric.kind)
        metrics[_selector(name, tags)] = {
            "type": metric.kind.value,
            "contains": metric.contains.value,
            "values": values,
        }
    for result in results:
        name, tags = parse_metric_selector(result.selector)
        entry = metrics.get(_selector(name, tags))
        if entry is None:  # a metric no workload defined: k6 would refuse the threshold
            continue
        # no data is not a failure, as k6 (and dmsload's exit status) treat it
        entry.setdefault("thresholds", {})[result.threshold.source] = {"ok": result.ok is not False}
    return metrics


def k6_summary(
    registry: Registry,
    results: Sequence[ThresholdResult],
    ctx: SummaryContext,
    options: K6SummaryOptions | None = None,
) -> dict[str, Any]:
    """The whole `handleSummary()` document, whole numbers as integers."""
    options = options or K6SummaryOptions()
    document = {
        "root_group": root_group(registry),
        "options": {
            "summaryTrendStats": list(ctx.trend_stats),
            "summaryTimeUnit": options.summary_time_unit,
            "noColor": options.no_color,
        },
        "state": {
            "isStdOutTTY": options.stdout_tty,
            "isStdErrTTY": options.stderr_tty,
            "testRunDurationMs": ctx.elapsed_s * 1000.0,
        },
        "metrics": k6_summary_metrics(registry, results, ctx),
    }
    return dict(k6_numbers(document))


def write_k6_summary(
    path: Path,
    registry: Registry,
    results: Sequence[ThresholdResult],
    ctx: SummaryContext,
    options: K6SummaryOptions | None = None,
) -> None:
    """Write `--k6-summary` atomically."""
    write_json_atomically(path, k6_summary(registry, results, ctx, options))
