"""The OAuth client-credentials token every VU of a process shares.

One token per process, fetched single-flight: concurrent callers wait on one lock and one
token request. It is refreshed ahead of expiry by a margin of `min(refresh_margin_s,
lifetime / 4)`, measured from when the token request was *sent* (so a slow token endpoint
only makes the refresh earlier). The quarter-lifetime cap keeps short-lived tokens (the tests
use 2 s) from being refreshed on every call. A 401 `invalid_token` from the data API leads to
`refresh_after_rejection`: one refresh, however many callers saw the same rejected token.

A key that has never yet obtained a token may get 401 from the token endpoint for a while
after its application is created (contract §4.2): it is retried every `new_key_retry_s`
for up to `new_key_grace_s`. Once a token was issued, a 401 fails at once.
"""

from __future__ import annotations

import base64
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


@dataclass(frozen=True)
class IssuedToken:
    """An access token and its lifetime in seconds (`expires_in`)."""

    value: str
    expires_in: float

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
        value, expires_in = body["access_token"], float(body.get("expires_in", 1800))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise AuthError(f"token request to {url} answered 200 without an access_token") from None
    if not isinstance(value, str) or not value:
        raise AuthError(f"token request to {url} answered 200 without an access_token")
    return IssuedToken(value, expires_in)


class TokenProvider:
    """The shared bearer token of one process: single-flight fetch, refresh and re-mint."""

    def __init__(
        self,
        token_url: str,
        credentials: ClientCredentials,
        *,
        client: httpx.AsyncClient,
        auth_style: AuthStyle = "basic",
        on_token_request: Callable[[float, int], None] | None = None,
        new_key_grace_s: float = 30.0,
        refresh_margin_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        new_key_retry_s: float = 0.5,
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
        self._lock = anyio.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        self._issued = 0

    def __repr__(self) -> str:
        return f"TokenProvider(token_url={self._url!r}, key={self._credentials.key!r})"

    @property
    def refreshes(self) -> int:
        """Token requests that succeeded after the first."""
        return max(0, self._issued - 1)

    def _fresh(self) -> str | None:
        token = self._token
        return token if token is not None and self._clock() < self._refresh_at else None

    async def token(self) -> str:
        """The current token; fetched (single-flight) when absent or inside the refresh margin."""
        token = self._fresh()
        if token is not None:
            return token
        async with self._lock:
            token = self._fresh()
            return token if token is not None else await self._fetch()

    async def refresh_after_rejection(self, rejected: str) -> str:
        """A 401 `invalid_token` came back for `rejected`: refresh once, unless already newer."""
        async with self._lock:
            if self._token is not None and self._token != rejected:
                return self._token
            return await self._fetch()

    async def _fetch(self) -> str:
        started = self._clock()
        while True:
            sent = self._clock()
            try:
                issued = await self._request()
            except AuthError as exc:
                in_grace = self._issued == 0 and self._clock() - started < self._grace_s
                if exc.status != 401 or not in_grace:
                    raise
                await anyio.sleep(self._retry_s)
                continue
            lifetime = issued.expires_in
            self._token = issued.value
            self._refresh_at = sent + lifetime - min(self._margin_s, lifetime / 4)
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
