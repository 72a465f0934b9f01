"""Hand-built summaries for the report's tests: real registries and real documents, made-up runs.

`SummaryBuilder` records samples into a registry with dmsload's built-in metrics, evaluates the
thresholds with the real engine, and assembles the `dmsload-summary/1` document with the real
writers (`metrics_document`, `thresholds_document`, `build_manifest`); `build()` reads it back
the way `load_summary` does, so HDR histograms round-trip exactly as in a real file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from dmsload.manifest import build_manifest
from dmsload.metrics import Registry, ThresholdEngine, define_builtin_metrics, parse_threshold
from dmsload.metrics.kinds import make_tags
from dmsload.outputs.summary_json import (
    SCHEMA,
    LoadedSummary,
    metrics_document,
    registry_from,
    thresholds_document,
)
from dmsload.outputs.timeline import COLUMNS

TREND_STATS = ("avg", "min", "med", "max", "p(90)", "p(95)", "p(99)")
TIMESERIES_COLUMNS = tuple(name for name in COLUMNS if name != "t")


def timeseries(seconds: int, **columns: list[Any]) -> dict[str, Any]:
    """A per-second series of `seconds` points: the given columns, zeros (1.0 s lengths) else."""
    series: dict[str, Any] = {"interval_s": 1, "t": list(range(seconds))}
    for name in TIMESERIES_COLUMNS:
        default: float = 1.0 if name == "length_s" else 0
        series[name] = columns.pop(name, [default] * seconds)
        assert len(series[name]) == seconds, name
    assert not columns, f"unknown columns {sorted(columns)}"
    return series


@dataclass
class SummaryBuilder:
    """A made-up run: add requests and other samples, then `build()` its LoadedSummary."""

    name: str = "hand-built"
    elapsed_s: float = 10.0
    exit_code: int = 0
    thresholds: dict[str, list[str]] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    series: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    registry: Registry = field(default_factory=Registry)

    def __post_init__(self) -> None:
        self.metrics = define_builtin_metrics(self.registry)

    def request(
        self,
        name: str = "GET /ed-fi/students",
        *,
        ms: float = 10.0,
        status: int = 200,
        scenario: str = "load",
        count: int = 1,
    ) -> SummaryBuilder:
        """`count` requests of one name, each taking `ms`; failed unless 200-399."""
        method = name.split(" ", 1)[0]
        expected = 200 <= status < 400
        tags = make_tags(
            {
                "scenario": scenario,
                "name": name,
                "method": method,
                "status": str(status),
                "expected_response": "true" if expected else "false",
            }
        )
        m = self.metrics
        for _ in range(count):
            self.registry.add(m.http_reqs, 1, tags)
            self.registry.add(m.http_req_duration, ms, tags)
            self.registry.add(m.http_req_failed, 0 if expected else 1, tags)
        return self

    def intended(self, ms: float, *, count: int = 1, scenario: str = "load") -> SummaryBuilder:
        """`count` samples of http_req_latency_intended (arrival-rate scenarios record it)."""
        tags = make_tags({"scenario": scenario, "name": "GET /ed-fi/students"})
        for _ in range(count):
            self.registry.add(self.metrics.http_req_latency_intended, ms, tags)
        return self

    def dropped(self, count: int, *, scenario: str = "load") -> SummaryBuilder:
        """Iterations an arrival-rate executor dropped."""
        self.registry.add(self.metrics.dropped_iterations, count, make_tags({"scenario": scenario}))
        return self

    def check(self, name: str, passes: int, fails: int = 0) -> SummaryBuilder:
        """One check's totals (as `checks_document` writes them)."""
        tags = make_tags({"check": name, "scenario": "load"})
        for index in range(passes + fails):
            self.registry.add(self.metrics.checks, 1 if index < passes else 0, tags)
        self.checks.append({"name": name, "passes": passes, "fails": fails})
        return self

    def document(self) -> dict[str, Any]:
        """The summary document, thresholds evaluated by the real engine."""
        engine = ThresholdEngine(
            {
                selector: [parse_threshold(expression) for expression in expressions]
                for selector, expressions in self.thresholds.items()
            }
        )
        results = engine.evaluate(self.registry, self.elapsed_s)
        manifest = build_manifest(
            profile_path=f"{self.name}.toml",
            profile_name=self.name,
            description="a hand-built run for the report's tests",
            time_scale=1.0,
            started_at=1_780_000_000.0,
            ended_at=1_780_000_000.0 + self.elapsed_s,
            run_id="0badcafe",
            discovery={"applicationName": "Test DMS", "version": "1.0.0"},
            data_api_url="http://dms.example:8080/data",
            argv=["run", f"{self.name}.toml"],
        )
        return {
            "schema": SCHEMA,
            "manifest": manifest,
            "state": {
                "elapsed_s": self.elapsed_s,
                "exit_code": self.exit_code,
                "interrupted": False,
                "aborted_by": None,
                "error": None,
                "scenarios": ["load"],
            },
            "options": {"summary_trend_stats": list(TREND_STATS), "trend_scale": 1000},
            "metrics": metrics_document(self.registry, self.elapsed_s, TREND_STATS),
            "thresholds": thresholds_document(results),
            "checks": list(self.checks),
            "timeseries": self.series,
            "outputs": [],
            "notes": list(self.notes),
        }

    def build(self, path: Path | None = None) -> LoadedSummary:
        """The summary as `load_summary` would give it (written to `path` when given)."""
        document = orjson.loads(orjson.dumps(self.document()))
        if path is not None:
            path.write_bytes(orjson.dumps(document))
        where = path or Path(f"{self.name}.summary.json")
        return LoadedSummary(where, document, registry_from(document["metrics"]))
