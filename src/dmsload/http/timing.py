"""Per-request timing marks, set by the connection as it works (k6's http_req_* breakdown)."""

from __future__ import annotations

from time import perf_counter_ns

CONNECT_START = 0
CONNECT_END = 1
TLS_START = 2
TLS_END = 3
SEND_START = 4
SEND_END = 5
FIRST_BYTE = 6


class RequestTiming:
    """Marks of one request in perf_counter nanoseconds; 0 means "did not happen"."""

    __slots__ = ("end", "marks", "start")

    def __init__(self) -> None:
        self.start = perf_counter_ns()
        self.end = 0
        self.marks = [0, 0, 0, 0, 0, 0, 0]

    def finish(self) -> None:
        """Mark the end: the response body has been read, or the request failed."""
        self.end = perf_counter_ns()

    def phases_us(self) -> tuple[int, int, int, int, int, int, int]:
        """`phases_ns` in whole µs (each phase truncated)."""
        d, b, c, t, s, w, r = self.phases_ns()
        return d // 1000, b // 1000, c // 1000, t // 1000, s // 1000, w // 1000, r // 1000

    def phases_ns(self) -> tuple[int, int, int, int, int, int, int]:
        """(duration, blocked, connecting, tls, sending, waiting, receiving) in ns.

        As k6: duration = sending + waiting + receiving; waiting is the time to the first
        response byte; blocked is the time before the request could be sent, connecting and
        TLS included. When the request never reached the wire (a connect error), duration is
        the time until it failed.
        """
        m = self.marks
        end = self.end
        connecting = m[CONNECT_END] - m[CONNECT_START] if m[CONNECT_END] else 0
        tls = m[TLS_END] - m[TLS_START] if m[TLS_END] else 0
        send_start = m[SEND_START]
        if not send_start:
            total = end - self.start
            return total, total, connecting, tls, 0, 0, 0
        send_end = m[SEND_END] or send_start
        first_byte = m[FIRST_BYTE] or end
        if first_byte < send_end:  # the reply began before the body was fully written
            send_end = first_byte
        return (
            end - send_start,
            send_start - self.start,
            connecting,
            tls,
            send_end - send_start,
            first_byte - send_end,
            end - first_byte,
        )
