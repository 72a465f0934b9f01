"""The comparison of two summaries: the rows to show, the rules' verdicts, the threshold changes.

Pure: it reads two `LoadedSummary` objects (their rebuilt registries and documents) and
returns a `Comparison`; rendering is render.py's job, files and exit codes command.py's.

Which series a row aggregates:
- a whole metric (`http_req_duration`) is every series, as the run's summary prints it (so the
  numbers match the summary and its thresholds, setup requests included);
- a sub-metric (`http_req_duration{name:POST /ed-fi/students}`) leaves out the pre-load setup
  requests (tag scenario=setup) unless it filters on scenario itself: compare is about the load;
- a wildcard value (`{name:*}`) expands to the values both runs have, never scenario=setup.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from dmsload.compare.rules import WILDCARD, Judgement, Rule, RuleError, Unit, Verdict
from dmsload.compare.rules import relative_change as _relative_change
from dmsload.metrics.kinds import MetricKind, TagSet, ValueType, is_setup, tags_match
from dmsload.metrics.registry import MetricView
from dmsload.outputs.summary_json import LoadedSummary

TREND_ROW_STATS = ("avg", "med", "p(95)", "p(99)")
"""The stats of every trend row (k6's `med` is p50)."""
HEADLINE_ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("http_req_duration", TREND_ROW_STATS),
    ("http_req_failed", ("rate",)),
    ("http_reqs", ("rps",)),
    ("checks", ("rate",)),
    ("dropped_iterations", ("count",)),
)
"""The overall rows every comparison starts with, in this order, when either run has them."""
_HTTP_TIMINGS = frozenset(
    {
        "http_req_blocked",
        "http_req_connecting",
        "http_req_tls_handshaking",
        "http_req_sending",
        "http_req_waiting",
        "http_req_receiving",
    }
)
"""Trends left out of the default rows (k6's compact summary leaves them out too)."""
_STATS_BY_KIND: dict[MetricKind, tuple[str, ...]] = {
    MetricKind.TREND: ("avg", "med", "min", "max", "p(N)", "count"),
    MetricKind.COUNTER: ("count", "rps"),
    MetricKind.RATE: ("rate",),
    MetricKind.GAUGE: (),
}


class Section(StrEnum):
    """Where a row is shown."""

    OVERALL = "overall"
    BY_NAME = "by name"
    RULES = "rules"
    """Rows only a `--fail-on` rule asked for."""


@dataclass
class Row:
    """One stat of one (sub-)metric in both runs."""

    section: Section
    label: str
    """The heading it is shown under: the metric (overall), the request name (by name)."""
    metric: str
    tags: TagSet
    stat: str
    kind: MetricKind
    contains: ValueType
    baseline: float | None
    current: float | None
    broken: list[str] = field(default_factory=list)
    """The sources of the `--fail-on` rules this row broke."""

    @property
    def selector(self) -> str:
        """The (sub-)metric in k6's syntax."""
        return selector_text(self.metric, self.tags)

    @property
    def delta(self) -> float | None:
        """current - baseline in the stat's unit; None when a side has no data."""
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def change_pct(self) -> float | None:
        """The relative change in percent; None when a side has no data or the baseline is 0."""
        if self.baseline is None or self.current is None:
            return None
        return _relative_change(self.baseline, self.current)


@dataclass(frozen=True)
class RuleTarget:
    """One rule applied to one row."""

    row: Row
    judgement: Judgement


@dataclass
class RuleResult:
    """A rule and its verdict on every row it matched (none: the metric is in neither run)."""

    rule: Rule
    targets: list[RuleTarget]

    @property
    def broken(self) -> list[RuleTarget]:
        """The targets where the rule found a regression."""
        return [t for t in self.targets if t.judgement.verdict is Verdict.BROKEN]

    @property
    def compared(self) -> list[RuleTarget]:
        """The targets with a verdict (ok or broken)."""
        return [t for t in self.targets if t.judgement.verdict in (Verdict.OK, Verdict.BROKEN)]

    @property
    def matched(self) -> bool:
        """True when the rule found its (sub-)metric with samples in at least one run."""
        return any(t.row.baseline is not None or t.row.current is not None for t in self.targets)


@dataclass(frozen=True)
class ThresholdChange:
    """A threshold whose verdict differs between the runs (`absent`: not in that run)."""

    metric: str
    expression: str
    baseline: str
    current: str

    @property
    def newly_failed(self) -> bool:
        """True when it failed in the current run but not in the baseline."""
        return self.current == "failed" and self.baseline != "failed"


@dataclass
class Comparison:
    """Two summaries side by side."""

    name: str
    baseline: LoadedSummary
    current: LoadedSummary
    rows: list[Row]
    thresholds: list[ThresholdChange]
    rules: list[RuleResult]

    @property
    def regressions(self) -> int:
        """How many (rule, row) pairs broke."""
        return sum(len(result.broken) for result in self.rules)


@dataclass
class Report:
    """Everything one `dmsload compare` found: a comparison per paired profile."""

    baseline: Path
    current: Path
    comparisons: list[Comparison]
    only_in_baseline: list[str] = field(default_factory=list)
    """Suite profiles the current run does not have (directory mode)."""
    only_in_current: list[str] = field(default_factory=list)
    directories: bool = False

    @property
    def regressions(self) -> int:
        """How many (rule, row) pairs broke, over every profile."""
        return sum(comparison.regressions for comparison in self.comparisons)


def selector_text(metric: str, tags: TagSet) -> str:
    """`metric` or `metric{key:value,...}`."""
    if not tags:
        return metric
    return metric + "{" + ",".join(f"{key}:{value}" for key, value in tags) + "}"


def compare_summaries(
    baseline: LoadedSummary,
    current: LoadedSummary,
    rules: Sequence[Rule] = (),
    name: str | None = None,
) -> Comparison:
    """The default rows, then each rule judged (adding rows for what they name beyond them).

    `name` titles the comparison (default: the profiles' names). RuleError when a rule's stat
    or unit does not fit the metric it names.
    """
    rows = default_rows(baseline, current)
    index = {(row.metric, row.tags, row.stat): row for row in rows}
    results = []
    for rule in rules:
        targets = []
        for row in _rule_rows(rule, baseline, current, index, rows):
            judgement = rule.judge(row.baseline, row.current)
            if judgement.verdict is Verdict.BROKEN:
                row.broken.append(rule.source)
            targets.append(RuleTarget(row, judgement))
        results.append(RuleResult(rule, targets))
    if name is None:
        same = baseline.name == current.name
        name = baseline.name if same else f"{baseline.name} → {current.name}"
    return Comparison(
        name=name,
        baseline=baseline,
        current=current,
        rows=rows,
        thresholds=threshold_changes(baseline.document, current.document),
        rules=results,
    )


# ---- values ------------------------------------------------------------------------------


def select(summary: LoadedSummary, metric: str, tags: TagSet) -> MetricView | None:
    """The (sub-)metric's view; a sub-metric leaves out setup unless it filters on scenario."""
    skip_setup = bool(tags) and all(key != "scenario" for key, _ in tags)
    return summary.registry.view(metric, tags, keep=_is_load if skip_setup else None)


def stat_value(summary: LoadedSummary, metric: str, tags: TagSet, stat: str) -> float | None:
    """One stat of a (sub-)metric (ms for time trends, 0..1 for rates); None without samples."""
    view = select(summary, metric, tags)
    if view is None or view.count == 0:
        return None
    if stat == "rps":
        elapsed = summary.elapsed_s
        return view.counter_total() / elapsed if elapsed > 0 else None
    return view.value(stat, summary.elapsed_s)


def _is_load(tags: TagSet) -> bool:
    return not is_setup(tags)


def _kind_of(metric: str, sides: Iterable[LoadedSummary]) -> tuple[MetricKind, ValueType] | None:
    for side in sides:
        found = side.registry.get(metric)
        if found is not None:
            return found.kind, found.contains
    return None


def _row(
    section: Section,
    label: str,
    metric: str,
    tags: TagSet,
    stat: str,
    baseline: LoadedSummary,
    current: LoadedSummary,
) -> Row | None:
    kind = _kind_of(metric, (baseline, current))
    if kind is None:
        return None
    return Row(
        section=section,
        label=label,
        metric=metric,
        tags=tags,
        stat=stat,
        kind=kind[0],
        contains=kind[1],
        baseline=stat_value(baseline, metric, tags, stat),
        current=stat_value(current, metric, tags, stat),
    )


# ---- default rows ------------------------------------------------------------------------


def default_rows(baseline: LoadedSummary, current: LoadedSummary) -> list[Row]:
    """Headline metrics, the other trends, then each request name's duration, errors and rps."""
    rows: list[Row] = []
    headline = {metric for metric, _ in HEADLINE_ROWS}
    plan: list[tuple[str, tuple[str, ...]]] = list(HEADLINE_ROWS)
    for metric in sorted(_trend_names(baseline) | _trend_names(current)):
        if metric not in headline and metric not in _HTTP_TIMINGS:
            plan.append((metric, TREND_ROW_STATS))
    for metric, stats in plan:
        for stat in stats:
            row = _row(Section.OVERALL, metric, metric, (), stat, baseline, current)
            if row is not None and (row.baseline is not None or row.current is not None):
                rows.append(row)
    for name in sorted(request_names(baseline) | request_names(current)):
        tags: TagSet = (("name", name),)
        for metric, stats in (
            ("http_req_duration", TREND_ROW_STATS),
            ("http_req_failed", ("rate",)),
            ("http_reqs", ("rps",)),
        ):
            for stat in stats:
                row = _row(Section.BY_NAME, name, metric, tags, stat, baseline, current)
                if row is not None and (row.baseline is not None or row.current is not None):
                    rows.append(row)
    return rows


def _trend_names(summary: LoadedSummary) -> set[str]:
    return {
        metric.name
        for metric in summary.registry.metrics()
        if metric.kind is MetricKind.TREND and metric.series
    }


def request_names(summary: LoadedSummary) -> set[str]:
    """Every request name the load (not the setup) sent."""
    found = summary.registry.get("http_reqs")
    if found is None:
        return set()
    return {
        value
        for tags, _ in found.series.items()
        if not is_setup(tags)
        for key, value in tags
        if key == "name"
    }


# ---- rules -------------------------------------------------------------------------------


def _rule_rows(
    rule: Rule,
    baseline: LoadedSummary,
    current: LoadedSummary,
    index: dict[tuple[str, TagSet, str], Row],
    rows: list[Row],
) -> list[Row]:
    """The rows a rule applies to: existing ones where they match, else new RULES rows."""
    kind = _kind_of(rule.metric, (baseline, current))
    if kind is None:
        return []
    _check_fits(rule, *kind)
    found = []
    for tags in expand_tags(rule, baseline, current):
        key = (rule.metric, tags, rule.stat)
        row = index.get(key)
        if row is None:
            label = selector_text(rule.metric, tags)
            made = _row(Section.RULES, label, rule.metric, tags, rule.stat, baseline, current)
            assert made is not None  # the metric exists: _kind_of found it
            row = index[key] = made
            rows.append(row)
        found.append(row)
    return found


def _check_fits(rule: Rule, kind: MetricKind, contains: ValueType) -> None:
    family = "p(N)" if rule.stat.startswith("p(") else rule.stat
    allowed = _STATS_BY_KIND[kind]
    if family not in allowed:
        use = f"use {', '.join(allowed)}" if allowed else "gauges are not compared"
        raise RuleError(
            f"--fail-on {rule.source!r}: {rule.stat} does not apply to {kind.value} metric "
            f"{rule.metric}; {use}"
        )
    if rule.unit is Unit.MS and contains is not ValueType.TIME:
        raise RuleError(
            f"--fail-on {rule.source!r}: {rule.metric} does not measure time; "
            "drop the unit (absolute) or use % (relative)"
        )


def expand_tags(rule: Rule, baseline: LoadedSummary, current: LoadedSummary) -> list[TagSet]:
    """The concrete tag filters of a rule: itself, or one per wildcard value both runs have."""
    if not rule.has_wildcard:
        return [rule.tags]
    wild = [key for key, value in rule.tags if value == WILDCARD]
    fixed: TagSet = tuple((key, value) for key, value in rule.tags if value != WILDCARD)
    common = _wildcard_values(baseline, rule.metric, fixed, wild) & _wildcard_values(
        current, rule.metric, fixed, wild
    )
    expanded = []
    for values in sorted(common):
        tags = dict(fixed)
        tags.update(zip(wild, values, strict=True))
        expanded.append(tuple(sorted(tags.items())))
    return expanded


def _wildcard_values(
    summary: LoadedSummary, metric: str, fixed: TagSet, wild: Sequence[str]
) -> set[tuple[str, ...]]:
    found = summary.registry.get(metric)
    if found is None:
        return set()
    values = set()
    for tags, sink in found.series.items():
        if sink.samples == 0 or is_setup(tags) or not tags_match(tags, fixed):
            continue
        have = dict(tags)
        if all(key in have for key in wild):
            values.add(tuple(have[key] for key in wild))
    return values


def check_rules_match(report: Report, rules: Sequence[Rule]) -> None:
    """RuleError naming the first rule that matched nothing in any compared pair: a metric,
    request name or tag value neither run has, or a wildcard with no value both runs have.
    Such a rule judges nothing, so a gate built on it (a typo, say) would pass by mistake."""
    for position, rule in enumerate(rules):
        if any(comparison.rules[position].matched for comparison in report.comparisons):
            continue
        raise RuleError(f"--fail-on {rule.source!r}: {_unmatched_reason(rule, report)}")


def _unmatched_reason(rule: Rule, report: Report) -> str:
    sides = [s for c in report.comparisons for s in (c.baseline, c.current)]
    if not sides:
        return "the inputs have no profile in common, so no rule can be judged"
    runs = "run" if not report.directories else "compared profile"
    if not any(side.registry.get(rule.metric) is not None for side in sides):
        known = sorted({m.name for side in sides for m in side.registry.metrics() if m.series})
        return f"neither {runs} has metric {rule.metric!r}{_did_you_mean(rule.metric, known)}"
    if rule.has_wildcard:
        return (
            f"{selector_text(rule.metric, rule.tags)} matches no series that both "
            f"{runs}s have; nothing would be judged"
        )
    hint = ""
    name = dict(rule.tags).get("name")
    if name is not None:
        names = sorted(set().union(*(request_names(side) for side in sides)))
        hint = _did_you_mean(name, names)
    return f"neither {runs} has samples of {selector_text(rule.metric, rule.tags)}{hint}"


def _did_you_mean(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


# ---- thresholds --------------------------------------------------------------------------


def _verdicts(document: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    verdicts = {}
    for entry in document.get("thresholds") or []:
        ok = entry.get("ok")
        verdict = "no data" if ok is None else ("passed" if ok else "failed")
        verdicts[(str(entry.get("metric")), str(entry.get("expression")))] = verdict
    return verdicts


def threshold_changes(
    baseline: Mapping[str, Any], current: Mapping[str, Any]
) -> list[ThresholdChange]:
    """The thresholds whose verdict differs, in the current run's order then the baseline's."""
    before, after = _verdicts(baseline), _verdicts(current)
    keys = list(after) + [key for key in before if key not in after]
    return [
        ThresholdChange(key[0], key[1], before.get(key, "absent"), after.get(key, "absent"))
        for key in keys
        if before.get(key, "absent") != after.get(key, "absent")
    ]
