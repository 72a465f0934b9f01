"""Metrics: k6's four kinds over HDR histograms, tags, thresholds, the summary and its export."""

from dmsload.metrics.builtin import (
    BUILTIN_DEFINITIONS,
    BUILTIN_KINDS,
    BuiltinMetrics,
    define_builtin_metrics,
)
from dmsload.metrics.export import k6_legacy_summary, write_k6_summary_export
from dmsload.metrics.kinds import MetricError, MetricKind, TagSet, ValueType, make_tags
from dmsload.metrics.registry import Metric, MetricView, Registry
from dmsload.metrics.summary import SummaryContext, render_summary, summary_lines
from dmsload.metrics.thresholds import (
    Threshold,
    ThresholdEngine,
    ThresholdError,
    ThresholdResult,
    check_aggregation,
    parse_metric_selector,
    parse_threshold,
)

__all__ = [
    "BUILTIN_DEFINITIONS",
    "BUILTIN_KINDS",
    "BuiltinMetrics",
    "Metric",
    "MetricError",
    "MetricKind",
    "MetricView",
    "Registry",
    "SummaryContext",
    "TagSet",
    "Threshold",
    "ThresholdEngine",
    "ThresholdError",
    "ThresholdResult",
    "ValueType",
    "check_aggregation",
    "define_builtin_metrics",
    "k6_legacy_summary",
    "make_tags",
    "parse_metric_selector",
    "parse_threshold",
    "render_summary",
    "summary_lines",
    "write_k6_summary_export",
]
