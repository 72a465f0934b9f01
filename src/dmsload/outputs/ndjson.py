"""`--out json=FILE`: k6's JSON output, one `Metric` or `Point` object per line (NDJSON).

Shapes follow k6 (https://grafana.com/docs/k6/latest/results-output/real-time/json): a
metric's `Metric` line comes before its first `Point`; a point's `time` is RFC 3339 with
nanoseconds (UTC here), its `value` in the metric's display unit (ms for time trends).
`FILE.gz` is gzipped.
"""

from __future__ import annotations

import orjson

from dmsload.metrics.kinds import TagSet
from dmsload.metrics.registry import Metric
from dmsload.metrics.thresholds import parse_metric_selector
from dmsload.outputs.files import FileOutput
from dmsload.outputs.tap import Sample
from dmsload.outputs.timestamps import Rfc3339


class JsonOutput(FileOutput):
    """k6's NDJSON stream."""

    kind = "json"

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self._declared: set[str] = set()
        self._suffixes: dict[tuple[str, TagSet], bytes] = {}
        self._times = Rfc3339()

    def _metric_line(self, metric: Metric) -> bytes:
        thresholds: list[str] = []
        submetrics: list[dict[str, object]] = []
        for selector, items in self.ctx.thresholds.items():
            name, tags = parse_metric_selector(selector)
            if name != metric.name:
                continue
            thresholds.extend(item.source for item in items)
            if tags:
                suffix = ",".join(f"{key}:{value}" for key, value in tags)
                submetrics.append({"name": selector, "suffix": suffix, "tags": dict(tags)})
        line = {
            "type": "Metric",
            "data": {
                "name": metric.name,
                "type": metric.kind.value,
                "contains": metric.contains.value,
                "thresholds": thresholds,
                "submetrics": submetrics or None,
            },
            "metric": metric.name,
        }
        return orjson.dumps(line) + b"\n"

    def _suffix(self, metric: Metric, tags: TagSet) -> bytes:
        key = (metric.name, tags)
        suffix = self._suffixes.get(key)
        if suffix is None:
            suffix = (
                b',"tags":'
                + orjson.dumps(dict(tags))
                + b'},"metric":'
                + orjson.dumps(metric.name)
                + b"}\n"
            )
            if len(self._suffixes) < 200_000:
                self._suffixes[key] = suffix
        return suffix

    def encode(self, batch: list[Sample]) -> bytes:
        """The batch as NDJSON lines, with a `Metric` line before each new metric."""
        offset = self.ctx.clock.offset_ns
        times = self._times
        declared = self._declared
        parts: list[bytes] = []
        append = parts.append
        for t_ns, metric, tags, value in batch:
            if metric.name not in declared:
                declared.add(metric.name)
                append(self._metric_line(metric))
            append(b'{"type":"Point","data":{"time":"')
            append(times.format(t_ns + offset).encode())
            append(b'","value":')
            append(orjson.dumps(value))
            append(self._suffix(metric, tags))
        return b"".join(parts)
