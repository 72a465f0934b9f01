"""k6's built-in metrics, under k6's names, plus dmsload's coordinated-omission trend."""

from __future__ import annotations

from dataclasses import dataclass, fields

from dmsload.metrics.kinds import MetricKind, ValueType
from dmsload.metrics.registry import Metric, Registry

_C, _G, _R, _T = MetricKind.COUNTER, MetricKind.GAUGE, MetricKind.RATE, MetricKind.TREND
_D, _TIME, _DATA = ValueType.DEFAULT, ValueType.TIME, ValueType.DATA

BUILTIN_DEFINITIONS: dict[str, tuple[MetricKind, ValueType]] = {
    "http_reqs": (_C, _D),
    "http_req_duration": (_T, _TIME),
    "http_req_blocked": (_T, _TIME),
    "http_req_connecting": (_T, _TIME),
    "http_req_tls_handshaking": (_T, _TIME),
    "http_req_sending": (_T, _TIME),
    "http_req_waiting": (_T, _TIME),
    "http_req_receiving": (_T, _TIME),
    "http_req_failed": (_R, _D),
    "http_req_latency_intended": (_T, _TIME),
    "iteration_start_lateness": (_T, _TIME),
    "iterations": (_C, _D),
    "iteration_duration": (_T, _TIME),
    "dropped_iterations": (_C, _D),
    "vus": (_G, _D),
    "vus_max": (_G, _D),
    "data_sent": (_C, _DATA),
    "data_received": (_C, _DATA),
    "checks": (_R, _D),
}
"""name -> (kind, contains). `http_req_latency_intended` is dmsload's: the time from an
arrival-rate iteration's scheduled start to the end of its request (wrk2's corrected latency);
so is `iteration_start_lateness`: how long after its scheduled start an arrival-rate iteration
actually started (the generator's own timing error; other executors have no schedule)."""

BUILTIN_KINDS: dict[str, MetricKind] = {
    name: kind for name, (kind, _contains) in BUILTIN_DEFINITIONS.items()
}


@dataclass(frozen=True)
class BuiltinMetrics:
    """Handles to the built-in metrics, for the engine's hot paths."""

    http_reqs: Metric
    http_req_duration: Metric
    http_req_blocked: Metric
    http_req_connecting: Metric
    http_req_tls_handshaking: Metric
    http_req_sending: Metric
    http_req_waiting: Metric
    http_req_receiving: Metric
    http_req_failed: Metric
    http_req_latency_intended: Metric
    iteration_start_lateness: Metric
    iterations: Metric
    iteration_duration: Metric
    dropped_iterations: Metric
    vus: Metric
    vus_max: Metric
    data_sent: Metric
    data_received: Metric
    checks: Metric


def define_builtin_metrics(registry: Registry) -> BuiltinMetrics:
    """Define every built-in metric in `registry` and return handles to them."""
    handles = {
        item.name: registry.define(item.name, *BUILTIN_DEFINITIONS[item.name])
        for item in fields(BuiltinMetrics)
    }
    return BuiltinMetrics(**handles)
