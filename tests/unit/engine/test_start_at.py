"""`--start-at` parsing: RFC 3339 with an offset, or Unix seconds."""

from datetime import UTC, datetime

import pytest

from dmsload.scale_options import parse_start_at


def test_rfc3339_and_unix_seconds_name_the_same_instant() -> None:
    instant = datetime(2026, 12, 1, 20, 0, 0, 500_000, tzinfo=UTC).timestamp()
    assert parse_start_at("2026-12-01T20:00:00.5Z") == instant
    assert parse_start_at("2026-12-01T21:00:00.5+01:00") == instant
    assert parse_start_at(f"{instant}") == instant
    assert parse_start_at(" 1796155200 ") == 1796155200.0


@pytest.mark.parametrize("text", ["2026-12-01T20:00:00", "tomorrow", "", "20:00"])
def test_unreadable_or_ambiguous_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_start_at(text)
