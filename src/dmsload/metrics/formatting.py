"""How metric values read in the summary: k6's units and number styles."""

from __future__ import annotations

from dmsload.metrics.kinds import MetricKind, ValueType


def fixed_no_trailing_zeros(value: float, digits: int) -> str:
    """`value` with at most `digits` decimals, no trailing zeros (k6's toFixedNoTrailingZeros)."""
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _fixed_digits(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def format_ms(ms: float, trim_zeros: bool = False) -> str:
    """A duration given in milliseconds, as k6 prints it: 512.3µs, 12.34ms, 1.52s, 2m3.4s;
    `trim_zeros` drops trailing zeros, as k6's legacy summary does (580.4µs, 8ms)."""
    fixed = fixed_no_trailing_zeros if trim_zeros else _fixed_digits
    if ms < 0:
        return "-" + format_ms(-ms, trim_zeros)
    if ms == 0:
        return "0s"
    if ms < 1:
        return f"{fixed(ms * 1000, 2)}µs"
    if ms < 1000:
        return f"{fixed(ms, 2)}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{fixed(seconds, 2)}s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)}m{fixed(rest, 1)}s"
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}h{minutes}m{fixed(rest, 0)}s"


def format_bytes(count: float) -> str:
    """A byte count in SI units as k6 prints data: 950 B, 26 kB, 3.1 MB."""
    units = ("B", "kB", "MB", "GB", "TB")
    value = float(count)
    unit = 0
    while abs(value) >= 1000 and unit < len(units) - 1:
        value /= 1000
        unit += 1
    if unit == 0:
        return f"{value:.0f} {units[0]}"
    return f"{value:.1f} {units[unit]}" if value < 10 else f"{value:.0f} {units[unit]}"


def format_number(value: float) -> str:
    """A plain number: integers without decimals, others with up to 6 significant digits."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def format_value(value: float, contains: ValueType) -> str:
    """A value of a metric by what it contains (ms for time, bytes for data)."""
    if contains is ValueType.TIME:
        return format_ms(value)
    if contains is ValueType.DATA:
        return format_bytes(value)
    return format_number(value)


def format_percent(share: float) -> str:
    """A share between 0 and 1 as a percentage with two decimals."""
    return f"{share * 100:.2f}%"


def format_aggregation(
    kind: MetricKind, contains: ValueType, aggregation: str, value: float
) -> str:
    """A threshold's observed value in its metric's units (`p(95)=148.21ms`, `rate=0.50%`)."""
    if kind is MetricKind.RATE:
        return format_percent(value)
    if kind is MetricKind.COUNTER and aggregation == "rate":
        per_second = format_bytes(value) if contains is ValueType.DATA else f"{value:.6g}"
        return f"{per_second}/s"
    if kind is MetricKind.TREND and aggregation == "count":
        return format_number(value)
    return format_value(value, contains)
