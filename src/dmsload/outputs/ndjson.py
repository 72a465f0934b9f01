"""`--out json=FILE`: k6's JSON output, one `Metric` or `Point` object per line (NDJSON).

Shapes follow k6 (https://grafana.com/docs/k6/latest/results-output/real-time/json): a
metric's `Metric` line comes before its first `Point`; a point's `time` is RFC 3339 with
nanoseconds (UTC here), its `value` in the metric's display unit (ms for time trends, to the
nanosecond), whole numbers as integers. As k6: a metric's `thresholds` are its own (a
sub-metric's are not listed under its parent), `http_req_duration` lists its
`{expected_response:true}` sub-metric, and `dropped_iterations` has no points of value 0.
`FILE.gz` is gzipped.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from dmsload.metrics.kinds import TagSet
from dmsload.metrics.registry import Metric
from dmsload.metrics.summary import EXPECTED_SUBMETRIC
from dmsload.metrics.thresholds import parse_metric_selector
from dmsload.outputs.base import kept_tags
from dmsload.outputs.files import FileOutput
from dmsload.outputs.tap import Sample

NS = 1_000_000_000
DROPPED = "dropped_iterations"
_EXACT = 2**53
MAX_CACHED = 200_000
"""Series whose line ends are cached (beyond it they are built per sample)."""
_Series = tuple[Metric, TagSet, bytes]


class JsonOutput(FileOutput):
    """k6's NDJSON stream."""

    kind = "json"

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self._declared: set[str] = set()
        self._suffixes: dict[tuple[str, TagSet], bytes] = {}
        self._by_identity: dict[tuple[int, int], _Series] = {}
        self._second = -1
        self._prefix = b""

    def _metric_line(self, metric: Metric) -> bytes:
        thresholds: list[str] = []
        wanted: list[TagSet] = []
        for selector, items in self.ctx.thresholds.items():
            name, tags = parse_metric_selector(selector)
            if name != metric.name:
                continue
            if not tags:
                thresholds.extend(item.source for item in items)
            elif tags not in wanted:
                wanted.append(tags)
        if metric.name == "http_req_duration" and EXPECTED_SUBMETRIC not in wanted:
            wanted.append(EXPECTED_SUBMETRIC)
        submetrics: list[dict[str, object]] = []
        for tags in wanted:
            suffix = ",".join(f"{key}:{value}" for key, value in tags)
            name = f"{metric.name}{{{suffix}}}"
            submetrics.append({"name": name, "suffix": suffix, "tags": dict(tags)})
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
                + orjson.dumps(dict(kept_tags(tags, self.ctx.drop_tags)))
                + b'},"metric":'
                + orjson.dumps(metric.name)
                + b"}\n"
            )
            if len(self._suffixes) < MAX_CACHED:
                self._suffixes[key] = suffix
        return suffix

    def _series(self, metric: Metric, tags: TagSet, out: list[bytes]) -> _Series:
        """The cached line end of a (metric, tags) series; declares a new metric into `out`."""
        if metric.name not in self._declared:
            self._declared.add(metric.name)
            out.append(self._metric_line(metric))
        series = (metric, tags, self._suffix(metric, tags))
        if len(self._by_identity) < MAX_CACHED:
            self._by_identity[(id(metric), id(tags))] = series
        return series

    def encode(self, batch: list[Sample]) -> bytes:
        """The batch as NDJSON lines, with a `Metric` line before each new metric."""
        offset = self.ctx.clock.offset_ns
        by_identity = self._by_identity
        dumps = orjson.dumps
        parts: list[bytes] = []
        append = parts.append
        second, prefix = self._second, self._prefix
        for t_ns, metric, tags, value in batch:
            if not value and metric.name == DROPPED:
                self.omitted += 1  # k6 emits dropped_iterations only when iterations were dropped
                continue
            # the series cache is keyed by object identity (cheap to hash), checked by `is`:
            # the cache holds the objects, so their ids cannot be reused while cached
            series = by_identity.get((id(metric), id(tags)))
            if series is None or series[0] is not metric or series[1] is not tags:
                series = self._series(metric, tags, parts)
            at, fraction = divmod(t_ns + offset, NS)
            if at != second:
                second = at
                prefix = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S").encode()
            if value.__class__ is float and value.is_integer() and -_EXACT < value < _EXACT:
                value = int(value)  # as k6: 268, not 268.0
            append(_POINT % (prefix, fraction, dumps(value), series[2]))
        self._second, self._prefix = second, prefix
        return b"".join(parts)


_POINT = b'{"type":"Point","data":{"time":"%s.%09dZ","value":%s%s'
