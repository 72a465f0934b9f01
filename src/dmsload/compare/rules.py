"""`--fail-on` regression rules: their grammar, and how one rule judges one baseline/current pair.

Grammar: `[SELECTOR:]STAT OP CHANGE`, e.g. `p(95)>+10%`, `http_req_failed:rate>+1pp`,
`http_req_duration{name:*}:p(99)>+50ms`, `rps<-10%`, `dropped_iterations:count>+0`.

- SELECTOR: a metric or k6 sub-metric (`http_req_duration{name:POST /ed-fi/students}`); a tag
  value `*` stands for every value both runs have. Without one, the stat picks it: trend stats
  use http_req_duration, `rate` http_req_failed, `rps` and `count` http_reqs.
- STAT: `avg`, `med`, `min`, `max`, `p(N)` (trends; `p(50)` is `med`), `count` (trends and
  counters), `rate` (rates), `rps` (a counter's total per second of the run).
- OP: `>` or `<`: the rule is broken when the change is greater / less than CHANGE.
- CHANGE: signed, so the direction is never implicit: `+10%` (relative to the baseline), or
  absolute in the stat's unit: `+20ms` / `+0.5s` / `+20` (time trends, ms), `+1pp` (percentage
  points of a rate) / `+0.01` (a 0..1 fraction), `-5` (req/s for rps), `+0` (count).

This module is pure: `parse_rule` turns text into a `Rule` (RuleError with a one-line reason),
`Rule.judge` compares two numbers. Finding the numbers in two summaries is table.py's job.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from dmsload.metrics.kinds import METRIC_NAME, TagSet
from dmsload.metrics.thresholds import ThresholdError, parse_metric_selector, parse_percentile

WILDCARD = "*"
"""A tag value in a rule's selector that means every value present in both runs."""

TREND_STATS = ("avg", "med", "min", "max")
OTHER_STATS = ("count", "rate", "rps")
DEFAULT_SELECTOR = {"rate": "http_req_failed", "rps": "http_reqs", "count": "http_reqs"}
"""The metric a rule without a selector is about, by stat; trend stats use http_req_duration."""
DEFAULT_TREND = "http_req_duration"

_BARE_PERCENTILE = re.compile(r"^p(?P<pct>\d+(?:\.\d+)?)$")
_CHANGE = re.compile(r"^(?P<sign>[+-])?(?P<number>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>%|ms|s|pp)?$")
_STAT_OP_CHANGE = re.compile(r"^(?P<stat>[^<>=!]*?)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<change>.*)$")


class RuleError(ValueError):
    """A `--fail-on` rule that does not parse, or does not fit the metric it names."""


class Unit(StrEnum):
    """How a rule's CHANGE is measured."""

    PERCENT = "%"
    """Relative to the baseline value."""
    MS = "ms"
    """Absolute milliseconds (time trends; `s` is converted)."""
    PP = "pp"
    """Absolute percentage points of a rate (stored as a 0..1 fraction)."""
    PLAIN = ""
    """Absolute, in the stat's own unit."""


class Verdict(StrEnum):
    """What a rule says about one baseline/current pair."""

    OK = "ok"
    BROKEN = "broken"
    """A regression: the change passed the rule's limit."""
    NO_DATA = "no data"
    """One side has no sample: nothing to compare, not a failure."""
    NOT_COMPARABLE = "n/a"
    """A relative rule on a zero baseline: a percentage has no meaning, not a failure."""


@dataclass(frozen=True)
class Judgement:
    """One rule applied to one pair of values: the change it measured and its verdict."""

    verdict: Verdict
    change: float | None
    """In the rule's unit: percent for `%` rules, else current - baseline in the stat's unit."""


@dataclass(frozen=True)
class Rule:
    """One parsed `--fail-on` rule."""

    source: str
    metric: str
    tags: TagSet
    """The sub-metric filter; a value `*` is a wildcard (see table.py)."""
    stat: str
    """Normalized: `avg`, `med`, `min`, `max`, `p(N)`, `count`, `rate` or `rps`."""
    op: str
    """`>` or `<`."""
    limit: float
    """Percent for `%` rules; else in the stat's unit (ms, 0..1 fraction, req/s, count)."""
    unit: Unit
    explicit_selector: bool

    @property
    def relative(self) -> bool:
        """True for a `%` rule."""
        return self.unit is Unit.PERCENT

    @property
    def has_wildcard(self) -> bool:
        """True when a tag value is `*`."""
        return any(value == WILDCARD for _, value in self.tags)

    def judge(self, baseline: float | None, current: float | None) -> Judgement:
        """The verdict on one pair of values (None: that side has no data)."""
        if baseline is None or current is None:
            return Judgement(Verdict.NO_DATA, None)
        if self.relative:
            change = relative_change(baseline, current)
            if change is None:
                return Judgement(Verdict.NOT_COMPARABLE, None)
        else:
            change = current - baseline
        broken = change > self.limit if self.op == ">" else change < self.limit
        return Judgement(Verdict.BROKEN if broken else Verdict.OK, change)


def relative_change(baseline: float, current: float) -> float | None:
    """(current - baseline) / baseline in percent; 0 when both are 0, None on a zero baseline."""
    if baseline == 0:
        return 0.0 if current == 0 else None
    return (current - baseline) / abs(baseline) * 100.0


def parse_rules(sources: list[str] | None) -> list[Rule]:
    """Every rule, in order; RuleError naming the first bad one."""
    return [parse_rule(source) for source in sources or []]


def parse_rule(source: str) -> Rule:
    """Parse `[SELECTOR:]STAT OP CHANGE`; RuleError starting with `--fail-on 'SOURCE': `."""
    try:
        return _parse(source)
    except RuleError as exc:
        raise RuleError(f"--fail-on {source!r}: {exc}") from None


def _parse(source: str) -> Rule:
    text = source.strip()
    if not text:
        raise RuleError("empty rule; write [SELECTOR:]STAT OP CHANGE, such as p(95)>+10%")
    selector, expression = _split_selector(text)
    match = _STAT_OP_CHANGE.match(expression)
    if match is None:
        raise RuleError("no operator; write [SELECTOR:]STAT OP CHANGE, such as p(95)>+10%")
    op = match["op"]
    if op not in ("<", ">"):
        raise RuleError(f"operator {op!r}: use > or < (a regression is a change past the limit)")
    stat = _parse_stat(match["stat"].strip())
    unit, limit = _parse_change(match["change"].strip(), stat)
    tags: TagSet = ()
    if selector is None:
        metric = DEFAULT_SELECTOR.get(stat, DEFAULT_TREND)
    else:
        try:
            metric, tags = parse_metric_selector(selector)
        except ThresholdError as exc:
            raise RuleError(f"selector {selector!r}: {exc}") from None
    return Rule(
        source=source,
        metric=metric,
        tags=tags,
        stat=stat,
        op=op,
        limit=limit,
        unit=unit,
        explicit_selector=selector is not None,
    )


def _split_selector(text: str) -> tuple[str | None, str]:
    """(selector or None, the `STAT OP CHANGE` rest); braces may nest (`{name:GET /x/{id}}`)."""
    brace = text.find("{")
    colon = text.find(":")
    if brace != -1 and (colon == -1 or brace < colon):
        depth = 0
        for index in range(brace, len(text)):
            if text[index] == "{":
                depth += 1
            elif text[index] == "}":
                depth -= 1
                if depth == 0:
                    rest = text[index + 1 :].lstrip()
                    if not rest.startswith(":"):
                        raise RuleError(
                            "a selector must be followed by ':STAT', e.g. "
                            "http_req_duration{name:POST /ed-fi/students}:p(95)>+10%"
                        )
                    return text[: index + 1], rest[1:].strip()
        raise RuleError("unbalanced '{' in the selector: write name{tag:value,...}:STAT")
    if colon == -1:
        return None, text
    name = text[:colon].strip()
    if not METRIC_NAME.match(name):
        raise RuleError(
            f"selector {name!r}: a metric name is letters, digits and _, not starting with a digit"
        )
    return name, text[colon + 1 :].strip()


def _parse_stat(stat: str) -> str:
    if not stat:
        raise RuleError(
            "no stat before the operator; use avg, med, min, max, p(N), rate, rps or count"
        )
    if stat.startswith("p("):
        try:
            pct = float(parse_percentile(stat))
        except ThresholdError as exc:
            raise RuleError(str(exc)) from None
        return "med" if pct == 50 else f"p({pct:g})"
    if stat in TREND_STATS or stat in OTHER_STATS:
        return stat
    hint = ""
    bare = _BARE_PERCENTILE.match(stat)
    if bare is not None:
        hint = f" (did you mean p({bare['pct']})?)"
    elif stat in ("p50", "median"):
        hint = " (did you mean med?)"
    raise RuleError(
        f"unknown stat {stat!r}{hint}; use avg, med, min, max, p(N), rate, rps or count"
    )


def _parse_change(text: str, stat: str) -> tuple[Unit, float]:
    match = _CHANGE.match(text)
    if match is None:
        raise RuleError(
            f"change {text!r}: write a signed number with an optional unit: "
            "+10% (relative), +20ms, +1pp or +5 (absolute)"
        )
    if match["sign"] is None:
        raise RuleError(
            f"change {text!r} needs a sign: +{text} (an increase) or -{text} (a decrease)"
        )
    value = float(match["number"])
    if not math.isfinite(value):  # pragma: no cover - the pattern admits digits only
        raise RuleError(f"change {text!r} is not a finite number")
    if match["sign"] == "-":
        value = -value
    unit_text = match["unit"] or ""
    is_trend = stat in TREND_STATS or stat.startswith("p(")
    if unit_text in ("ms", "s"):
        if not is_trend:
            raise RuleError(f"unit {unit_text!r} applies to trend stats only (not {stat})")
        return Unit.MS, value * 1000.0 if unit_text == "s" else value
    if unit_text == "pp":
        if stat != "rate":
            raise RuleError(f"unit 'pp' (percentage points) applies to rate only (not {stat})")
        return Unit.PP, value / 100.0
    if unit_text == "%":
        return Unit.PERCENT, value
    return Unit.PLAIN, value
