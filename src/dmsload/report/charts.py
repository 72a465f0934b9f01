"""The report's charts: which per-second series each of the five charts draws, and how."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# ---- charts ------------------------------------------------------------------------------

_COLORS = {
    "blue": "#2563eb",
    "teal": "#0d9488",
    "amber": "#d97706",
    "red": "#dc2626",
    "purple": "#7c3aed",
    "slate": "#64748b",
    "pink": "#db2777",
}


def _column(series: Mapping[str, Any], name: str, length: int) -> list[float | None]:
    values = series.get(name)
    if not isinstance(values, list):
        return [None] * length
    out: list[float | None] = [
        float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
        for v in values[:length]
    ]
    return out + [None] * (length - len(out))


def _per_second(counts: Sequence[float | None], lengths: Sequence[float]) -> list[float | None]:
    return [
        None if count is None else round(count / (length if length else 1.0), 3)
        for count, length in zip(counts, lengths, strict=True)
    ]


def _line(label: str, values: list[float | None], color: str, **extra: Any) -> dict[str, Any]:
    return {"label": label, "values": values, "color": _COLORS[color], "scale": "y", **extra}


MIN_LAST_BUCKET_S = 0.5
"""The shortest final bucket the charts draw."""


@dataclass(frozen=True)
class ChartSpec:
    """One chart: its title, what it shows, and the data the page's script draws."""

    key: str
    title: str
    caption: str
    data: dict[str, Any]
    wide: bool = False
    """Spans the whole row (the latency chart)."""


def chart_specs(timeseries: Mapping[str, Any] | None) -> list[ChartSpec]:
    """The five charts of a run's per-second series; [] when it has none.

    A last, partial second shorter than MIN_LAST_BUCKET_S is left out: its per-second rates
    (a few requests in a few ms) would draw a spike that never happened.
    """
    if not timeseries:
        return []
    seconds = timeseries.get("t")
    if not isinstance(seconds, list) or not seconds:
        return []
    n = len(seconds)
    last_length = _column(timeseries, "length_s", n)[-1]
    if n > 1 and last_length is not None and last_length < MIN_LAST_BUCKET_S:
        n -= 1
    x = [float(v) if isinstance(v, int | float) else float(i) for i, v in enumerate(seconds[:n])]
    col = functools.partial(_column, timeseries, length=n)
    lengths = [v if v else 1.0 for v in col("length_s")]
    rps = col("rps")
    if all(v is None for v in rps):
        rps = _per_second(col("http_reqs"), lengths)
    error_pct = [None if v is None else round(v * 100, 4) for v in col("error_rate")]

    def spec(
        key: str,
        title: str,
        caption: str,
        scales: list[dict[str, Any]],
        lines: list[dict[str, Any]],
    ) -> ChartSpec:
        return ChartSpec(
            key, title, caption, {"x": x, "scales": scales, "series": lines}, key == "latency"
        )

    return [
        spec(
            "latency",
            "Latency (http_req_duration)",
            "Percentiles of each second's requests (max is hidden: click it in the legend).",
            [{"key": "y", "unit": "ms", "floor": 1}],
            [
                _line("p50", col("p50_ms"), "teal"),
                _line("p95", col("p95_ms"), "amber"),
                _line("p99", col("p99_ms"), "red"),
                _line("max", col("max_ms"), "slate", dash=[4, 4], show=False),
            ],
        ),
        spec(
            "throughput",
            "Throughput",
            "Requests and iterations completed per second; dropped iterations found no free VU.",
            [{"key": "y", "unit": "/s", "floor": 1}],
            [
                _line("requests/s", rps, "blue", fill="rgba(37,99,235,0.08)", digits=1),
                _line(
                    "iterations/s",
                    _per_second(col("iterations"), lengths),
                    "teal",
                    dash=[5, 3],
                    digits=1,
                ),
                _line(
                    "dropped/s", _per_second(col("dropped_iterations"), lengths), "red", digits=1
                ),
            ],
        ),
        spec(
            "vus",
            "Virtual users",
            "Active VUs and the VUs allocated (vus_max), sampled each second.",
            [{"key": "y", "unit": "", "floor": 1, "integer": True}],
            [
                _line(
                    "VUs",
                    col("vus"),
                    "purple",
                    stepped=True,
                    fill="rgba(124,58,237,0.08)",
                    digits=0,
                ),
                _line(
                    "VUs allocated", col("vus_max"), "slate", stepped=True, dash=[6, 4], digits=0
                ),
            ],
        ),
        spec(
            "errors",
            "Errors",
            "Share of requests that failed each second, and 429 / 5xx responses per second.",
            [
                {"key": "y", "unit": "%", "floor": 1},
                {"key": "y2", "unit": "/s", "floor": 1, "integer": True},
            ],
            [
                _line("failed %", error_pct, "red", fill="rgba(220,38,38,0.08)", digits=2),
                {
                    **_line("429/s", _per_second(col("status_429"), lengths), "amber", digits=1),
                    "scale": "y2",
                },
                {
                    **_line("5xx/s", _per_second(col("status_5xx"), lengths), "pink", digits=1),
                    "scale": "y2",
                },
            ],
        ),
        spec(
            "cpu",
            "Load generator CPU",
            "dmsload's own CPU time per second, % of one core; near 100% it limits the test.",
            [{"key": "y", "unit": "%", "floor": 10}],
            [_line("CPU", col("cpu_percent"), "blue", fill="rgba(37,99,235,0.08)", digits=1)],
        ),
    ]
