"""The one retry policy of setup and seeding requests: transient failures, jittered backoff.

Setup (`dmsload setup`, discovery, token requests) and every workload's seeding before the
clock starts retry a request that failed transiently: no response at all (a refused or reset
connection, a timeout), 429, or any 5xx. The wait doubles from `base_s` up to `max_backoff_s`,
drawn uniformly from its upper half (so that many seeding lanes do not retry in step); a 429 or
503 that says `Retry-After` is waited out instead (at most `max_retry_after_s`). After
`attempts` tries, or once the next wait would pass `budget_s`, the last failure stands and the
caller reports it. Load requests are never retried: each one is a sample.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
import httpx

from dmsload.http.client import describe_error
from dmsload.http.redact import redact

RETRY_AFTER_STATUSES = frozenset({429, 503})
"""Statuses whose `Retry-After` header is honoured."""

RetryNotice = Callable[[str], None]
"""Told one line per retry (`-v`)."""


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date; None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def is_transient(status: int) -> bool:
    """A failure worth another try: no response (status 0), 429, or any 5xx."""
    return status == 0 or status == 429 or status >= 500


def first_line(body: bytes, limit: int = 200) -> str:
    """The first non-blank line of a response body, at most `limit` characters, redacted."""
    for line in body[: limit * 4].decode("utf-8", "replace").splitlines():
        if line.strip():
            return redact(line.strip())[:limit]
    return ""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a setup or seeding request is retried."""

    attempts: int = 5
    """Tries in all, the first included."""
    base_s: float = 0.25
    max_backoff_s: float = 5.0
    max_retry_after_s: float = 60.0
    budget_s: float = 120.0
    """No retry starts later than this after the first try."""
    rng: random.Random | None = field(default=None, compare=False, repr=False)
    """The jitter's source (tests pin one); None: the `random` module's."""

    def delay_s(self, attempt: int, status: int = 0, retry_after: str | None = None) -> float:
        """The wait before try `attempt + 1`, after try `attempt` (1-based) failed."""
        if status in RETRY_AFTER_STATUSES:
            told = retry_after_seconds(retry_after)
            if told is not None:
                return min(told, self.max_retry_after_s)
        backoff = min(self.max_backoff_s, self.base_s * 2 ** (attempt - 1))
        uniform = self.rng.uniform if self.rng is not None else random.uniform
        return uniform(backoff / 2, backoff)

    def next_delay_s(
        self,
        attempt: int,
        started: float,
        status: int = 0,
        retry_after: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> float | None:
        """The wait before another try after a transient failure, or None: give up."""
        if attempt >= self.attempts:
            return None
        delay = self.delay_s(attempt, status, retry_after)
        if clock() + delay - started > self.budget_s:
            return None
        return delay


SETUP_RETRY = RetryPolicy()
"""The policy every setup and seeding path uses."""


def describe_attempt(status: int, error: str | None, body: bytes) -> str:
    """`500: {"detail": ...}` or `connection refused`: one failed try, for messages."""
    if status == 0:
        return error or "no response"
    line = first_line(body)
    return f"{status}: {line}" if line else str(status)


class RetryingTransport(httpx.AsyncBaseTransport):
    """An httpx transport that retries transient failures by `policy` (setup's clients)."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        policy: RetryPolicy = SETUP_RETRY,
        notice: RetryNotice | None = None,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._notice = notice

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request`, again after each transient failure while the policy allows."""
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._inner.handle_async_request(request)
            except httpx.TransportError as exc:
                delay = self._policy.next_delay_s(attempt, started)
                if delay is None:
                    raise
                what = describe_error(exc)
            else:
                status = response.status_code
                if not is_transient(status):
                    return response
                retry_after = response.headers.get("retry-after")
                delay = self._policy.next_delay_s(attempt, started, status, retry_after)
                if delay is None:
                    return response  # the caller reports the last answer
                body = await response.aread()
                await response.aclose()
                what = describe_attempt(status, None, body)
            if self._notice is not None:
                self._notice(
                    f"dmsload: {request.method} {request.url} failed ({what}); retrying in "
                    f"{delay:.1f} s (try {attempt + 1} of {self._policy.attempts})"
                )
            await anyio.sleep(delay)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()


def retrying_client(
    *,
    verify: bool,
    timeout: float,
    notice: RetryNotice | None = None,
    policy: RetryPolicy = SETUP_RETRY,
) -> httpx.AsyncClient:
    """An httpx client for setup's requests (discovery, tokens, CMS, seeding) that retries
    transient failures by `policy`."""
    inner = httpx.AsyncHTTPTransport(verify=verify)
    return httpx.AsyncClient(
        transport=RetryingTransport(inner, policy, notice), verify=verify, timeout=timeout
    )
