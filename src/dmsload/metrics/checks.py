"""The named checks of a run: each check's passes and fails, summed over its series."""

from __future__ import annotations

from dmsload.metrics.registry import Registry
from dmsload.metrics.sinks import RateSink

CHECKS = "checks"
CHECK_TAG = "check"


def check_totals(registry: Registry) -> dict[str, tuple[int, int]]:
    """`{name: (passes, fails)}` of every check, by name."""
    totals: dict[str, tuple[int, int]] = {}
    metric = registry.get(CHECKS)
    if metric is None:
        return totals
    for tags, sink in metric.series.items():
        assert isinstance(sink, RateSink)
        name = dict(tags).get(CHECK_TAG, "")
        passes, fails = totals.get(name, (0, 0))
        totals[name] = (passes + sink.trues, fails + sink.samples - sink.trues)
    return dict(sorted(totals.items()))
