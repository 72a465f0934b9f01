"""k6 thresholds: the grammar, the per-kind rules, evaluation and abort decisions."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from dmsload.metrics.kinds import METRIC_NAME, MetricKind, TagSet, make_tags
from dmsload.metrics.registry import Registry


class ThresholdError(ValueError):
    """A threshold expression or metric selector that does not parse."""


_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "===": operator.eq,
    "!=": operator.ne,
}

_EXPRESSION = re.compile(
    r"^\s*(?P<agg>[A-Za-z][A-Za-z0-9_.]*(?:\(\s*[^)]*\))?)\s*(?P<op>===|==|!=|<=|>=|<|>)\s*(?P<value>\S+)\s*$"
)
_PERCENTILE = re.compile(r"^p\(\s*(?P<pct>\d+(?:\.\d+)?|\.\d+)\s*\)$")
_AGGREGATIONS = ("avg", "min", "max", "med", "count", "rate", "value")

ALLOWED: dict[MetricKind, tuple[str, ...]] = {
    MetricKind.COUNTER: ("count", "rate"),
    MetricKind.GAUGE: ("value",),
    MetricKind.RATE: ("rate",),
    MetricKind.TREND: ("avg", "min", "max", "med", "p(N)"),
}
"""The aggregations each kind accepts in a threshold (k6's `metrics/metric_type.go`)."""


@dataclass(frozen=True)
class Threshold:
    """One parsed threshold expression such as `p(95)<500`."""

    source: str
    aggregation: str
    """`avg`, `min`, `max`, `med`, `count`, `rate`, `value` or a normalized `p(N)`."""
    operator: str
    value: float
    abort_on_fail: bool = False
    delay_abort_eval_s: float | None = None

    def passes(self, observed: float) -> bool:
        """Whether an observed value satisfies the expression."""
        return _OPERATORS[self.operator](observed, self.value)


def parse_percentile(text: str) -> str:
    """The N of `p(N)` as written (0 <= N <= 100); ThresholdError naming what is wrong."""
    match = _PERCENTILE.match(text)
    if match is None:
        raise ThresholdError(f"malformed percentile {text!r}: write p(N), 0 <= N <= 100")
    if not 0 <= float(match["pct"]) <= 100:
        raise ThresholdError(f"percentile {float(match['pct']):g} is outside 0..100")
    return match["pct"]


def parse_threshold(
    source: str, *, abort_on_fail: bool = False, delay_abort_eval_s: float | None = None
) -> Threshold:
    """Parse a k6 threshold expression: `aggregation operator number`."""
    match = _EXPRESSION.match(source)
    if match is None:
        raise ThresholdError(
            "not a threshold: write AGGREGATION OPERATOR NUMBER, such as p(95)<500 or rate<0.01"
        )
    aggregation = match["agg"]
    if aggregation.startswith("p("):
        aggregation = f"p({parse_percentile(aggregation)})"
    elif aggregation not in _AGGREGATIONS:
        hint = ""
        if re.fullmatch(r"p\d+(?:\.\d+)?", aggregation):
            hint = f" (did you mean p({aggregation[1:]})?)"
        raise ThresholdError(
            f"unknown aggregation {aggregation!r}{hint}; use avg, min, max, med, p(N), count, "
            "rate or value"
        )
    try:
        value = float(match["value"])
    except ValueError:
        raise ThresholdError(f"{match['value']!r} is not a number") from None
    if not math.isfinite(value):
        raise ThresholdError(f"{match['value']!r} is not a finite number")
    return Threshold(
        source=source,
        aggregation=aggregation,
        operator=match["op"],
        value=value,
        abort_on_fail=abort_on_fail,
        delay_abort_eval_s=delay_abort_eval_s,
    )


def parse_metric_selector(selector: str) -> tuple[str, TagSet]:
    """Split `http_req_duration{scenario:spike,method:POST}` into the name and its tag filter."""
    text = selector.strip()
    tags: TagSet = ()
    if "{" not in text:
        name = text
    else:
        name, _, rest = text.partition("{")
        name = name.strip()
        if not rest.endswith("}"):
            raise ThresholdError("a sub-metric must end with '}': name{tag:value,...}")
        body = rest[:-1].strip()
        if not body:
            raise ThresholdError("a sub-metric needs at least one tag:value between { and }")
        pairs: dict[str, str] = {}
        for part in body.split(","):
            key, colon, value = part.partition(":")
            if not colon or not key.strip():
                raise ThresholdError(f"sub-metric tag {part.strip()!r} must be written tag:value")
            if not value.strip():
                raise ThresholdError(
                    f"sub-metric tag {part.strip()!r} has an empty value: write tag:value"
                )
            pairs[key.strip()] = value.strip()
        tags = make_tags(pairs)
    if not METRIC_NAME.match(name):
        raise ThresholdError(
            f"metric name {name!r} must be letters, digits and _, not starting with a digit"
        )
    return name, tags


def _family(aggregation: str) -> str:
    return "p(N)" if aggregation.startswith("p(") else aggregation


def check_aggregation(kind: MetricKind, threshold: Threshold) -> str | None:
    """A message when the metric kind does not support the threshold's aggregation."""
    allowed = ALLOWED[kind]
    if _family(threshold.aggregation) in allowed:
        return None
    return (
        f"{threshold.aggregation!r} does not apply to a {kind.value} metric; "
        f"use {', '.join(allowed)}"
    )


@dataclass(frozen=True)
class ThresholdResult:
    """A threshold's verdict: ok is None when its metric saw no samples ("no data")."""

    selector: str
    threshold: Threshold
    observed: float | None
    ok: bool | None

    @property
    def failed(self) -> bool:
        """True only for a real failure (no data is not a failure)."""
        return self.ok is False


class ThresholdEngine:
    """Evaluates a profile's thresholds against a registry."""

    def __init__(self, rules: Mapping[str, Sequence[Threshold]]) -> None:
        self.rules = {selector: list(items) for selector, items in rules.items()}
        self._selectors = {selector: parse_metric_selector(selector) for selector in rules}

    @property
    def metric_names(self) -> set[str]:
        """The metrics the thresholds read."""
        return {name for name, _tags in self._selectors.values()}

    def evaluate(self, registry: Registry, elapsed_s: float) -> list[ThresholdResult]:
        """Every threshold's result, in profile order."""
        results: list[ThresholdResult] = []
        for selector, items in self.rules.items():
            name, tags = self._selectors[selector]
            view = registry.view(name, tags)
            for threshold in items:
                observed = None if view is None else view.value(threshold.aggregation, elapsed_s)
                ok = None if observed is None else threshold.passes(observed)
                results.append(ThresholdResult(selector, threshold, observed, ok))
        return results

    @staticmethod
    def should_abort(
        results: Sequence[ThresholdResult], elapsed_s: float
    ) -> ThresholdResult | None:
        """The first failed `abort_on_fail` threshold past its `delay_abort_eval`, if any."""
        for result in results:
            threshold = result.threshold
            if not result.failed or not threshold.abort_on_fail:
                continue
            delay = threshold.delay_abort_eval_s
            if delay is None or elapsed_s >= delay:
                return result
        return None
