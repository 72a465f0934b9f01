"""The judge: which knee rules a step broke, whether the generator was the limit, the verdict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dmsload.capacity.figures import StepFigures
from dmsload.capacity.options import KneeRules

LAG_FLOOR_MS = 2.0
"""The lag probe's timer wake-ups are late by up to 1 ms by design (uvloop's timers tick in
whole milliseconds); a median start lag under this says nothing about the generator."""


def broken_rules(step: StepFigures, previous: StepFigures | None, rules: KneeRules) -> list[str]:
    """Every knee rule this step broke, one line each, starting with the rule's name."""
    out: list[str] = []
    offered = step.load.offered_rate
    if rules.min_throughput is not None and step.achieved_rate < rules.min_throughput * offered:
        out.append(
            f"throughput: achieved {step.achieved_rate:,.1f}/s is below "
            f"{rules.min_throughput:.0%} of the offered {offered:,}/s"
        )
    if (
        rules.max_p95_growth is not None
        and previous is not None
        and previous.duration.p95 > 0
        and step.duration.p95 > rules.max_p95_growth * previous.duration.p95
        and step.duration.p95 - previous.duration.p95 >= rules.min_p95_rise_ms
    ):
        out.append(
            f"p95: {step.duration.p95:,.2f} ms is above {rules.max_p95_growth:g}x the previous "
            f"step's {previous.duration.p95:,.2f} ms"
        )
    if rules.max_error_rate is not None and step.error_rate > rules.max_error_rate:
        out.append(
            f"errors: {step.error_rate:.2%} of requests failed, above {rules.max_error_rate:.2%}"
        )
    return out


def generator_limit(step: StepFigures, cpu_limit: float) -> str | None:
    """Why dmsload itself was the limit at this step: its CPU, or iterations starting late."""
    if step.generator_cpu >= cpu_limit:
        return (
            f"dmsload's event loop used {step.generator_cpu:.0%} of a core (limit {cpu_limit:.0%})"
        )
    lag = step.start_lag.p50
    if lag > LAG_FLOOR_MS and lag > step.duration.p50:
        return (
            f"iterations started {lag:,.2f} ms late (median), more than the step's "
            f"p50 of {step.duration.p50:,.2f} ms"
        )
    return None


@dataclass(frozen=True)
class Verdict:
    """What the search found: the knee, or why there is none."""

    found: bool
    rate: int | None
    reason: str
    """`knee`, `generator`, `first-step`, `max-rate`, `interrupted` or `no-steps`."""
    text: str
    step: StepFigures | None = None
    """The step that ended the search (it broke a rule, or the generator was the limit)."""

    def to_json(self) -> dict[str, Any]:
        """The summary JSON's `capacity.knee`."""
        stopped = self.step
        return {
            "found": self.found,
            "rate": self.rate,
            "reason": self.reason,
            "text": self.text,
            "stopped_at": None
            if stopped is None
            else {
                "step": stopped.load.number,
                "offered_rate": stopped.load.offered_rate,
                "broken_rules": list(stopped.broken_rules),
                "generator_limit": stopped.generator_limit,
            },
        }


def verdict(steps: Sequence[StepFigures], completed: bool) -> Verdict:
    """The verdict over the steps judged so far; `completed`: the search was not cut short."""
    good = [s for s in steps if s.ok]
    last_good = good[-1].load.offered_rate if good else None
    for step in steps:
        if step.generator_limit is not None:
            kept = f"; the target kept up to {last_good:,}/s" if last_good is not None else ""
            return Verdict(
                False,
                None,
                "generator",
                f"not found: the generator was the limit at {step.load.offered_rate:,}/s "
                f"({step.generator_limit}){kept}",
                step,
            )
        if step.broken_rules:
            if last_good is None:
                return Verdict(
                    False,
                    None,
                    "first-step",
                    f"not found: the first step ({step.load.offered_rate:,}/s) is already past "
                    f"the knee ({step.broken_rules[0]}); start lower",
                    step,
                )
            return Verdict(
                True,
                last_good,
                "knee",
                f"knee at {last_good:,}/s: the next step ({step.load.offered_rate:,}/s) broke "
                f"{step.broken_rules[0]}",
                step,
            )
    if not steps:
        return Verdict(False, None, "no-steps", "not found: no step ran")
    if not completed:
        return Verdict(
            False,
            None,
            "interrupted",
            f"not found: the search was cut short after {last_good:,}/s"
            if last_good is not None
            else "not found: the search was cut short",
        )
    return Verdict(
        False,
        None,
        "max-rate",
        f"not found: no rule broke up to {last_good:,}/s (the highest step); the knee is higher",
    )
