"""Tiny ASGI request/response helpers and the DMS problem-details bodies."""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = b"application/json; charset=utf-8"
PROBLEM = b"application/problem+json"
TEXT = b"text/plain; charset=utf-8"

#: `AppSettings:MaxRequestBodySizeMegabytes` default of DMS (10 MB).
MAX_BODY_BYTES = 10 * 1024 * 1024

#: Problem `type` suffixes (after `urn:ed-fi:api:`) and titles, as contract §6 lists them.
PROBLEMS: dict[str, tuple[str, str]] = {
    "data-validation-failed": ("bad-request:data-validation-failed", "Data Validation Failed"),
    "bad-request": ("bad-request", "Bad Request"),
    "parameter-validation-failed": (
        "bad-request:parameter-validation-failed",
        "Parameter Validation Failed",
    ),
    "key-change-not-supported": (
        "bad-request:data-validation-failed:key-change-not-supported",
        "Key Change Not Supported",
    ),
    "authentication": ("security:authentication", "Authentication Failed"),
    "unauthorized": ("unauthorized", "Unauthorized"),
    "authorization": ("security:authorization", "Authorization Denied"),
    "access-denied-action": (
        "security:authorization:access-denied:action",
        "Authorization Denied",
    ),
    "forbidden": ("forbidden", "Forbidden"),
    "not-found": ("not-found", "Not Found"),
    "method-not-allowed": ("method-not-allowed", "Method Not Allowed"),
    "unresolved-reference": ("data-conflict:unresolved-reference", "Unresolved Reference"),
    "identity-conflict": ("identity-conflict", "Identifying Values Are Not Unique"),
    "data-conflict": ("data-conflict", "Data Conflict"),
    "dependent-item-exists": ("data-conflict:dependent-item-exists", "Dependent Item Exists"),
    "conflict": ("data-conflict", "Data Conflict"),
    "optimistic-lock-failed": ("optimistic-lock-failed", "Optimistic Lock Failed"),
    "if-none-match": ("precondition-failed:if-none-match", "If-None-Match Precondition Failed"),
    "unsupported-media-type": ("unsupported-media-type", "Unsupported Media Type"),
    "too-many-requests": ("too-many-requests", "Too Many Requests"),
    "system": ("system", "System Error"),
    "service-unavailable": ("service-unavailable", "Service Unavailable"),
    "bad-gateway": ("bad-gateway", "Upstream service unavailable"),
    "payload-too-large": ("payload-too-large", "Payload Too Large"),
}


class BodyTooLarge(Exception):
    """A request body over MAX_BODY_BYTES (by its Content-Length, or as it was read)."""


def too_large(correlation_id: str) -> Reply:
    """The 413 problem for a body over MAX_BODY_BYTES; the connection is closed after it,
    since the rest of the body is not read."""
    return problem(
        413,
        "payload-too-large",
        f"The request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB.",
        correlation_id,
        headers=[(b"connection", b"close")],
    )


class Reply:
    """One HTTP answer; status 0 means "abort the connection without answering"."""

    __slots__ = ("body", "content_type", "headers", "status")

    def __init__(
        self,
        status: int,
        body: bytes = b"",
        content_type: bytes | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers if headers is not None else []


RESET = Reply(0)


def json_reply(status: int, value: Any, headers: list[tuple[bytes, bytes]] | None = None) -> Reply:
    """A JSON body."""
    return Reply(status, orjson.dumps(value), JSON, headers)


def problem(
    status: int,
    kind: str,
    detail: str,
    correlation_id: str,
    validation_errors: dict[str, list[str]] | None = None,
    errors: list[str] | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    title: str | None = None,
) -> Reply:
    """A DMS problem-details body (`detail, type, title, status, correlationId, ...`)."""
    suffix, default_title = PROBLEMS[kind]
    body = {
        "detail": detail,
        "type": f"urn:ed-fi:api:{suffix}",
        "title": title or default_title,
        "status": status,
        "correlationId": correlation_id,
        "validationErrors": validation_errors or {},
        "errors": errors or [],
    }
    return Reply(status, orjson.dumps(body), PROBLEM, headers)


def invalid_token(req: Request) -> Reply:
    """The DMS 401 for a missing or invalid bearer token (contract §3.1)."""
    return problem(
        401,
        "authentication",
        "The caller could not be authenticated.",
        req.correlation_id,
        headers=[(b"www-authenticate", b'Bearer error="invalid_token"')],
    )


def body_field(content_type: str | None, raw: bytes, name: str) -> str | None:
    """One string field of a JSON object body, or of a form body for any other content type."""
    if (content_type or "").split(";")[0].strip().lower() == "application/json":
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        value = parsed.get(name) if isinstance(parsed, dict) else None
        return value if isinstance(value, str) else None
    values = urllib.parse.parse_qs(raw.decode("latin-1")).get(name)
    return values[0] if values else None


def declares_too_large(scope: Scope) -> bool:
    """The request's Content-Length announces a body over MAX_BODY_BYTES."""
    for key, value in scope["headers"]:
        if key == b"content-length":
            length = bytes(value).strip()
            return length.isdigit() and int(length) > MAX_BODY_BYTES
    return False


class Request:
    """The parts of an ASGI HTTP request the handlers read, with the path base removed."""

    __slots__ = ("_query", "correlation_id", "method", "path", "prefix", "receive", "scope")

    def __init__(self, scope: Scope, receive: Receive, path: str, prefix: str) -> None:
        self.scope = scope
        self.receive = receive
        self.method: str = scope["method"]
        self.path = path
        self.prefix = prefix
        self.correlation_id = ""
        self._query: list[tuple[str, str]] | None = None

    def header(self, name: bytes) -> str | None:
        """A request header by lower-case name, or None."""
        for key, value in self.scope["headers"]:
            if key == name:
                return bytes(value).decode("latin-1")
        return None

    @property
    def query(self) -> list[tuple[str, str]]:
        """Query parameters in order, blank values kept."""
        if self._query is None:
            raw = self.scope.get("query_string", b"")
            self._query = (
                urllib.parse.parse_qsl(raw.decode("latin-1"), keep_blank_values=True) if raw else []
            )
        return self._query

    @property
    def host(self) -> str:
        """The raw Host header (what the DMS rate limiter partitions by)."""
        host = self.header(b"host")
        if host:
            return host
        server = self.scope.get("server")
        return f"{server[0]}:{server[1]}" if server else "localhost"

    def root(self) -> str:
        """`scheme://host{PathBase}`: the base of every URL the server generates."""
        return f"{self.scope.get('scheme', 'http')}://{self.host}{self.prefix}"

    async def body(self) -> bytes:
        """The whole request body; raises BodyTooLarge past MAX_BODY_BYTES."""
        if declares_too_large(self.scope):
            raise BodyTooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise BodyTooLarge
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_reply(send: Send, reply: Reply) -> None:
    """Write a Reply with Content-Length (omitted for 204 and 304, as RFC 9110 asks)."""
    headers: list[tuple[bytes, bytes]] = []
    if reply.status not in (204, 304):
        headers.append((b"content-length", str(len(reply.body)).encode()))
        if reply.content_type is not None:
            headers.append((b"content-type", reply.content_type))
    headers.extend(reply.headers)
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send(
        {
            "type": "http.response.body",
            "body": reply.body if reply.status not in (204, 304) else b"",
        }
    )
