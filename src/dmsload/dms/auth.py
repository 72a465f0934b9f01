"""The OAuth client-credentials token every VU of a process shares.

One token per process. The first one is fetched single-flight: concurrent callers wait on one
lock and one token request. After that, callers wait only for a token that has expired (or
that the data API rejected with 401 `invalid_token`: `refresh_after_rejection`, one refresh
however many callers saw the same rejected token).

Ahead of expiry, by a margin of `min(refresh_margin_s, lifetime / 4)` measured from when the
token request was *sent*, one refresh runs in the background while every caller keeps getting
the current token; a refresh that fails is retried in the background until the token expires.
The token counts as expired `min(5 s, lifetime / 10)` before its `expires_in`, so that no
request carries it past the server's clock. The quarter-lifetime cap keeps short-lived tokens
(the tests use 2 s) from being refreshed on every call. The background refresh runs as an
asyncio task (the runner's backend); `aclose()` cancels one still running.

A key whose application was created moments ago may get 401 from the token endpoint for a
while (contract §13.9). Only such a key gets `new_key_grace_s` (setup's step 6, or a run whose
credentials file is that new): its first token request is retried every `new_key_retry_s`
for that long, saying so once on stderr. Otherwise, and once a token was issued, a 401 fails
at once.
"""

from __future__ import annotations

import asyncio
import base64
import math
import sys
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import anyio
import httpx
import orjson

from dmsload.dms.credentials import ClientCredentials
from dmsload.dms.errors import DmsError, problem_detail, transport_error

AuthStyle = Literal["basic", "form"]
EXPIRY_SAFETY_S = 5.0
"""A token is not handed out in the last `min(this, lifetime / 10)` of its lifetime."""


class AuthError(DmsError):
    """A token request that failed: one line with the status and the server's reason."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def basic_authorization(credentials: ClientCredentials) -> str:
    """`Basic base64(urlencode(key):urlencode(secret))`, as DMS expects (contract §3.1)."""
    key = urllib.parse.quote(credentials.key, safe="")
    secret = urllib.parse.quote(credentials.secret.get_secret_value(), safe="")
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode("ascii")


ASSUMED_LIFETIME_S = 300.0
"""The lifetime assumed for a token whose `expires_in` is missing or absurd."""
MAX_LIFETIME_S = 7 * 86400.0
"""An `expires_in` above this is not a lifetime (an absolute epoch time, a typo)."""


@dataclass(frozen=True)
class IssuedToken:
    """An access token and its lifetime in seconds (`expires_in`; None when missing)."""

    value: str
    expires_in: float | None

    def __repr__(self) -> str:
        return f"IssuedToken(value='***', expires_in={self.expires_in})"


async def request_token(
    client: httpx.AsyncClient,
    url: str,
    credentials: ClientCredentials,
    auth_style: AuthStyle = "basic",
    scope: str | None = None,
) -> httpx.Response:
    """Send one client-credentials token request; the caller reads the response."""
    form = {"grant_type": "client_credentials"}
    headers = {"accept": "application/json"}
    if auth_style == "basic":
        headers["authorization"] = basic_authorization(credentials)
    else:
        form["client_id"] = credentials.key
        form["client_secret"] = credentials.secret.get_secret_value()
    if scope:
        form["scope"] = scope
    return await client.post(url, data=form, headers=headers)


def parse_token(url: str, response: httpx.Response) -> IssuedToken:
    """The token in a 200 response; AuthError for any other answer."""
    if response.status_code != 200:
        raise AuthError(
            f"token request to {url} answered {response.status_code}: {problem_detail(response)}",
            response.status_code,
        )
    try:
        body = orjson.loads(response.content)
        value = body["access_token"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise AuthError(f"token request to {url} answered 200 without an access_token") from None
    if not isinstance(value, str) or not value:
        raise AuthError(f"token request to {url} answered 200 without an access_token")
    return IssuedToken(value, _number(body.get("expires_in")))


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def sane_lifetime(expires_in: float | None) -> float | None:
    """`expires_in` when it is a plausible lifetime in seconds (over 0, at most a week);
    None when it is missing, 0, negative or absurd (an absolute epoch time)."""
    if expires_in is None or expires_in <= 0 or expires_in > MAX_LIFETIME_S:
        return None
    return expires_in


def _print_notice(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class TokenProvider:
    """The shared bearer token of one process: single-flight fetch, background refresh."""

    def __init__(
        self,
        token_url: str,
        credentials: ClientCredentials,
        *,
        client: httpx.AsyncClient,
        auth_style: AuthStyle = "basic",
        on_token_request: Callable[[float, int], None] | None = None,
        new_key_grace_s: float = 0.0,
        refresh_margin_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        new_key_retry_s: float = 0.5,
        notice: Callable[[str], None] = _print_notice,
    ) -> None:
        self._url = token_url
        self._credentials = credentials
        self._client = client
        self._style: AuthStyle = auth_style
        self._on_request = on_token_request
        self._grace_s = new_key_grace_s
        self._retry_s = new_key_retry_s
        self._margin_s = refresh_margin_s
        self._clock = clock
        self._notice = notice
        self._lock = anyio.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        self._expires_at = 0.0
        self._retry_gap_s = 0.0
        self._issued = 0
        self._background: asyncio.Task[None] | None = None
        self._warned_lifetime = False
        self.refresh_failures = 0  # background refreshes that failed (the token stayed valid)
        self.last_refresh_error: str | None = None

    def __repr__(self) -> str:
        return f"TokenProvider(token_url={self._url!r}, key={self._credentials.key!r})"

    @property
    def refreshes(self) -> int:
        """Token requests that succeeded after the first."""
        return max(0, self._issued - 1)

    @property
    def refreshing(self) -> bool:
        """A background refresh is running."""
        return self._background is not None and not self._background.done()

    def _valid(self) -> str | None:
        token = self._token
        return token if token is not None and self._clock() < self._expires_at else None

    async def token(self) -> str:
        """The current token. Inside the refresh margin it is still returned at once while
        one background refresh runs; callers wait only when there is no unexpired token."""
        token = self._token
        if token is not None:
            now = self._clock()
            if now < self._refresh_at:
                return token
            if now < self._expires_at:
                self._start_background_refresh()
                return token
        async with self._lock:
            token = self._valid()
            return token if token is not None else await self._fetch()

    async def refresh_after_rejection(self, rejected: str) -> str:
        """A 401 `invalid_token` came back for `rejected`: refresh once, unless already newer."""
        async with self._lock:
            if self._token is not None and self._token != rejected:
                return self._token
            return await self._fetch()

    async def wait_refreshed(self) -> None:
        """Wait for a background refresh that is running (for tests and shutdown)."""
        task = self._background
        if task is not None and not task.done():
            await asyncio.wait({task})

    async def aclose(self) -> None:
        """Cancel a background refresh that is still running."""
        task, self._background = self._background, None
        if task is not None and not task.done():
            task.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.wait({task})

    def _start_background_refresh(self) -> None:
        if self.refreshing or self._lock.locked():
            return  # one refresh at a time; a caller already fetching counts as one
        self._background = asyncio.get_running_loop().create_task(self._refresh_in_background())

    async def _refresh_in_background(self) -> None:
        async with self._lock:
            token = self._token
            if token is None or self._clock() < self._refresh_at:
                return  # refreshed meanwhile (after a rejection)
            try:
                await self._fetch()
            except Exception as exc:  # the task must not die with its error unobserved
                # the current token stays in use until it expires; try again a bit later
                self.refresh_failures += 1
                self.last_refresh_error = str(exc)
                self._refresh_at = min(self._clock() + self._retry_gap_s, self._expires_at)

    async def _fetch(self) -> str:
        started = self._clock()
        told = False
        while True:
            sent = self._clock()
            try:
                issued = await self._request()
            except AuthError as exc:
                left = self._grace_s - (self._clock() - started)
                if exc.status != 401 or self._issued > 0 or left <= 0:
                    raise
                if not told:
                    told = True
                    self._notice(
                        "dmsload: the new key is not accepted yet (401); "
                        f"retrying for up to {math.ceil(left)} s"
                    )
                await anyio.sleep(min(self._retry_s, left))
                continue
            lifetime = sane_lifetime(issued.expires_in)
            if lifetime is None:
                lifetime = ASSUMED_LIFETIME_S
                if not self._warned_lifetime:
                    self._warned_lifetime = True
                    claimed = "missing" if issued.expires_in is None else f"{issued.expires_in:g}"
                    self._notice(
                        f"dmsload: warning: the token endpoint's expires_in is {claimed}, not a "
                        f"lifetime in seconds; assuming {ASSUMED_LIFETIME_S:g} s (a token "
                        "refused before then is refreshed)"
                    )
            self._token = issued.value
            self._refresh_at = sent + lifetime - min(self._margin_s, lifetime / 4)
            self._expires_at = sent + lifetime - min(EXPIRY_SAFETY_S, lifetime / 10)
            self._retry_gap_s = min(EXPIRY_SAFETY_S, lifetime / 20)
            self._issued += 1
            return issued.value

    async def _request(self) -> IssuedToken:
        begun = time.perf_counter()
        try:
            response = await request_token(self._client, self._url, self._credentials, self._style)
        except httpx.HTTPError as exc:
            self._report(begun, 0)
            raise AuthError(transport_error(self._url, exc)) from None
        self._report(begun, response.status_code)
        return parse_token(self._url, response)

    def _report(self, begun: float, status: int) -> None:
        if self._on_request is not None:
            self._on_request((time.perf_counter() - begun) * 1000.0, status)
