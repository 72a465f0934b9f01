"""Fault injection: latency, errors, 429 rate limiting, connection resets, stalls, token lifetime,
the window in which a new application's key is refused, and a capacity model (a concurrency
limit and a minimum service time).

Which requests they touch (see docs/sandbox.md): the rate limiter covers every DMS route, as
the DMS limiter does (discovery, `/oauth/token`, data), and so does the capacity model;
latency, errors, resets and stalls cover only `/data/...`; the token lifetime covers tokens
issued from then on; the new-key delay covers the token endpoints (DMS `/oauth/token`, CMS
`/connect/token`). Other CMS routes and the `/_sandbox/...` admin routes are never faulted.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

#: z-score of the 99th percentile of the standard normal distribution.
_Z99 = 2.3263478740408408


_INTEGER_SETTINGS = frozenset(
    {"error_status", "rate_limit", "retry_after_s", "token_lifetime_s", "seed", "concurrency_limit"}
)


class FaultError(ValueError):
    """Fault settings that make no sense; the message names the setting."""


@dataclass(frozen=True)
class FaultSettings:
    """The fault knobs, all off by default. Times are milliseconds or seconds as named."""

    latency_ms: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p99_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 500
    retry_after_s: int = 30
    rate_limit: int = 0
    rate_limit_window_s: float = 1.0
    reset_rate: float = 0.0
    stall_every_s: float = 0.0
    stall_for_s: float = 0.0
    token_lifetime_s: int | None = None
    #: A key of an application created less than this many seconds ago gets 401 invalid client
    #: at the token endpoints, as while OpenIddict catches up (contract §4.2, §13).
    new_key_delay_s: float = 0.0
    #: The capacity model: at most this many DMS requests are served at once; the others
    #: wait their turn (0: no limit). With `service_time_ms` D the knee is about C/D req/s.
    concurrency_limit: int = 0
    #: Each DMS request takes at least this long, ms, inside the concurrency limit.
    service_time_ms: float = 0.0
    seed: int | None = None

    def problems(self) -> list[str]:
        """Every problem with these settings, at once."""
        out: list[str] = []
        for name in (
            "latency_ms",
            "latency_p50_ms",
            "latency_p99_ms",
            "stall_every_s",
            "stall_for_s",
            "new_key_delay_s",
            "service_time_ms",
        ):
            if getattr(self, name) < 0:
                out.append(f"{name} must be >= 0 (got {getattr(self, name):g})")
        if (self.latency_p50_ms > 0) != (self.latency_p99_ms > 0):
            out.append(
                "latency_p50_ms and latency_p99_ms must be set together "
                f"(got {self.latency_p50_ms:g} and {self.latency_p99_ms:g})"
            )
        elif self.latency_p99_ms and self.latency_p99_ms < self.latency_p50_ms:
            out.append(
                f"latency_p99_ms must be >= latency_p50_ms (got {self.latency_p99_ms:g} < "
                f"{self.latency_p50_ms:g})"
            )
        for name in ("error_rate", "reset_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                out.append(f"{name} must be between 0 and 1 (got {getattr(self, name):g})")
        if not out and self.error_rate + self.reset_rate > 1.0:
            out.append(
                f"error_rate + reset_rate must be <= 1 (got {self.error_rate:g} + "
                f"{self.reset_rate:g})"
            )
        if not 400 <= self.error_status <= 599:
            out.append(
                f"error_status must be an HTTP error status (400-599) (got {self.error_status})"
            )
        if self.retry_after_s < 0:
            out.append(f"retry_after_s must be >= 0 (got {self.retry_after_s})")
        if self.concurrency_limit < 0:
            out.append(
                f"concurrency_limit must be >= 0 (0 turns it off; got {self.concurrency_limit})"
            )
        if self.rate_limit < 0:
            out.append(f"rate_limit must be >= 0 (0 turns it off) (got {self.rate_limit})")
        if self.rate_limit_window_s <= 0:
            out.append(f"rate_limit_window_s must be > 0 (got {self.rate_limit_window_s:g})")
        if self.stall_for_s > 0 and self.stall_every_s <= self.stall_for_s:
            out.append(
                f"stall_every_s must be greater than stall_for_s (got {self.stall_every_s:g} "
                f"<= {self.stall_for_s:g})"
            )
        if self.token_lifetime_s is not None and self.token_lifetime_s < 1:
            out.append(f"token_lifetime_s must be >= 1 (got {self.token_lifetime_s})")
        return out

    def to_json(self) -> dict[str, Any]:
        """The settings as a JSON object (what `GET /_sandbox/faults` shows)."""
        return asdict(self)

    def merged(self, changes: Mapping[str, Any]) -> FaultSettings:
        """A copy with `changes` applied; raise FaultError listing unknown keys or bad values."""
        known = {f.name: f for f in fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise FaultError(
                f"unknown fault setting(s): {', '.join(unknown)}; known: {', '.join(known)}"
            )
        typed: dict[str, Any] = {}
        problems: list[str] = []
        for name, value in changes.items():
            if value is None and name in ("token_lifetime_s", "seed"):
                typed[name] = None
            elif isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(f"{name} must be a number (got {value!r})")
            elif not math.isfinite(value):
                problems.append(f"{name} must be a finite number (got {value!r})")
            elif name in _INTEGER_SETTINGS:
                if not float(value).is_integer():
                    problems.append(f"{name} must be an integer (got {value!r})")
                else:
                    typed[name] = int(value)
            else:
                typed[name] = float(value)
        if problems:
            raise FaultError("; ".join(problems))
        result = replace(self, **typed)
        problems = result.problems()
        if problems:
            raise FaultError("; ".join(problems))
        return result


@dataclass(frozen=True)
class Plan:
    """What to do to one data request: wait `delay_s`, then answer normally, fail, or reset."""

    delay_s: float = 0.0
    action: str | None = None  # None, "error" or "reset"


NO_FAULT = Plan()


class FaultInjector:
    """Decides, per request, which faults apply; settings can be swapped while serving."""

    def __init__(
        self, settings: FaultSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}
        self.settings = settings
        self._epoch = clock()
        self._rng = random.Random(settings.seed)
        self._active = False
        self.set(settings)

    def set(self, settings: FaultSettings) -> None:
        """Replace the settings; restarts the stall schedule and the rate-limit windows."""
        with self._lock:
            self.settings = settings
            self._epoch = self._clock()
            self._rng = random.Random(settings.seed)
            self._windows.clear()
            s = settings
            self._active = bool(
                s.latency_ms
                or s.latency_p50_ms
                or s.error_rate
                or s.reset_rate
                or (s.stall_every_s and s.stall_for_s)
            )
            if s.latency_p50_ms > 0:
                self._mu = math.log(s.latency_p50_ms)
                self._sigma = (math.log(s.latency_p99_ms) - self._mu) / _Z99
            else:
                self._mu = self._sigma = 0.0

    def rate_limited(self, host: str) -> int | None:
        """Count a request against its Host's fixed window; the Retry-After seconds if refused."""
        limit = self.settings.rate_limit
        if limit <= 0:
            return None
        window = self.settings.rate_limit_window_s
        now = self._clock() - self._epoch
        index = int(now // window)
        with self._lock:
            current, count = self._windows.get(host, (index, 0))
            if current != index:
                count = 0
            count += 1
            self._windows[host] = (index, count)
        if count <= limit:
            return None
        return max(1, math.ceil((index + 1) * window - now))

    def plan(self) -> Plan:
        """Draw the faults for one data request."""
        if not self._active:
            return NO_FAULT
        s = self.settings
        delay = s.latency_ms / 1000.0
        with self._lock:
            if s.latency_p50_ms > 0:
                delay += self._rng.lognormvariate(self._mu, self._sigma) / 1000.0
            draw = self._rng.random()
        if s.stall_every_s > 0 and s.stall_for_s > 0:
            phase = (self._clock() - self._epoch) % s.stall_every_s
            if phase < s.stall_for_s:
                delay += s.stall_for_s - phase
        action = None
        if draw < s.reset_rate:
            action = "reset"
        elif draw < s.reset_rate + s.error_rate:
            action = "error"
        return Plan(delay, action)
