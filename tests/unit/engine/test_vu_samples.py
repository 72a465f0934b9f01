"""VU.add: a custom sample carries the scenario's tags merged with its own; the merged tag set
is built once per distinct tags and reused."""

from __future__ import annotations

import pytest

from dmsload.engine.vu import VU
from dmsload.http.client import HttpClient, RequestRecorder
from dmsload.http.tls import SharedTls
from dmsload.metrics import MetricKind, Registry, define_builtin_metrics, make_tags
from dmsload.metrics.kinds import MetricError


def _vu(registry: Registry) -> VU:
    metrics = define_builtin_metrics(registry)
    recorder = RequestRecorder(registry, metrics, {"scenario": "s"})
    http = HttpClient(recorder, ssl_context=SharedTls())
    return VU(1, 1, "s", http, registry, metrics.checks, {"scenario": "s", "env": "ci"})


def test_custom_samples_merge_the_scenario_tags_and_reuse_one_tag_set() -> None:
    registry = Registry()
    made = registry.define("made", MetricKind.COUNTER)
    vu = _vu(registry)
    for _ in range(3):
        vu.add("made", 1.0, {"resource": "students"})
    vu.add("made", 2.0, {"resource": "schools", "env": "prod"})  # its own tag wins
    vu.add("made", 4.0)
    totals = {tags: sink.total for tags, sink in made.series.items()}
    assert totals == {
        make_tags({"scenario": "s", "env": "ci", "resource": "students"}): 3.0,
        make_tags({"scenario": "s", "env": "prod", "resource": "schools"}): 2.0,
        make_tags({"scenario": "s", "env": "ci"}): 4.0,
    }
    keys = list(made.series)
    vu.add("made", 1.0, {"resource": "students"})
    assert list(made.series) == keys  # no new series for the same tags


def test_an_undeclared_metric_is_refused() -> None:
    vu = _vu(Registry())
    with pytest.raises(MetricError, match="never defined"):
        vu.add("nope", 1.0)
