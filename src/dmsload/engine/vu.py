"""A virtual user: an id, an iteration counter, its own HTTP connection and its own state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dmsload.http import HttpClient
from dmsload.metrics import Metric, MetricError, Registry, TagSet, make_tags


class VU:
    """One virtual user, owned by one scenario; workloads receive it on every iteration."""

    __slots__ = (
        "_check_metric",
        "_check_tags",
        "_registry",
        "_sample_tags",
        "_scenario_tags",
        "extra_http",
        "http",
        "id",
        "id_in_scenario",
        "iteration",
        "scenario",
        "state",
    )

    def __init__(
        self,
        vu_id: int,
        id_in_scenario: int,
        scenario: str,
        http: HttpClient,
        registry: Registry,
        checks: Metric,
        scenario_tags: Mapping[str, str],
    ) -> None:
        self.id = vu_id
        self.id_in_scenario = id_in_scenario
        self.scenario = scenario
        self.http = http
        self.iteration = 0
        """Completed or attempted iterations of this VU in its scenario (k6's __ITER)."""
        self.state: dict[str, Any] = {}
        self.extra_http: list[HttpClient] = []
        """More connections of this VU (`http_pool`), closed with it."""
        self._registry = registry
        self._check_metric = checks
        self._scenario_tags = dict(scenario_tags)
        self._check_tags: dict[tuple[str, tuple[tuple[str, str], ...]], TagSet] = {}
        self._sample_tags: dict[tuple[tuple[str, str], ...], TagSet] = {}

    def http_pool(self, size: int) -> list[HttpClient]:
        """`size` connections for concurrent requests: `http` first, then extra ones."""
        while len(self.extra_http) < size - 1:
            self.extra_http.append(self.http.sibling())
        return [self.http, *self.extra_http[: size - 1]]

    def check(self, name: str, ok: bool, tags: Mapping[str, str] | None = None) -> bool:
        """Record a k6-style named check (`status is 201`) into the `checks` rate."""
        extra = tuple(tags.items()) if tags else ()
        key = (name, extra)
        tagset = self._check_tags.get(key)
        if tagset is None:
            merged = {**self._scenario_tags, **dict(extra), "check": name}
            tagset = make_tags(merged)
            self._check_tags[key] = tagset
        self._registry.add(self._check_metric, 1.0 if ok else 0.0, tagset)
        return ok

    def add(self, metric_name: str, value: float, tags: Mapping[str, str] | None = None) -> None:
        """Add a sample to a custom metric the workload declared."""
        metric = self._registry.get(metric_name)
        if metric is None:
            raise MetricError(f"metric {metric_name!r} was never defined")
        extra = tuple(tags.items()) if tags else ()
        tagset = self._sample_tags.get(extra)
        if tagset is None:  # merged and sorted once per distinct tags, not per sample
            tagset = self._sample_tags[extra] = make_tags({**self._scenario_tags, **dict(extra)})
        self._registry.add(metric, value, tagset)
