"""The generic `http` workload: one request per iteration, for any HTTP endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from dmsload.manifest import redact_url
from dmsload.workloads.base import BaseWorkload, Workload, WorkloadContext, WorkloadSpec

if TYPE_CHECKING:
    from dmsload.engine.vu import VU

_METHODS = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}


class HttpOptions(BaseModel):
    """Options of the `http` workload (the `options` table of a scenario)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str = "GET"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | dict[str, Any] | list[Any] | None = None
    expect_status: int | list[int] | None = None
    expect_json: bool = False
    """Check that the body parses as JSON (the check `body is JSON`)."""
    name: str | None = None

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        upper = value.upper()
        if upper not in _METHODS:
            raise ValueError(f"must be one of {', '.join(sorted(_METHODS))}")
        return upper

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http:// or https:// URL")
        return value

    @field_validator("expect_status")
    @classmethod
    def _status(cls, value: int | list[int] | None) -> int | list[int] | None:
        codes = [value] if isinstance(value, int) else (value or [])
        for code in codes:
            if not 100 <= code <= 599:
                raise ValueError(f"{code} is not an HTTP status code")
        return value


class HttpWorkload(BaseWorkload):
    """Sends the configured request; when `expect_status` is set it is both the check and
    the response callback deciding `http_req_failed` (k6's `expectedStatuses`)."""

    def __init__(self, options: HttpOptions) -> None:
        self._method = options.method
        self._url = options.url
        self._headers = dict(options.headers)
        body = options.body
        if isinstance(body, dict | list):
            self._content: bytes | None = orjson.dumps(body)
            self._headers.setdefault("Content-Type", "application/json")
        else:
            self._content = body.encode() if body is not None else None
        status = options.expect_status
        self._expected: frozenset[int] | None = (
            None if status is None else frozenset([status] if isinstance(status, int) else status)
        )
        self._check_name = (
            None
            if self._expected is None
            else "status is " + " or ".join(str(s) for s in sorted(self._expected))
        )
        # the default name is the URL without its password, as k6's `name` tag
        self._name = options.name or redact_url(options.url)
        self._expect_json = options.expect_json

    async def iteration(self, vu: VU) -> None:
        """One request, one check."""
        response = await vu.http.request(
            self._method,
            self._url,
            name=self._name,
            headers=self._headers,
            content=self._content,
            expected_statuses=self._expected,
        )
        if self._check_name is not None:
            vu.check(self._check_name, response.expected)
        if self._expect_json:
            try:
                orjson.loads(response.content)
                parsed = True
            except orjson.JSONDecodeError:
                parsed = False
            vu.check("body is JSON", parsed)


def _factory(options: BaseModel, ctx: WorkloadContext) -> Workload:
    assert isinstance(options, HttpOptions)
    return HttpWorkload(options)


HTTP_WORKLOAD = WorkloadSpec(
    name="http",
    summary="one request per iteration: method, url, headers, body, expect_status, "
    "expect_json, name",
    options_model=HttpOptions,
    factory=_factory,
)
