"""Per-request timing marks from httpcore's trace extension (k6's http_req_* breakdown)."""

from __future__ import annotations

from time import perf_counter_ns
from typing import Any

_CONNECT_START = 0
_CONNECT_END = 1
_TLS_START = 2
_TLS_END = 3
_SEND_START = 4
_SEND_END = 5
_HEADERS_DONE = 6

_EVENTS: dict[str, int] = {
    "connection.connect_tcp.started": _CONNECT_START,
    "connection.connect_tcp.complete": _CONNECT_END,
    "connection.connect_unix_socket.started": _CONNECT_START,
    "connection.connect_unix_socket.complete": _CONNECT_END,
    "connection.start_tls.started": _TLS_START,
    "connection.start_tls.complete": _TLS_END,
    "http11.send_request_headers.started": _SEND_START,
    "http11.send_request_body.complete": _SEND_END,
    "http11.receive_response_headers.complete": _HEADERS_DONE,
    "http2.send_request_headers.started": _SEND_START,
    "http2.send_request_body.complete": _SEND_END,
    "http2.receive_response_headers.complete": _HEADERS_DONE,
}


class RequestTiming:
    """Marks of one request, filled in by httpcore's `trace` callback (times in ns)."""

    __slots__ = ("end", "marks", "start")

    def __init__(self) -> None:
        self.start = perf_counter_ns()
        self.end = 0
        self.marks = [0, 0, 0, 0, 0, 0, 0]

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        slot = _EVENTS.get(event)
        if slot is not None:
            self.marks[slot] = perf_counter_ns()

    def finish(self) -> None:
        """Mark the end: the response body has been read, or the request failed."""
        self.end = perf_counter_ns()

    def phases_us(self) -> tuple[int, int, int, int, int, int, int]:
        """(duration, blocked, connecting, tls, sending, waiting, receiving) in µs.

        duration = sending + waiting + receiving, as k6 defines http_req_duration; when the
        request never reached the wire (a connect error), duration is the time until it failed.
        """
        m = self.marks
        end = self.end
        send_start = m[_SEND_START]
        if not send_start:
            total = (end - self.start) // 1000
            connecting = (m[_CONNECT_END] - m[_CONNECT_START]) // 1000 if m[_CONNECT_END] else 0
            return total, total, connecting, 0, 0, 0, 0
        send_end = m[_SEND_END] or send_start
        headers_done = m[_HEADERS_DONE] or end
        connecting = (m[_CONNECT_END] - m[_CONNECT_START]) // 1000 if m[_CONNECT_END] else 0
        tls = (m[_TLS_END] - m[_TLS_START]) // 1000 if m[_TLS_END] else 0
        return (
            (end - send_start) // 1000,
            (send_start - self.start) // 1000,
            connecting,
            tls,
            (send_end - send_start) // 1000,
            (headers_done - send_end) // 1000,
            (end - headers_done) // 1000,
        )
