"""One DMS request as a workload sends it: token, tags, checks, custom metrics, Retry-After.

Every request carries k6's tags plus `resource` and `operation`, and a `name` such as
`POST /ed-fi/students` or `GET /ed-fi/students/{id}`. A 401 `invalid_token` triggers one
single-flight token refresh and one retry. A response other than the expected status feeds
`api_errors`; a 429 or 503 with `Retry-After` makes the VU wait that long before its next
iteration when `respect_retry_after` is on. Seeding requests (the setup VU, before the clock
starts) are retried on transient failures by `SETUP_RETRY`.
"""

from __future__ import annotations

import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import anyio
import orjson

from dmsload.dms.auth import AuthError
from dmsload.dms.resources import resource_path
from dmsload.dms.session import TOKEN_SCENARIO, DmsSession
from dmsload.http import HttpClient, HttpResponse
from dmsload.http.retry import SETUP_RETRY, describe_attempt, is_transient, retry_after_seconds
from dmsload.metrics import MetricKind, ValueType
from dmsload.metrics.kinds import SETUP_SCENARIO
from dmsload.workloads.base import RunCannotProceed

if TYPE_CHECKING:
    from dmsload.engine.vu import VU

RETRY_AFTER_UNTIL = "dms.retry_after_until"
"""`vu.state` key: the monotonic time before which the VU starts no new iteration."""
MAX_RETRY_AFTER_S = 60.0
_BACKOFF_STATUSES = frozenset({429, 503})
_JSON = {"Content-Type": "application/json"}


class Operation(StrEnum):
    """The `operation` tag of a request."""

    CREATE = "create"
    UPSERT = "upsert"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"
    QUERY = "query"


ENTITY_CREATION_TIME = "entity_creation_time"
QUERY_RESPONSE_TIME = "query_response_time"
API_ERRORS = "api_errors"

CREATED_COUNTERS: Mapping[str, str] = {
    "schools": "schools_created",
    "students": "students_created",
    "staffs": "staff_created",
    "studentSchoolAssociations": "student_school_associations_created",
    "staffEducationOrganizationAssignmentAssociations": "staff_assignments_created",
}
"""The per-entity create counters, by resource endpoint."""

DMS_METRICS: Mapping[str, tuple[MetricKind, ValueType]] = {
    ENTITY_CREATION_TIME: (MetricKind.TREND, ValueType.TIME),
    QUERY_RESPONSE_TIME: (MetricKind.TREND, ValueType.TIME),
    API_ERRORS: (MetricKind.COUNTER, ValueType.DEFAULT),
    "auth_token_duration": (MetricKind.TREND, ValueType.TIME),
    "auth_token_requests": (MetricKind.COUNTER, ValueType.DEFAULT),
    **{name: (MetricKind.COUNTER, ValueType.DEFAULT) for name in CREATED_COUNTERS.values()},
}
"""The custom metrics every DMS workload may emit (the strategy's names)."""


def _status_check(expected: frozenset[int]) -> str:
    return "status is " + " or ".join(str(code) for code in sorted(expected, reverse=True))


@dataclass(frozen=True)
class _Route:
    name: str
    tags: Mapping[str, str]
    check: str
    expected: frozenset[int]


_RouteKey = tuple[str, str, Operation, frozenset[int], str | None, bool]
"""(method, endpoint, operation, expected statuses, name, by id)."""


class DmsCalls:
    """Sends DMS requests for one workload."""

    def __init__(self, session: DmsSession, *, respect_retry_after: bool = True) -> None:
        self.session = session
        self.respect_retry_after = respect_retry_after
        self._routes: dict[_RouteKey, _Route] = {}
        self._auth: tuple[str, dict[str, str], dict[str, str]] = ("", {}, {})
        """(token, its headers without a body, with a JSON body): rebuilt when the token changes."""
        self.last_failure: str | None = None
        """The last request that failed: its name, status and the body's first line."""

    def _route(
        self,
        method: str,
        endpoint: str,
        operation: Operation,
        expected: frozenset[int],
        name: str | None,
        by_id: bool,
    ) -> _Route:
        key = (method, endpoint, operation, expected, name, by_id)
        route = self._routes.get(key)
        if route is None:
            path = resource_path(endpoint) + ("/{id}" if by_id else "")
            route = _Route(
                name=name or f"{method} {path}",
                tags={"resource": endpoint, "operation": operation.value},
                check=f"{operation.value} {endpoint}: {_status_check(expected)}",
                expected=expected,
            )
            self._routes[key] = route
        return route

    async def send(
        self,
        vu: VU,
        method: str,
        endpoint: str,
        operation: Operation,
        *,
        expect: frozenset[int],
        doc_id: str | None = None,
        body: Any = None,
        params: Mapping[str, str | int | bool] | None = None,
        name: str | None = None,
        http: HttpClient | None = None,
    ) -> HttpResponse:
        """Send one request with the shared token; check its status; count its errors.

        `http` is one of the VU's extra connections for concurrent requests (default
        `vu.http`)."""
        route = self._route(method, endpoint, operation, expect, name, doc_id is not None)
        url = self.session.url(endpoint, doc_id)
        if params:
            url = query_url(url, params)
        content = None if body is None else orjson.dumps(body)
        client = http or vu.http
        TOKEN_SCENARIO.set(vu.scenario)  # this VU task's own context: tags its token requests
        seeding = vu.scenario == SETUP_SCENARIO
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            response = await self._send_once(client, method, url, route, content)
            if response.expected or not seeding or not is_transient(response.status):
                break
            # before the clock starts, a transient failure is retried (SETUP_RETRY)
            retry_after = response.headers.get("retry-after")
            delay = SETUP_RETRY.next_delay_s(attempt, started, response.status, retry_after)
            if delay is None:
                break
            self._notify(
                f"dmsload: setup request {route.name} failed "
                f"({describe_attempt(response.status, response.error, response.content)}); "
                f"retrying in {delay:.1f} s (try {attempt + 1} of {SETUP_RETRY.attempts})"
            )
            await anyio.sleep(delay)
        vu.check(route.check, response.expected)
        if not response.expected:
            self.last_failure = describe_failure(route.name, response, attempt)
            self._failed(vu, route, response)
        return response

    async def _send_once(
        self,
        client: HttpClient,
        method: str,
        url: str,
        route: _Route,
        content: bytes | None,
    ) -> HttpResponse:
        tokens = self.session.tokens
        try:
            token = await tokens.token()
            response = await self._request(client, method, url, route, token, content)
            if response.status == 401 and "invalid_token" in response.headers.get(
                "www-authenticate", ""
            ):
                token = await tokens.refresh_after_rejection(token)
                response = await self._request(client, method, url, route, token, content)
        except AuthError as exc:
            # the token expired and every retry to replace it failed: no request can succeed
            raise RunCannotProceed(f"no valid token: {exc}") from None
        return response

    def _request(
        self,
        client: HttpClient,
        method: str,
        url: str,
        route: _Route,
        token: str,
        content: bytes | None,
    ) -> Coroutine[Any, Any, HttpResponse]:
        """The client's request coroutine, with the token's headers (built once per token)."""
        auth = self._auth
        if auth[0] != token:
            bearer = {"Authorization": f"Bearer {token}"}
            auth = self._auth = (token, bearer, {**bearer, **_JSON})
        return client.request(
            method,
            url,
            name=route.name,
            headers=auth[1] if content is None else auth[2],
            content=content,
            expected_statuses=route.expected,
            tags=route.tags,
        )

    def _notify(self, line: str) -> None:
        notice = self.session.notice
        if notice is not None:
            notice(line)

    def _failed(self, vu: VU, route: _Route, response: HttpResponse) -> None:
        vu.add(API_ERRORS, 1.0, {**route.tags, "status": str(response.status)})
        if response.status in _BACKOFF_STATUSES and self.respect_retry_after:
            wait = retry_after_seconds(response.headers.get("retry-after"))
            if wait is not None and wait > 0:
                until = time.monotonic() + min(wait, MAX_RETRY_AFTER_S)
                vu.state[RETRY_AFTER_UNTIL] = max(vu.state.get(RETRY_AFTER_UNTIL, 0.0), until)


def query_url(url: str, params: Mapping[str, str | int | bool]) -> str:
    """`url?name=value&...`, encoded as httpx encodes `params=` (booleans as true/false), at a
    fraction of the cost of merging the parameters into a parsed URL."""
    pairs = [(key, _query_value(value)) for key, value in params.items()]
    return f"{url}?{urlencode(pairs)}"


def _query_value(value: str | int | bool) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


async def honor_retry_after(vu: VU) -> None:
    """Wait out a `Retry-After` this VU received (before its next iteration)."""
    until = vu.state.pop(RETRY_AFTER_UNTIL, None)
    if until is not None:
        delay = until - time.monotonic()
        if delay > 0:
            await anyio.sleep(delay)


def describe_failure(name: str, response: HttpResponse, attempts: int = 1) -> str:
    """`POST /ed-fi/students (tried 5 times) answered 500: {"detail": ...}`: for messages."""
    tries = f" (tried {attempts} times)" if attempts > 1 else ""
    if response.status == 0:
        return f"{name}{tries} failed: {response.error or 'no response'}"
    what = describe_attempt(response.status, response.error, response.content)
    return f"{name}{tries} answered {what}"


def json_body(response: HttpResponse) -> Any:
    """The body as JSON, or None when it is not JSON (truncated, HTML): a check on it fails."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def created_id(response: HttpResponse) -> str | None:
    """The document id from a POST's `Location` header (its last path segment)."""
    location = response.headers.get("location")
    if not location:
        return None
    return location.rstrip("/").rsplit("/", 1)[-1]
