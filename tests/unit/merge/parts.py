"""Hand-made parts of a split run: real registries written as real `dmsload-summary/1` files.

`Sample` is one iteration's worth of samples; `write_part` records a list of them into a fresh
registry with the built-in metrics, evaluates the thresholds with the real engine and writes
the document with the real writers, so that `dmsload merge` reads the parts as it reads a
pod's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dmsload.jsonfiles import write_json_atomically
from dmsload.manifest import build_manifest
from dmsload.metrics import Registry, ThresholdEngine, define_builtin_metrics, parse_threshold
from dmsload.metrics.kinds import MetricKind, make_tags
from dmsload.metrics.sinks import TREND_SCALE
from dmsload.outputs.summary_json import (
    SCHEMA,
    checks_document,
    metrics_document,
    thresholds_document,
)

TREND_STATS = ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"]
STARTED_AT = 1_764_600_000.0


@dataclass(frozen=True)
class Sample:
    """One iteration: a request of `name` taking `ms`, its status and whether its check passed."""

    name: str
    ms: float
    status: int
    check_ok: bool


def samples(count: int, seed: int = 11) -> list[Sample]:
    """Known, varied samples: latencies over five decades, a few 5xx, a few failed checks."""
    rng = random.Random(seed)
    names = ["GET /ed-fi/students", "POST /ed-fi/students", "GET /ed-fi/schools"]
    return [
        Sample(
            name=rng.choice(names),
            ms=round(10 ** rng.uniform(-1, 3.7), 3),
            status=503 if rng.random() < 0.03 else 200,
            check_ok=rng.random() > 0.05,
        )
        for _ in range(count)
    ]


def record(registry: Registry, items: list[Sample]) -> None:
    """Record the samples as the engine would: one request and one iteration each."""
    metrics = define_builtin_metrics(registry)
    for item in items:
        ok = item.status < 400
        tags = make_tags(
            {
                "scenario": "load",
                "name": item.name,
                "method": item.name.split()[0],
                "status": str(item.status),
                "expected_response": str(ok).lower(),
            }
        )
        registry.add(metrics.http_req_duration, item.ms, tags)
        registry.add(metrics.http_reqs, 1, tags)
        registry.add(metrics.http_req_failed, 0 if ok else 1, tags)
        registry.add(metrics.checks, 1 if item.check_ok else 0, make_tags({"check": "is 200"}))
        registry.add(metrics.iterations, 1, make_tags({"scenario": "load"}))
        registry.add(metrics.iteration_duration, item.ms + 1, make_tags({"scenario": "load"}))
        registry.add(registry.define("queue_depth", MetricKind.GAUGE), 1, ())
        if not item.check_ok:
            registry.add(metrics.dropped_iterations, 1, make_tags({"scenario": "load"}))


def engine(rules: dict[str, list[str]]) -> ThresholdEngine:
    """The profile's thresholds, parsed as the profile loader does."""
    return ThresholdEngine(
        {
            selector: [parse_threshold(source) for source in items]
            for selector, items in rules.items()
        }
    )


def write_part(
    path: Path,
    items: list[Sample],
    *,
    rules: dict[str, list[str]],
    profile: Path,
    segment: str | None,
    sequence: str | None = None,
    index: int | None = None,
    elapsed_s: float = 10.0,
    start_offset_s: float = 0.0,
    state: dict[str, Any] | None = None,
    timeseries: dict[str, Any] | None = None,
    vus: tuple[float, ...] = (),
) -> Path:
    """Write one part's summary JSON (a whole run when `segment` is None)."""
    registry = Registry()
    record(registry, items)
    for value in vus:
        registry.add(registry.define("vus", MetricKind.GAUGE), value, ())
    results = engine(rules).evaluate(registry, elapsed_s)
    started = STARTED_AT + start_offset_s
    manifest = build_manifest(
        profile_path=str(profile),
        profile_name="split",
        description="a split run",
        time_scale=1.0,
        started_at=started,
        ended_at=started + elapsed_s,
        run_id="r1",
        discovery=None,
        data_api_url=None,
        argv=["run", str(profile)],
    )
    manifest["execution_segment"] = (
        None if segment is None else {"segment": segment, "sequence": sequence, "index": index}
    )
    failed = any(result.failed for result in results)
    document = {
        "schema": SCHEMA,
        "manifest": manifest,
        "state": {
            "elapsed_s": elapsed_s,
            "exit_code": 99 if failed else 0,
            "interrupted": False,
            "aborted_by": None,
            "error": None,
            "scenarios": ["load"],
            **(state or {}),
        },
        "options": {"summary_trend_stats": TREND_STATS, "trend_scale": TREND_SCALE},
        "metrics": metrics_document(registry, elapsed_s, TREND_STATS),
        "thresholds": thresholds_document(results),
        "checks": checks_document(registry),
        "timeseries": timeseries,
        "outputs": [],
        "notes": [],
    }
    write_json_atomically(path, document)
    return path


def quarters() -> list[tuple[str, int]]:
    """The segments of the even sequence of four, with their index."""
    return [(f"{i}/4:{i + 1}/4", i) for i in range(4)]


SEQUENCE = "0,1/4,2/4,3/4,1"
