"""What `dmsload capacity` is asked to do: the step schedule, the knee rules, the soak."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

DEFAULT_MAX_STEPS = 30
"""Without --max-rate, the search stops after this many steps."""
DEFAULT_VU_CEILING = 5000
"""Without --max-vus, no step starts more VUs than this (one VU per iteration a second below)."""

_STEP = re.compile(r"^\s*([+x*])\s*([0-9]+(?:\.[0-9]+)?)\s*$")
_PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")
_OFF = frozenset({"off", "none", "no"})


class CapacityError(ValueError):
    """A capacity option that makes no sense; the message names the option and value."""


@dataclass(frozen=True)
class StepRule:
    """How the offered rate grows from one step to the next: `+N` adds, `xF` multiplies."""

    kind: str
    amount: float

    @classmethod
    def parse(cls, text: str) -> StepRule:
        """`+50` or `x1.5` (`*1.5` too); raise CapacityError otherwise."""
        match = _STEP.match(text)
        if match is None:
            raise CapacityError(f"--step: expected +N or xF, e.g. +50 or x1.5 (got {text!r})")
        sign, amount = match.group(1), float(match.group(2))
        if sign == "+":
            if amount < 1:
                raise CapacityError(f"--step: +N must add at least 1/s (got {text!r})")
            return cls("add", amount)
        if amount <= 1:
            raise CapacityError(f"--step: xF must multiply by more than 1 (got {text!r})")
        return cls("multiply", amount)

    def next_rate(self, rate: int) -> int:
        """The step after `rate`, in whole iterations per second, always at least one more."""
        grown = rate + self.amount if self.kind == "add" else rate * self.amount
        return max(rate + 1, round(grown))

    def text(self) -> str:
        """As given on the command line."""
        return f"+{self.amount:g}" if self.kind == "add" else f"x{self.amount:g}"


def parse_fraction(option: str, text: str, *, allow_off: bool = False) -> float | None:
    """`95%` (or `0.95`) as 0.95; `off` as None where allowed; raise CapacityError otherwise."""
    if allow_off and text.strip().lower() in _OFF:
        return None
    match = _PERCENT.match(text)
    try:
        value = float(match.group(1)) / 100 if match else float(text)
    except ValueError:
        hint = ", or off" if allow_off else ""
        raise CapacityError(
            f"{option}: expected a percentage such as 95%{hint} (got {text!r})"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise CapacityError(f"{option}: must be more than 0 (got {text!r})")
    return value


def parse_factor(option: str, text: str) -> float | None:
    """`1.5` or `1.5x` as 1.5; `off` as None; raise CapacityError otherwise."""
    if text.strip().lower() in _OFF:
        return None
    try:
        value = float(text.strip().lower().removesuffix("x"))
    except ValueError:
        raise CapacityError(
            f"{option}: expected a factor such as 1.5, or off (got {text!r})"
        ) from None
    if not math.isfinite(value) or value <= 1:
        raise CapacityError(f"{option}: must be more than 1 (got {text!r})")
    return value


@dataclass(frozen=True)
class KneeRules:
    """The performance plan's knee: each rule can be changed or turned off (None)."""

    min_throughput: float | None = 0.95
    """A step whose achieved rate is below this fraction of its offered rate is past the knee."""
    max_p95_growth: float | None = 1.5
    """A step whose p95 is above this multiple of the previous step's is past the knee."""
    max_error_rate: float | None = 0.01
    """A step whose error rate is above this is past the knee."""
    min_p95_rise_ms: float = 10.0
    """The p95 rule also needs p95 to rise by at least this much: at a few milliseconds,
    +50% is scheduling noise, not a knee."""

    def to_json(self) -> dict[str, float | None]:
        """The rules as the summary JSON shows them."""
        return {
            "min_throughput_ratio": self.min_throughput,
            "max_p95_growth": self.max_p95_growth,
            "min_p95_rise_ms": self.min_p95_rise_ms,
            "max_error_rate": self.max_error_rate,
        }


@dataclass(frozen=True)
class CapacityOptions:
    """One capacity search: steps, rules, the generator's own limit, and the soak after it."""

    start_rate: int
    step: StepRule
    step_duration_ns: int
    warmup_ns: int = 0
    max_rate: int | None = None
    max_steps: int = DEFAULT_MAX_STEPS
    rules: KneeRules = field(default_factory=KneeRules)
    generator_cpu_limit: float = 0.9
    """The generator is the limit when its event loop used this fraction of one core."""
    max_vus: int | None = None
    """The VU ceiling of every step; None: one VU per iteration a second, 10 to 5,000."""
    soak_ns: int = 0
    soak_fraction: float = 0.7

    def problems(self) -> list[str]:
        """Every problem, one line each, naming the option."""
        out: list[str] = []
        if self.start_rate < 1:
            out.append(f"--start: must be at least 1 iteration/s (got {self.start_rate})")
        if self.max_rate is not None and self.max_rate < self.start_rate:
            out.append(
                f"--max-rate: must be at least --start {self.start_rate} (got {self.max_rate})"
            )
        if self.step_duration_ns < 1_000_000_000:
            out.append("--step-duration: must be at least 1s")
        if self.max_steps < 1:
            out.append(f"--max-steps: must be at least 1 (got {self.max_steps})")
        if self.max_vus is not None and self.max_vus < 1:
            out.append(f"--max-vus: must be at least 1 (got {self.max_vus})")
        if not 0 < self.generator_cpu_limit <= 1:
            out.append("--generator-cpu: must be between 0% and 100%")
        if not 0 < self.soak_fraction <= 1:
            out.append("--soak-at: must be between 0% and 100% of the knee")
        if self.rules.min_throughput is not None and self.rules.min_throughput > 1:
            out.append("--knee-throughput: must be at most 100% of the offered rate")
        if self.rules.max_error_rate is not None and self.rules.max_error_rate >= 1:
            out.append("--knee-errors: must be below 100%")
        return out

    def rates(self) -> list[int]:
        """The offered rate of every step, in order, up to --max-rate and --max-steps."""
        rates = [self.start_rate]
        while len(rates) < self.max_steps:
            following = self.step.next_rate(rates[-1])
            if self.max_rate is not None and following > self.max_rate:
                if rates[-1] < self.max_rate:
                    rates.append(self.max_rate)
                break
            rates.append(following)
        return rates

    def vus_for(self, rate: int) -> tuple[int, int]:
        """(pre-allocated, max) VUs of a step at `rate` per second."""
        default = max(10, min(rate, DEFAULT_VU_CEILING))
        ceiling = self.max_vus if self.max_vus is not None else default
        return min(ceiling, max(2, math.ceil(rate / 10))), ceiling
