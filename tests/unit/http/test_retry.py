"""The setup retry policy: which failures are transient, how long it waits, when it gives up."""

from __future__ import annotations

import random

from dmsload.dms.auth import ASSUMED_LIFETIME_S, sane_lifetime
from dmsload.http.redact import body_excerpt, redact
from dmsload.http.retry import RetryPolicy, describe_attempt, first_line, is_transient


def test_transient_failures_are_no_response_429_and_5xx() -> None:
    assert [
        s for s in (0, 200, 400, 401, 404, 409, 429, 500, 502, 503, 504) if is_transient(s)
    ] == [
        0,
        429,
        500,
        502,
        503,
        504,
    ]


def test_backoff_doubles_with_jitter_in_its_upper_half_and_is_capped() -> None:
    policy = RetryPolicy(base_s=0.25, max_backoff_s=5.0, rng=random.Random(1))
    for attempt, ceiling in [(1, 0.25), (2, 0.5), (3, 1.0), (4, 2.0), (5, 4.0), (6, 5.0), (9, 5.0)]:
        waits = [policy.delay_s(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits), (attempt, min(waits), max(waits))
        assert len(set(waits)) > 100  # jittered, not in step


def test_retry_after_is_honoured_on_429_and_503_only_and_capped() -> None:
    policy = RetryPolicy(max_retry_after_s=60.0, rng=random.Random(2))
    assert policy.delay_s(1, 429, "3") == 3.0
    assert policy.delay_s(1, 503, "120") == 60.0
    assert policy.delay_s(1, 500, "3") <= 0.25  # a 500's Retry-After is not a promise
    assert policy.delay_s(1, 429, "soon") <= 0.25  # unreadable: the backoff


def test_the_policy_gives_up_after_its_attempts_or_its_budget() -> None:
    now = [100.0]
    policy = RetryPolicy(attempts=3, budget_s=10.0, rng=random.Random(3))
    assert policy.next_delay_s(1, 100.0, clock=lambda: now[0]) is not None
    assert policy.next_delay_s(2, 100.0, clock=lambda: now[0]) is not None
    assert policy.next_delay_s(3, 100.0, clock=lambda: now[0]) is None
    now[0] = 108.0
    assert policy.next_delay_s(1, 100.0, 429, "5", clock=lambda: now[0]) is None  # past 10 s


def test_failures_are_described_by_status_and_first_body_line() -> None:
    assert describe_attempt(0, "connection refused", b"") == "connection refused"
    assert describe_attempt(500, None, b"\n  Internal error\nstack trace") == "500: Internal error"
    assert describe_attempt(502, None, b"") == "502"
    assert first_line(b'{"access_token": "abc"}') == '{"access_token": "***"}'


def test_redaction_masks_every_secret_shape() -> None:
    text = (
        '{"access_token":"abc.def","client_secret":"s3","Secret": "x\\"y"} '
        "client_secret=xyz&a=1 Authorization: Bearer eyJhbGciOi.eyJzdWIiOiJ4In0.sig Basic a2V5"
    )
    masked = redact(text)
    for secret in ("abc.def", "s3", 'x\\"y', "xyz", "eyJhbGciOi", "sig", "a2V5"):
        assert secret not in masked, (secret, masked)
    assert "a=1" in masked
    cut = body_excerpt(b'{"detail":"x","access_token":"' + b"A" * 900)
    assert "A" * 4 not in cut and len(cut) <= 200


def test_absurd_token_lifetimes_are_refused() -> None:
    assert sane_lifetime(1800.0) == 1800.0
    for absurd in (None, 0.0, -5.0, 1_764_620_000.0):
        assert sane_lifetime(absurd) is None
    assert ASSUMED_LIFETIME_S == 300.0
