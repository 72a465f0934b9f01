"""The capacity search's options: step rules, percentages, the rate schedule, VU pools."""

from __future__ import annotations

import pytest

from dmsload.capacity.options import (
    CapacityError,
    CapacityOptions,
    KneeRules,
    StepRule,
    parse_factor,
    parse_fraction,
)

S = 1_000_000_000


def test_step_rules_add_or_multiply() -> None:
    assert StepRule.parse("+50") == StepRule("add", 50)
    assert StepRule.parse("x1.5") == StepRule("multiply", 1.5)
    assert StepRule.parse("*2").text() == "x2"
    assert StepRule.parse("+50").next_rate(100) == 150
    assert StepRule.parse("x1.5").next_rate(100) == 150
    assert StepRule.parse("x1.01").next_rate(10) == 11  # always at least one more


@pytest.mark.parametrize("text", ["50", "+0", "x1", "x0.5", "-5", "+", "abc"])
def test_bad_step_names_the_flag_and_value(text: str) -> None:
    with pytest.raises(CapacityError, match=r"^--step: .*" + repr(text).replace("+", r"\+")):
        StepRule.parse(text)


def test_percentages_factors_and_off() -> None:
    assert parse_fraction("--knee-throughput", "95%") == pytest.approx(0.95)
    assert parse_fraction("--knee-errors", "0.01") == pytest.approx(0.01)
    assert parse_fraction("--knee-errors", "off", allow_off=True) is None
    assert parse_factor("--knee-p95", "1.5x") == 1.5
    assert parse_factor("--knee-p95", "OFF") is None
    with pytest.raises(CapacityError, match="--knee-errors: expected a percentage"):
        parse_fraction("--knee-errors", "lots", allow_off=True)
    with pytest.raises(CapacityError, match="--knee-p95: must be more than 1"):
        parse_factor("--knee-p95", "0.9")
    with pytest.raises(CapacityError, match="--soak-at"):
        parse_fraction("--soak-at", "off")


def _options(**changes: object) -> CapacityOptions:
    base: dict[str, object] = {
        "start_rate": 100,
        "step": StepRule("add", 50),
        "step_duration_ns": 10 * S,
    }
    return CapacityOptions(**{**base, **changes})  # type: ignore[arg-type]


def test_rates_stop_at_max_rate_including_it() -> None:
    assert _options(max_rate=300).rates() == [100, 150, 200, 250, 300]
    assert _options(max_rate=320).rates() == [100, 150, 200, 250, 300, 320]
    assert _options(step=StepRule("multiply", 2), max_rate=1000).rates() == [
        100,
        200,
        400,
        800,
        1000,
    ]


def test_rates_are_bounded_without_max_rate() -> None:
    assert len(_options(max_steps=7).rates()) == 7
    assert len(_options().rates()) == 30


def test_vu_pool_grows_with_the_rate_and_honours_max_vus() -> None:
    assert _options().vus_for(400) == (40, 400)
    assert _options().vus_for(5) == (2, 10)
    assert _options(max_vus=50).vus_for(1000) == (50, 50)


def test_problems_name_each_option() -> None:
    bad = _options(start_rate=0, max_rate=-1, step_duration_ns=S // 2, soak_fraction=1.5)
    problems = bad.problems()
    assert [p.split(":")[0] for p in problems] == [
        "--start",
        "--max-rate",
        "--step-duration",
        "--soak-at",
    ]
    assert _options(rules=KneeRules(min_throughput=1.2)).problems() == [
        "--knee-throughput: must be at most 100% of the offered rate"
    ]
    assert _options().problems() == []


def test_the_default_vu_ceiling_is_bounded() -> None:
    assert _options().vus_for(1_000_000) == (5000, 5000)
    assert _options(max_vus=20_000).vus_for(1_000_000) == (20_000, 20_000)
