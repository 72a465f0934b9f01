"""An httpx transport over dmsload's HTTP/1.1 connections: one connection per origin.

Each VU owns one. It speaks httpx's `Request`/`Response` models, so httpx's API (and an
`httpx.AsyncClient(transport=...)`) works on top of it, while the wire work is done by
`Http11Connection` instead of httpcore.
"""

from __future__ import annotations

import httpx

from dmsload.http.connection import Http11Connection
from dmsload.http.request_head import Origin, origin_of
from dmsload.http.timing import RequestTiming
from dmsload.http.tls import TlsSource

BYTES_EXTENSION = "dmsload.bytes"
"""Response extension: (bytes sent, bytes received) on the wire."""


def request_head(request: httpx.Request) -> bytes:
    """The request line and headers of an httpx request, as HTTP/1.1 bytes."""
    parts = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    for name, value in request.headers.raw:
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


class VUTransport(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 to each origin a VU talks to, one connection per origin."""

    def __init__(self, ssl_context: TlsSource = None) -> None:
        self._ssl_context = ssl_context
        self._connections: dict[tuple[str, str, int], Http11Connection] = {}

    def connection_for(self, url: httpx.URL) -> Http11Connection:
        """The connection to the URL's origin (created, not yet opened, on first use)."""
        return self.connection_for_origin(origin_of(url))

    def connection_for_origin(self, origin: Origin) -> Http11Connection:
        """The connection to an origin (created, not yet opened, on first use)."""
        key = origin.key
        connection = self._connections.get(key)
        if connection is None:
            connection = Http11Connection(
                origin.scheme, origin.host, origin.port, self._ssl_context
            )
            self._connections[key] = connection
        return connection

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """httpx's transport interface."""
        body = await request.aread()
        timeouts = request.extensions.get("timeout") or {}
        raw = await self.connection_for(request.url).request(
            request.method,
            request_head(request),
            body,
            RequestTiming(),
            timeouts.get("connect"),
            timeouts.get("read"),
        )
        return httpx.Response(
            raw.status,
            headers=raw.headers,
            stream=httpx.ByteStream(raw.body),
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": raw.reason,
                BYTES_EXTENSION: (raw.sent_bytes, raw.received_bytes),
            },
        )

    async def aclose(self) -> None:
        """Close every connection."""
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()
