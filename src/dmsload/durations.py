"""k6-style duration strings ("90s", "1h30m", "500ms") to and from integer nanoseconds."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal

NS_PER_S = 1_000_000_000
MAX_DURATION_NS = 2**63 - 1
"""Go's (and so k6's) longest duration, about 292 years."""

_UNITS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": NS_PER_S,
    "m": 60 * NS_PER_S,
    "h": 3600 * NS_PER_S,
    "d": 86400 * NS_PER_S,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)")


class DurationError(ValueError):
    """A duration string that k6 would not accept."""


def parse_duration_ns(text: str) -> int:
    """Parse a k6/Go duration such as "1h30m", "1.5s" or "0" into nanoseconds."""
    raw = text.strip()
    if raw in ("0", ""):
        if raw == "":
            raise DurationError('empty duration; use a number with a unit, e.g. "30s"')
        return 0
    pos = 0
    total = Decimal(0)  # exact: a float loses nanoseconds past ~104 days
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        total += Decimal(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(raw) or pos == 0:
        raise DurationError(
            f'invalid duration {text!r}; use a number with a unit, e.g. "30s", "1m30s", "500ms"'
        )
    if not total <= MAX_DURATION_NS:
        raise DurationError(
            f"duration {text!r} is too long; the longest is 2562047h (about 292 years, "
            "as in k6 and Go)"
        )
    return int(total.to_integral_value(ROUND_HALF_EVEN))


def format_duration(ns: int | float) -> str:
    """Format nanoseconds the way k6 prints durations: "1h30m0s", "4s", "1.5s", "250ms"."""
    value = round(ns)
    if value == 0:
        return "0s"
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value < NS_PER_S:
        if value % 1_000_000 == 0:
            return f"{sign}{value // 1_000_000}ms"
        if value >= 1_000_000:
            return f"{sign}{value / 1_000_000:g}ms"
        if value >= 1_000:
            return f"{sign}{value / 1_000:g}µs"
        return f"{sign}{value}ns"
    hours, rest = divmod(value, 3600 * NS_PER_S)
    minutes, rest = divmod(rest, 60 * NS_PER_S)
    seconds = rest / NS_PER_S
    sec_text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    if hours:
        return f"{sign}{hours}h{minutes}m{sec_text}s"
    if minutes:
        return f"{sign}{minutes}m{sec_text}s"
    return f"{sign}{sec_text}s"
