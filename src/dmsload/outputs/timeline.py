"""The run's per-second time series: req/s, errors, VUs, latency percentiles, generator CPU.

Fed by the output session with every batch of samples (on the event loop, so nothing is
lost), it keeps one bucket per second of the run; a second's latencies are reduced to
percentiles as soon as the next second begins, so memory stays small however long the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from dmsload.metrics.kinds import TagSet
from dmsload.outputs.tap import Sample

NS = 1_000_000_000


@dataclass
class _Bucket:
    requests: int = 0
    failed: int = 0
    iterations: int = 0
    dropped: int = 0
    vus: float | None = None
    vus_max: float | None = None
    rate_limited: int = 0
    server_errors: int = 0
    durations_ms: list[float] = field(default_factory=list)
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None

    def close(self) -> None:
        values = self.durations_ms
        if values:
            values.sort()
            self.p50 = _percentile(values, 50)
            self.p95 = _percentile(values, 95)
            self.p99 = _percentile(values, 99)
            self.max = values[-1]
        self.durations_ms = []


def _percentile(ordered: list[float], pct: float) -> float:
    """Linear interpolation between closest ranks (k6's TrendSink.P)."""
    if len(ordered) == 1:
        return ordered[0]
    rank = pct / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Timeline:
    """Per-second buckets from the run's start."""

    def __init__(self) -> None:
        self.start_ns = 0
        self.end_ns = 0
        self._buckets: dict[int, _Bucket] = {}
        self._open = -1
        self._last_vus: float = 0.0
        self._last_cpu: tuple[int, float] | None = None
        self._cpu_s: dict[int, float] = {}  # apart from the buckets: a note never closes a second
        self._statuses: dict[TagSet, str] = {}

    def begin(self, start_ns: int) -> None:
        """t = 0 of the run (perf_counter ns); samples before it (setup) are not counted."""
        self.start_ns = start_ns

    def _bucket(self, second: int) -> _Bucket:
        bucket = self._buckets.get(second)
        if bucket is None:
            bucket = self._buckets[second] = _Bucket()
            if second > self._open:
                previous = self._buckets.get(self._open)
                if previous is not None:
                    previous.close()
                self._open = second
        return bucket

    def consume(self, batch: list[Sample]) -> None:
        """Fold a batch of samples into its seconds."""
        if not self.start_ns:
            return
        start = self.start_ns
        bucket: _Bucket | None = None
        second = -1
        for t_ns, metric, tags, value in batch:
            if t_ns < start:
                continue
            name = metric.name
            if name not in _WATCHED:
                continue
            at = (t_ns - start) // NS
            if at != second or bucket is None:
                second = at
                bucket = self._bucket(at)
            if name == "http_req_duration":
                bucket.durations_ms.append(value)
            elif name == "http_reqs":
                bucket.requests += 1
                status = self._statuses.get(tags)
                if status is None:
                    status = self._statuses[tags] = dict(tags).get("status", "")
                if status == "429":
                    bucket.rate_limited += 1
                elif status.startswith("5"):
                    bucket.server_errors += 1
            elif name == "http_req_failed":
                if value:
                    bucket.failed += 1
            elif name == "iterations":
                bucket.iterations += 1
            elif name == "dropped_iterations":
                bucket.dropped += int(value)
            elif name == "vus":
                bucket.vus = value
            elif name == "vus_max":
                bucket.vus_max = value

    def note_cpu(self, now_ns: int, process_cpu_s: float) -> None:
        """The process's CPU time at `now_ns`. The CPU used since the last note is spread over
        the seconds that interval covers, in proportion to the time it spent in each: a short
        last second gets its share, not the whole interval's CPU (which read as more than one
        core)."""
        last = self._last_cpu
        self._last_cpu = (now_ns, process_cpu_s)
        if not self.start_ns or last is None or now_ns <= last[0]:
            return
        used = process_cpu_s - last[1]
        span = now_ns - last[0]
        begin = max(last[0], self.start_ns)
        while begin < now_ns:
            second = (begin - self.start_ns) // NS
            end = min(now_ns, self.start_ns + (second + 1) * NS)
            self._cpu_s[second] = self._cpu_s.get(second, 0.0) + used * (end - begin) / span
            begin = end

    def finish(self, end_ns: int) -> None:
        """The run's end: close the last second."""
        self.end_ns = end_ns
        bucket = self._buckets.get(self._open)
        if bucket is not None:
            bucket.close()

    def to_json(self) -> dict[str, Any]:
        """Columnar series, one entry per second (the last one may be shorter)."""
        if not self.start_ns:
            return {"interval_s": 1, "t": []}
        end = self.end_ns or max(self._buckets, default=0) * NS + self.start_ns
        seconds = max(1, math.ceil((end - self.start_ns) / NS))
        last_length = (end - self.start_ns) / NS - (seconds - 1)
        columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
        vus: float | None = None
        vus_max: float | None = None
        for second in range(seconds):
            bucket = self._buckets.get(second) or _Bucket()
            length = last_length if second == seconds - 1 and last_length > 0 else 1.0
            vus = bucket.vus if bucket.vus is not None else vus
            vus_max = bucket.vus_max if bucket.vus_max is not None else vus_max
            columns["t"].append(second)
            columns["length_s"].append(round(length, 3))
            columns["http_reqs"].append(bucket.requests)
            columns["rps"].append(round(bucket.requests / length, 3))
            columns["failed"].append(bucket.failed)
            columns["error_rate"].append(
                round(bucket.failed / bucket.requests, 6) if bucket.requests else 0.0
            )
            columns["status_429"].append(bucket.rate_limited)
            columns["status_5xx"].append(bucket.server_errors)
            columns["iterations"].append(bucket.iterations)
            columns["dropped_iterations"].append(bucket.dropped)
            columns["vus"].append(vus)
            columns["vus_max"].append(vus_max)
            for stat in ("p50", "p95", "p99", "max"):
                observed = getattr(bucket, stat)
                columns[f"{stat}_ms"].append(None if observed is None else round(observed, 3))
            columns["cpu_percent"].append(round(100 * self._cpu_s.get(second, 0.0) / length, 1))
        return {"interval_s": 1, **columns}


_WATCHED = frozenset(
    {
        "http_req_duration",
        "http_reqs",
        "http_req_failed",
        "iterations",
        "dropped_iterations",
        "vus",
        "vus_max",
    }
)
COLUMNS = (  # the summary JSON's `timeseries` keys besides `interval_s`
    "t",
    "length_s",
    "http_reqs",
    "rps",
    "failed",
    "error_rate",
    "status_429",
    "status_5xx",
    "iterations",
    "dropped_iterations",
    "vus",
    "vus_max",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "cpu_percent",
)
