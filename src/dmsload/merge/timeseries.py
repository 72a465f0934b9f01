"""The parts' per-second series folded into one, aligned on their wall-clock start.

Each part's second t is placed at t + its start offset: zero when every part ran with the same
`--start-at` (read from its `manifest.argv`), so their t = 0 is one instant; otherwise its
`manifest.started_at` minus the earliest part's, rounded to the second.
Counts add up; rates are recomputed from the sums; `vus` and `vus_max` add up each part's last
value; `max_ms` is the largest; `cpu_percent` is the busiest part's (each part is one
process). A second's p50/p95/p99 cannot be recomputed from the parts' percentiles, so they are
null and listed in `not_merged`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from dmsload.outputs.timeline import COLUMNS

SUMMED = ("http_reqs", "failed", "status_429", "status_5xx", "iterations", "dropped_iterations")
GAUGES = ("vus", "vus_max")
NOT_MERGED = ("p50_ms", "p95_ms", "p99_ms")


def start_at_argument(argv: Sequence[str]) -> str | None:
    """The `--start-at` a part ran with, from its command line, if any."""
    for i, arg in enumerate(argv):
        if arg == "--start-at" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--start-at="):
            return arg.partition("=")[2]
    return None


def start_offsets(manifests: Sequence[Mapping[str, Any]]) -> list[int]:
    """Each part's start in whole seconds after the earliest part's."""
    agreed = {start_at_argument(manifest.get("argv") or []) for manifest in manifests}
    if len(agreed) == 1 and None not in agreed:
        return [0] * len(manifests)
    started_at = [str(manifest["started_at"]) for manifest in manifests]
    moments = [datetime.fromisoformat(text).timestamp() for text in started_at]
    earliest = min(moments)
    return [round(moment - earliest) for moment in moments]


def _column(series: Mapping[str, Any], name: str, length: int) -> list[Any]:
    values = series.get(name)
    if not isinstance(values, list):
        return [None] * length
    return (values + [None] * length)[:length]


def merge_timeseries(
    parts: Sequence[Mapping[str, Any] | None], offsets: Sequence[int]
) -> dict[str, Any] | None:
    """One series from the parts' (None when a part kept none)."""
    if not parts or any(series is None for series in parts):
        return None
    present = [series for series in parts if series is not None]
    lengths = [len(series.get("t") or []) for series in present]
    end = 0.0
    for series, offset, n in zip(present, offsets, lengths, strict=True):
        if n:
            end = max(end, offset + n - 1 + float(_column(series, "length_s", n)[-1] or 1.0))
    seconds = max((offset + n for offset, n in zip(offsets, lengths, strict=True)), default=0)
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    last_gauge: list[dict[str, float | None]] = [dict.fromkeys(GAUGES) for _ in present]
    for second in range(seconds):
        length = round(min(1.0, end - second), 3) if second == seconds - 1 else 1.0
        sums = dict.fromkeys(SUMMED, 0)
        peak: float | None = None
        cpu: float | None = None
        for i, (series, offset, n) in enumerate(zip(present, offsets, lengths, strict=True)):
            at = second - offset
            if not 0 <= at < n:
                continue
            for name in SUMMED:
                sums[name] += int(_column(series, name, n)[at] or 0)
            for name in GAUGES:
                value = _column(series, name, n)[at]
                if value is not None:
                    last_gauge[i][name] = float(value)
            observed = _column(series, "max_ms", n)[at]
            if observed is not None:
                peak = observed if peak is None else max(peak, observed)
            used = _column(series, "cpu_percent", n)[at]
            if used is not None:
                cpu = used if cpu is None else max(cpu, used)
        columns["t"].append(second)
        columns["length_s"].append(length)
        for name in SUMMED:
            columns[name].append(sums[name])
        requests = sums["http_reqs"]
        columns["rps"].append(round(requests / length, 3) if length > 0 else 0.0)
        columns["error_rate"].append(round(sums["failed"] / requests, 6) if requests else 0.0)
        for name in GAUGES:
            values = [gauge[name] for gauge in last_gauge if gauge[name] is not None]
            columns[name].append(sum(v for v in values if v is not None) if values else None)
        for name in NOT_MERGED:
            columns[name].append(None)
        columns["max_ms"].append(peak)
        columns["cpu_percent"].append(0.0 if cpu is None else cpu)
    return {"interval_s": 1, **columns, "not_merged": list(NOT_MERGED)}
