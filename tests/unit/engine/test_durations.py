"""k6 duration strings."""

import pytest

from dmsload.durations import DurationError, format_duration, parse_duration_ns

S = 1_000_000_000


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("90s", 90 * S),
        ("1h30m", 5400 * S),
        ("1m30s", 90 * S),
        ("500ms", S // 2),
        ("1.5s", 3 * S // 2),
        ("250us", 250_000),
        ("250µs", 250_000),
        ("0", 0),
        ("0s", 0),
        ("2d", 2 * 86400 * S),
        ("1h0m0.5s", 3600 * S + S // 2),
    ],
)
def test_parses_k6_durations(text: str, ns: int) -> None:
    assert parse_duration_ns(text) == ns


@pytest.mark.parametrize("text", ["", "10", "abc", "10x", "s", "1m30", "-5s", "1.2.3s"])
def test_rejects_bad_durations(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration_ns(text)


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (4 * S, "4s"),
        (90 * S, "1m30s"),
        (5400 * S, "1h30m0s"),
        (S // 4, "250ms"),
        (3 * S // 2, "1.5s"),
    ],
)
def test_formats_like_k6(ns: int, text: str) -> None:
    assert format_duration(ns) == text
