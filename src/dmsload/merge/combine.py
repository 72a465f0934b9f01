"""The merged run: the parts' metrics folded exactly, the thresholds evaluated on the sum.

Histograms, counters, rates and checks add up series by series (`Registry.merge`), so every
figure and every threshold verdict is the one a single process would give over the same
samples. The merged run lasts as long as its longest part (the parts start together).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dmsload.engine.runner import ExitCode
from dmsload.manifest import build_manifest
from dmsload.merge.parts import Coverage, Part, PartsError
from dmsload.merge.timeseries import merge_timeseries, start_offsets
from dmsload.metrics import SummaryContext
from dmsload.metrics.kinds import TagSet
from dmsload.metrics.registry import Registry
from dmsload.metrics.sinks import TREND_SCALE, GaugeSink
from dmsload.metrics.thresholds import (
    Threshold,
    ThresholdEngine,
    ThresholdError,
    ThresholdResult,
    parse_metric_selector,
    parse_threshold,
)
from dmsload.outputs.summary_json import (
    SCHEMA,
    checks_document,
    metrics_document,
    thresholds_document,
)

DEFAULT_TREND_STATS = ("avg", "min", "med", "max", "p(90)", "p(95)")


@dataclass
class MergedRun:
    """The merged registry, verdicts and state: what the summary and the exports need."""

    coverage: Coverage
    registry: Registry
    thresholds: list[ThresholdResult]
    elapsed_s: float
    started_at: float
    ended_at: float
    trend_stats: list[str]
    scenarios: list[str]
    aborted_by: ThresholdResult | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The profile's name."""
        return self.coverage.parts[0].summary.name

    @property
    def error(self) -> str | None:
        """Why the merged run is incomplete (missing or failed parts), or None."""
        problems = self.coverage.problems()
        return "; ".join(problems) if problems else None

    @property
    def exit_code(self) -> ExitCode:
        """1 when a part is missing or failed, 99 when a threshold failed, else 0."""
        if self.error is not None:
            return ExitCode.CANNOT_PROCEED
        if self.aborted_by is not None or any(result.failed for result in self.thresholds):
            return ExitCode.THRESHOLDS_FAILED
        return ExitCode.OK

    def context(self, mode: str) -> SummaryContext:
        """The end-of-test summary's context."""
        return SummaryContext(
            elapsed_s=self.elapsed_s,
            trend_stats=self.trend_stats,
            scenarios=self.scenarios,
            notes=list(self.notes),
            mode=mode,
        )


def threshold_rules(part: Part) -> dict[str, list[Threshold]]:
    """The profile's thresholds as a part recorded them, by selector in profile order."""
    rules: dict[str, list[Threshold]] = {}
    for i, item in enumerate(part.summary.document.get("thresholds") or []):
        try:
            threshold = parse_threshold(
                str(item["expression"]), abort_on_fail=bool(item.get("abort_on_fail"))
            )
            selector = str(item["metric"])
            parse_metric_selector(selector)
        except (KeyError, TypeError, ThresholdError) as exc:
            raise PartsError(f"{part.path}: thresholds[{i}]: {exc}") from None
        rules.setdefault(selector, []).append(threshold)
    return rules


def _timestamp(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


CONCURRENT_GAUGES = ("vus", "vus_max")
"""Gauges that count what every part holds at once: the merge adds the parts' up."""


def sum_concurrent_gauges(registry: Registry, parts: Sequence[Part]) -> None:
    """`vus` and `vus_max` as the parts' sums (value, min and max each added up), as
    `--workers` reports them; the parts run one schedule's shares side by side, so their
    peaks coincide."""
    for name in CONCURRENT_GAUGES:
        metric = registry.get(name)
        if metric is None:
            continue
        summed: dict[TagSet, GaugeSink] = {}
        for part in parts:
            theirs = part.summary.registry.get(name)
            if theirs is None:
                continue
            for tags, sink in theirs.series.items():
                if not isinstance(sink, GaugeSink) or sink.samples == 0:
                    continue
                total = summed.get(tags)
                if total is None:
                    total = summed[tags] = GaugeSink()
                    total.min = total.max = 0.0
                total.value += sink.value
                total.min += sink.min
                total.max += sink.max
                total.samples += sink.samples
        metric.series.update(summed)


def merge_parts(coverage: Coverage) -> MergedRun:
    """Fold the checked parts into one run and evaluate the thresholds on it."""
    parts = coverage.parts
    first = parts[0]
    registry = Registry()
    for part in parts:
        registry.merge(part.summary.registry)
    sum_concurrent_gauges(registry, parts)
    elapsed = max(part.summary.elapsed_s for part in parts)
    engine = ThresholdEngine(threshold_rules(first))
    results = engine.evaluate(registry, elapsed)
    options = first.summary.document.get("options") or {}
    scenarios: list[str] = []
    for part in parts:
        for name in part.state.get("scenarios") or []:
            if name not in scenarios:
                scenarios.append(str(name))
    merged = MergedRun(
        coverage=coverage,
        registry=registry,
        thresholds=results,
        elapsed_s=elapsed,
        started_at=min(_timestamp(p.summary.document["manifest"]["started_at"]) for p in parts),
        ended_at=max(_timestamp(p.summary.document["manifest"]["ended_at"]) for p in parts),
        trend_stats=list(options.get("summary_trend_stats") or DEFAULT_TREND_STATS),
        scenarios=scenarios,
        aborted_by=_aborted_by(parts, results),
    )
    merged.notes = _notes(merged)
    return merged


def _aborted_by(
    parts: Sequence[Part], results: Sequence[ThresholdResult]
) -> ThresholdResult | None:
    """The merged verdict of the threshold that aborted a part (abort_on_fail), if one did."""
    for part in parts:
        aborted = part.state.get("aborted_by")
        if not isinstance(aborted, dict):
            continue
        for result in results:
            if (result.selector, result.threshold.source) == (
                aborted.get("metric"),
                aborted.get("expression"),
            ):
                return result
    return None


def _notes(merged: MergedRun) -> list[str]:
    parts = merged.coverage.parts
    notes = [f"merged {len(parts)} part(s): " + ", ".join(str(p.segment) for p in parts)]
    notes.extend(merged.coverage.problems())
    for part in parts:
        aborted = part.state.get("aborted_by")
        if isinstance(aborted, dict):
            notes.append(
                f"part {part.path} was aborted by threshold {aborted.get('metric')} "
                f"'{aborted.get('expression')}' (abort_on_fail): the other parts ran on"
            )
    return notes


def _part_entry(part: Part) -> dict[str, Any]:
    manifest = part.summary.document.get("manifest") or {}
    return {
        "path": str(part.path),
        "segment": str(part.segment),
        "index": part.index,
        "host": (manifest.get("host") or {}).get("hostname"),
        "run_id": manifest.get("run_id"),
        "started_at": manifest.get("started_at"),
        "ended_at": manifest.get("ended_at"),
        "exit_code": part.state.get("exit_code"),
        "interrupted": bool(part.state.get("interrupted")),
        "error": part.state.get("error"),
    }


def merged_document(merged: MergedRun, argv: Sequence[str] | None = None) -> dict[str, Any]:
    """The merged run as a `dmsload-summary/1` document; its manifest lists the parts."""
    parts = merged.coverage.parts
    first = parts[0].summary.document["manifest"]
    manifest = build_manifest(
        profile_path=str((first.get("profile") or {}).get("path") or ""),
        profile_name=merged.name,
        description=(first.get("profile") or {}).get("description"),
        time_scale=float((first.get("profile") or {}).get("time_scale") or 1.0),
        started_at=merged.started_at,
        ended_at=merged.ended_at,
        run_id=str(first.get("run_id") or ""),
        discovery=None,
        data_api_url=None,
        argv=sys.argv[1:] if argv is None else argv,
    )
    manifest["profile"] = first.get("profile")
    manifest["target"] = first.get("target")
    manifest["execution_segment"] = None
    manifest["parts"] = [_part_entry(part) for part in parts]
    aborted = merged.aborted_by
    offsets = start_offsets([part.summary.document["manifest"] for part in parts])
    outputs = [entry for part in parts for entry in part.summary.document.get("outputs") or []]
    return {
        "schema": SCHEMA,
        "manifest": manifest,
        "state": {
            "elapsed_s": merged.elapsed_s,
            "exit_code": int(merged.exit_code),
            "interrupted": False,
            "aborted_by": None
            if aborted is None
            else {"metric": aborted.selector, "expression": aborted.threshold.source},
            "error": merged.error,
            "scenarios": merged.scenarios,
        },
        "options": {"summary_trend_stats": merged.trend_stats, "trend_scale": TREND_SCALE},
        "metrics": metrics_document(merged.registry, merged.elapsed_s, merged.trend_stats),
        "thresholds": thresholds_document(merged.thresholds),
        "checks": checks_document(merged.registry),
        "timeseries": merge_timeseries([part.summary.timeseries for part in parts], offsets),
        "outputs": outputs,
        "notes": list(merged.notes),
    }
