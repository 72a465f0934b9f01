"""Why a request failed, in the user's words: no Python class names, no addresses invented."""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator

import httpx

_ERRNO_WORDS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by the server",
    errno.ECONNABORTED: "connection aborted",
    errno.EPIPE: "connection closed by the server while sending",
    errno.ETIMEDOUT: "connection timed out",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.EADDRNOTAVAIL: "address not available",
}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def transport_reason(exc: BaseException) -> str:
    """One short phrase for a request that got no HTTP response: `connection refused`,
    `host name not found`, `TLS certificate not trusted: ...`, `no response within the
    request timeout`, and so on."""
    for cause in _chain(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message or "verification failed"
            return f"TLS certificate not trusted: {detail}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed: {cause.reason or cause.strerror or 'no detail'}"
        if isinstance(cause, socket.gaierror):
            return "host name not found"
        if isinstance(cause, OSError) and cause.errno in _ERRNO_WORDS:
            return _ERRNO_WORDS[cause.errno]
    return _httpx_reason(exc)


def _httpx_reason(exc: BaseException) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, httpx.ReadTimeout):
        return "no response within the request timeout"
    if isinstance(exc, httpx.WriteTimeout):
        return "the request could not be sent within the request timeout"
    if isinstance(exc, httpx.PoolTimeout):
        return "no free connection within the request timeout"
    if isinstance(exc, httpx.RemoteProtocolError):
        if str(exc).startswith("Server disconnected"):
            return "the server closed the connection without a response"
        return f"invalid HTTP response: {exc}" if str(exc) else "invalid HTTP response"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"invalid URL: {exc}" if str(exc) else "invalid URL"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {exc}" if str(exc) else "cannot connect"
    if isinstance(exc, httpx.ReadError):
        return "the connection failed while reading the response"
    if isinstance(exc, httpx.WriteError):
        return "the connection failed while sending the request"
    text = str(exc).strip()
    return text.splitlines()[0] if text else "the request failed"


def is_transport_error(exc: BaseException) -> bool:
    """True for an HTTP-layer failure (connect, timeout, protocol), whose reason
    `transport_reason` gives."""
    return isinstance(exc, httpx.HTTPError)
