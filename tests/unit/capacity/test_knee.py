"""The judge: knee rules, the generator's own limit, and the verdict over the steps."""

from __future__ import annotations

from dmsload.capacity.figures import Percentiles, StepFigures, StepLoad
from dmsload.capacity.knee import broken_rules, generator_limit, verdict
from dmsload.capacity.options import KneeRules


def _step(
    number: int,
    rate: int,
    achieved: float | None = None,
    p95: float = 20.0,
    p50: float = 18.0,
    errors: float = 0.0,
    cpu: float = 0.2,
    lag: float = 0.5,
) -> StepFigures:
    step = StepFigures(
        load=StepLoad(number, f"step-{number:02d}", rate, 10.0),
        achieved_rate=rate if achieved is None else achieved,
        error_rate=errors,
        duration=Percentiles(p50, p95, p95 * 1.2),
        generator_cpu=cpu,
        start_lag=Percentiles(lag, lag * 2, lag * 3),
    )
    return step


def _judged(*steps: StepFigures, rules: KneeRules | None = None) -> list[StepFigures]:
    previous = None
    for step in steps:
        step.generator_limit = generator_limit(step, 0.9)
        step.broken_rules = broken_rules(step, previous, rules or KneeRules())
        previous = step
    return list(steps)


def test_each_default_rule_breaks_on_its_own() -> None:
    rules = KneeRules()
    previous = _step(1, 100)
    assert broken_rules(_step(2, 200, achieved=189.9), previous, rules)[0].startswith(
        "throughput: achieved 189.9/s is below 95% of the offered 200/s"
    )
    assert broken_rules(_step(2, 200, achieved=190.0), previous, rules) == []
    assert broken_rules(_step(2, 200, p95=30.1), previous, rules) == [
        "p95: 30.10 ms is above 1.5x the previous step's 20.00 ms"
    ]
    assert broken_rules(_step(2, 200, p95=30.0), previous, rules) == []
    assert broken_rules(_step(2, 200, errors=0.0101), previous, rules) == [
        "errors: 1.01% of requests failed, above 1.00%"
    ]
    assert broken_rules(_step(1, 100, p95=500.0), None, rules) == []  # no previous step


def test_rules_can_be_changed_or_turned_off() -> None:
    previous = _step(1, 100)
    off = KneeRules(min_throughput=None, max_p95_growth=None, max_error_rate=None)
    assert broken_rules(_step(2, 200, achieved=10, p95=999, errors=0.5), previous, off) == []
    loose = KneeRules(max_p95_growth=3.0)
    assert broken_rules(_step(2, 200, p95=59.0), previous, loose) == []
    assert broken_rules(_step(2, 200, p95=61.0), previous, loose)[0].startswith("p95:")


def test_the_generator_is_the_limit_by_cpu_or_by_late_starts() -> None:
    assert generator_limit(_step(1, 100, cpu=0.95), 0.9) == (
        "dmsload's event loop used 95% of a core (limit 90%)"
    )
    late = generator_limit(_step(1, 100, p50=1.0, lag=4.0), 0.9)
    assert late is not None and late.startswith("iterations started 4.00 ms late (median)")
    # timer resolution alone never counts, even against a sub-millisecond target
    assert generator_limit(_step(1, 100, p50=0.3, lag=1.5), 0.9) is None
    assert generator_limit(_step(1, 100, p50=20.0, lag=15.0), 0.9) is None


def test_knee_is_the_last_good_step_and_names_the_rule() -> None:
    steps = _judged(_step(1, 100), _step(2, 150), _step(3, 200, achieved=170))
    result = verdict(steps, completed=True)
    assert (result.found, result.rate, result.reason) == (True, 150, "knee")
    assert result.text.startswith("knee at 150/s: the next step (200/s) broke throughput:")
    assert result.step is steps[2]
    assert result.to_json()["stopped_at"]["offered_rate"] == 200


def test_generator_limit_wins_over_any_rule() -> None:
    steps = _judged(_step(1, 100), _step(2, 150, achieved=100, cpu=0.99))
    result = verdict(steps, completed=True)
    assert (result.found, result.rate, result.reason) == (False, None, "generator")
    assert result.text.startswith("not found: the generator was the limit at 150/s")
    assert result.text.endswith("the target kept up to 100/s")


def test_no_knee_when_the_first_step_breaks_or_no_step_breaks() -> None:
    first = verdict(_judged(_step(1, 100, errors=0.5)), completed=True)
    assert (first.found, first.reason) == (False, "first-step")
    assert "start lower" in first.text
    top = verdict(_judged(_step(1, 100), _step(2, 150)), completed=True)
    assert (top.found, top.reason) == (False, "max-rate")
    assert "up to 150/s" in top.text
    cut = verdict(_judged(_step(1, 100)), completed=False)
    assert (cut.found, cut.reason) == (False, "interrupted")
    assert verdict([], completed=True).reason == "no-steps"


def test_the_p95_rule_ignores_millisecond_noise() -> None:
    previous = _step(1, 100, p95=4.0)
    assert broken_rules(_step(2, 200, p95=9.0), previous, KneeRules()) == []
    assert broken_rules(_step(2, 200, p95=14.0), previous, KneeRules())[0].startswith("p95:")
    strict = KneeRules(min_p95_rise_ms=0.0)
    assert broken_rules(_step(2, 200, p95=9.0), previous, strict)[0].startswith("p95:")
