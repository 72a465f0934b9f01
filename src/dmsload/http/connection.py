"""One keep-alive HTTP/1.1 client connection on an asyncio Protocol.

httpx's default stack (httpcore + h11) costs about 400 µs of CPU per request on our machine
class; this connection costs a few tens, which is what lets one process out-run k6. It
speaks exactly what a load generator needs: HTTP/1.1 with keep-alive, Content-Length and
chunked bodies, read-until-close bodies, 1xx interim responses, TLS, per-phase timing and the
exact byte counts on the wire. Errors are raised as httpx exceptions.
"""

from __future__ import annotations

import asyncio
import math
import ssl
from dataclasses import dataclass
from time import perf_counter_ns
from typing import cast

import httptools
import httpx

from dmsload.http.response_headers import head_fields, reason_of
from dmsload.http.timing import (
    CONNECT_END,
    CONNECT_START,
    FIRST_BYTE,
    SEND_END,
    SEND_START,
    TLS_END,
    TLS_START,
    RequestTiming,
)
from dmsload.http.tls import TlsSource, context_of

_MAX_HEAD = 64 * 1024
MAX_BODY_BYTES = 32 * 1024 * 1024
"""A response body larger than this fails the request (`response body too large`) and closes
the connection, so that a runaway answer cannot take the load generator's memory."""
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_NO_BODY_STATUSES = frozenset({204, 304})


@dataclass(slots=True)
class RawResponse:
    """A parsed response: status, raw head, body and the bytes seen on the wire."""

    status: int
    head: bytes
    """The status line and header lines, CRLF-separated, without the blank line: the
    reason and the headers are decoded from it only when they are read."""
    body: bytes
    sent_bytes: int
    received_bytes: int

    @property
    def reason(self) -> bytes:
        """The status line's reason phrase."""
        return reason_of(self.head)

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        """The (name, value) pairs of the head, in order."""
        return head_fields(self.head)


class _ProtocolError(Exception):
    """The server sent something that is not HTTP/1.x."""


class _Unsolicited(Exception):
    """Another response began in the bytes that completed the one awaited."""


_FRAMING_NAME_LENGTHS = frozenset(
    map(len, (b"connection", b"content-length", b"transfer-encoding"))
)
"""Lengths of the names that frame a response (Connection, Content-Length,
Transfer-Encoding): only those names are lower-cased and compared."""


def _check_line_endings(head: bytes) -> None:
    crlf = head.count(b"\r\n")
    if head.count(b"\n") != crlf or head.count(b"\r") != crlf:
        raise _ProtocolError("bare LF or CR line ending in the response head")


def _fields(fields: bytes) -> list[tuple[bytes, bytes]]:
    """The (name, value) pairs of a head's header lines; names what is wrong with a bad one."""
    headers: list[tuple[bytes, bytes]] = []
    for line in fields.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            raise _ProtocolError(f"obsolete line folding in the header line {line[:80]!r}")
        name, colon, value = line.partition(b":")
        if not colon or not name or name.rstrip() != name:
            raise _ProtocolError(f"malformed header line {line[:80]!r}")
        headers.append((name, value.strip()))
    return headers


class ResponseTooLarge(httpx.TransportError):
    """A response body over `MAX_BODY_BYTES`: the request fails and the connection closes."""


def _too_large() -> ResponseTooLarge:
    return ResponseTooLarge(f"response body larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB")


class _Http11Protocol(asyncio.Protocol):
    """Reads one response at a time; wakes the waiting request when it is complete."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        """The loop the connection was made on (set by `connection_made`)."""
        self.buffer = bytearray()
        self.waiter: asyncio.Future[None] | None = None
        self.lost = False
        self.lost_error: BaseException | None = None
        self.paused = False
        self.drain: asyncio.Future[None] | None = None
        self.timing: RequestTiming | None = None
        self.received = 0
        self.deadline = math.inf
        """When the request in flight times out (loop time)."""
        self.timer: asyncio.TimerHandle | None = None
        self.llhttp: httptools.HttpResponseParser | None = None
        """The connection's llhttp parser (kept across keep-alive responses)."""
        self._reset(False)

    def _reset(self, head_request: bool) -> None:
        self.head_request = head_request
        self.status = 0
        self.head: bytes | None = None
        """The final response's head, once it is complete (see `RawResponse.head`)."""
        self.keep_alive = True
        self.mode = 0  # 0 head pending, 1 content-length, 2 chunked, 3 until close, 4 done
        self.remaining = 0
        self.chunks: list[bytes] = []
        self.body = b""
        self.error: Exception | None = None
        self.interim = False
        self.interims = 0
        """How many interim (1xx) heads came before this response's head."""
        self.body_size = 0
        self.head_parts: list[bytes] = []
        """What llhttp was fed of this response before its head was complete."""

    def begin(self, timing: RequestTiming, head_request: bool) -> asyncio.Future[None]:
        """Prepare for the next response; returns the future that completes with it."""
        self._reset(head_request)
        self.timing = timing
        self.received = 0
        loop = self.loop
        if loop is None:
            loop = self.loop = asyncio.get_running_loop()
        self.waiter = loop.create_future()
        if self.buffer:  # bytes that came while idle: the server spoke out of turn
            self.buffer.clear()
            self.llhttp = None
        if not head_request and self.llhttp is None:
            self.llhttp = httptools.HttpResponseParser(self)
        return self.waiter

    # ---- asyncio callbacks -------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; they implement it
        self.transport = cast(asyncio.Transport, transport)
        self.loop = asyncio.get_running_loop()

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            self.buffer += data  # unsolicited; discarded by the next begin()
            if len(self.buffer) > _MAX_HEAD and self.transport is not None:
                self.transport.close()  # not a response to anything: stop reading it
            return
        if not self.received and self.timing is not None:
            self.timing.marks[FIRST_BYTE] = perf_counter_ns()
        self.received += len(data)
        try:
            if self.head_request or self.llhttp is None:
                self.buffer += data
                done = self._parse()
            else:
                done = self._feed_llhttp(data)
            if not done and self.received > MAX_BODY_BYTES + _MAX_HEAD:
                raise _too_large()
        except _ProtocolError as exc:
            self.error = httpx.RemoteProtocolError(str(exc))
            done = True
        except ResponseTooLarge as exc:
            self.error = exc
            done = True
        if self.error is not None:
            self.keep_alive = False
            self.buffer.clear()
            self.chunks = []
            if self.transport is not None:  # read no more of it (a 100 MB body goes on coming)
                self.transport.close()
        if done:
            waiter.set_result(None)

    def eof_received(self) -> bool | None:
        return False  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.lost_error = exc
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            if self.mode == 3:
                self.body = b"".join(self.chunks) if self.chunks else bytes(self.buffer)
                self.chunks = []
                self.buffer.clear()
                self.mode = 4
            waiter.set_result(None)
        drain = self.drain
        if drain is not None and not drain.done():
            drain.set_result(None)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        drain = self.drain
        if drain is not None and not drain.done():
            drain.set_result(None)

    # ---- parsing -----------------------------------------------------------------------
    # ---- llhttp (httptools): the common path ---------------------------------------------
    def _feed_llhttp(self, data: bytes) -> bool:
        """Feed llhttp; True once the response is complete.

        A head llhttp refuses is parsed again by the hand parser, which either names the
        problem or accepts what RFC 9112 lets a client accept (identical duplicate
        Content-Length headers, which llhttp refuses and Go's client, so k6, accepts).
        """
        parser = self.llhttp
        assert parser is not None
        head_pending = self.mode == 0
        if head_pending:
            self.head_parts.append(data)
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.mode, self.keep_alive = 4, False  # 101: the connection is not HTTP any more
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _Unsolicited):
                return self._complete_before_junk(head_pending)
            if isinstance(exc.__context__, ResponseTooLarge | _ProtocolError):
                raise exc.__context__ from None
            raise _ProtocolError(str(exc)) from None
        except httptools.HttpParserError as exc:
            if self.mode == 4:
                return self._complete_before_junk(head_pending)
            self.llhttp = None  # its state is spent; the next response gets a new one
            if self.mode != 0:
                raise _ProtocolError(str(exc)) from None
            self.mode, self.interim = 0, False
            self.buffer += b"".join(self.head_parts)
            return self._parse()
        if self.mode == 0:
            if self.received > _MAX_HEAD:
                raise _ProtocolError("response head larger than 64 KiB")
            return False
        if head_pending:  # the head was completed by this read
            self._take_head()
        return self.mode == 4

    def _complete_before_junk(self, head_pending: bool) -> bool:
        """Bytes after a complete response (junk, or a response nobody asked for): keep the
        response, drop the connection and its parser."""
        self.llhttp = None
        if head_pending:
            self._take_head()
        self.keep_alive = False
        return True

    def _take_head(self) -> None:
        """Keep the head llhttp has just validated; decide how an unfinished body ends.

        llhttp calls no Python code per header: the head's bytes are kept whole, and
        the few things dmsload needs from its headers are read from them here, only when
        the response is not already complete (a body that ends at EOF, an announced body
        over the limit). 1xx heads have no body, so the final head follows the
        `interims`-th blank line.
        """
        parts = self.head_parts
        self.head_parts = []
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        start = 0
        for _ in range(self.interims):
            start = data.index(b"\r\n\r\n", start) + 4
        end = data.find(b"\r\n\r\n", start)
        if end < 0:  # a head llhttp completed on LF endings (only with lenient flags)
            raise _ProtocolError("bare LF line ending in the response head")
        if end - start > _MAX_HEAD:
            raise _ProtocolError("response head larger than 64 KiB")
        head = self.head = data[start:end]
        if self.mode != 1:
            return
        lower = head.lower()
        at = lower.find(b"\ncontent-length:")
        if at >= 0:
            line_end = head.find(b"\r", at)
            if line_end < 0:  # the last header line
                line_end = len(head)
            if int(head[at + 16 : line_end]) > MAX_BODY_BYTES:
                raise _too_large()
        elif b"\ntransfer-encoding:" not in lower and self.status not in _NO_BODY_STATUSES:
            self.mode = 3  # the body ends when the server closes (connection_lost finishes it)

    def on_headers_complete(self) -> None:
        """llhttp: the head is complete (`_take_head` keeps it once this read is parsed)."""
        if self.mode == 4:  # a second response in the read that completed the first
            raise _Unsolicited
        parser = self.llhttp
        assert parser is not None
        status = parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self.interim = True  # 100 Continue and the like: the real response follows
            self.interims += 1
            return
        self.status = status
        self.mode = 1

    def on_body(self, body: bytes) -> None:
        """llhttp: a piece of the body."""
        self.body_size += len(body)
        if self.body_size > MAX_BODY_BYTES:
            raise _too_large()
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        """llhttp: the response is complete."""
        if self.interim:
            self.interim = False
            return
        chunks = self.chunks
        self.body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.chunks = []
        parser = self.llhttp
        self.keep_alive = self.mode != 3 and parser is not None and parser.should_keep_alive()
        self.mode = 4

    # ---- the hand parser: HEAD responses, and the heads llhttp refuses ------------------
    def _parse(self) -> bool:
        buffer = self.buffer
        while self.mode == 0:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > _MAX_HEAD:
                    raise _ProtocolError("response head larger than 64 KiB")
                if b"\n\n" in buffer:
                    raise _ProtocolError("bare LF line ending in the response head")
                return False
            if end > _MAX_HEAD:
                raise _ProtocolError("response head larger than 64 KiB")
            head = bytes(buffer[:end])
            _check_line_endings(head)
            self._parse_head(head)
            del buffer[: end + 4]
        if self.mode == 1:
            if len(buffer) < self.remaining:
                return False
            self.body = bytes(buffer[: self.remaining])
            del buffer[: self.remaining]
            self.mode = 4
        elif self.mode == 2:
            if not self._parse_chunks():
                return False
        elif self.mode == 3:
            return False
        return True

    def _parse_head(self, head: bytes) -> None:
        line_end = head.find(b"\r\n")
        status_line = head if line_end < 0 else head[:line_end]
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise _ProtocolError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
        try:
            status = int(parts[1])
        except ValueError:
            raise _ProtocolError(f"bad status code {parts[1][:10]!r}") from None
        if 100 <= status < 200 and status != 101:
            return  # an interim response (100 Continue): the real one follows
        headers = [] if line_end < 0 else _fields(head[line_end + 2 :])
        length = -1
        chunked = False
        transfer_encoded = False
        keep_alive = parts[0] != b"HTTP/1.0"
        for name, value in headers:
            if len(name) not in _FRAMING_NAME_LENGTHS:
                continue
            lower = name.lower()
            if lower == b"content-length":
                if not value.isdigit():
                    raise _ProtocolError(f"bad Content-Length {value[:20]!r}")
                if length >= 0 and int(value) != length:
                    raise _ProtocolError("conflicting Content-Length headers")
                length = int(value)
            elif lower == b"transfer-encoding":
                transfer_encoded = True
                chunked = value.lower().rsplit(b",", 1)[-1].strip() == b"chunked"
            elif lower == b"connection":
                token = value.lower()
                if b"close" in token:
                    keep_alive = False
                elif b"keep-alive" in token:
                    keep_alive = True
        if transfer_encoded and length >= 0:
            raise _ProtocolError("both Transfer-Encoding and Content-Length in one response")
        self.status = status
        self.head = head
        self.keep_alive = keep_alive
        if self.head_request or status in _NO_BODY_STATUSES:
            self.mode, self.remaining = 1, 0
        elif chunked:
            self.mode, self.remaining = 2, -1
        elif length > MAX_BODY_BYTES:
            raise _too_large()
        elif length >= 0:
            self.mode, self.remaining = 1, length
        else:
            self.mode = 3
            self.keep_alive = False

    def _parse_chunks(self) -> bool:
        buffer = self.buffer
        while True:
            if self.remaining < 0:  # expecting a chunk-size line
                end = buffer.find(b"\r\n")
                if end < 0:
                    return False
                size_text = bytes(buffer[:end]).split(b";", 1)[0].strip()
                if not size_text or size_text.strip(_HEX_DIGITS) or len(size_text) > 16:
                    raise _ProtocolError(f"bad chunk size {size_text[:20]!r}")
                size = int(size_text, 16)
                if size > MAX_BODY_BYTES:
                    raise _too_large()
                del buffer[: end + 2]
                if size == 0:
                    self.remaining = -2
                else:
                    self.remaining = size
            if self.remaining == -2:  # trailers until an empty line
                if buffer[:2] == b"\r\n":
                    del buffer[:2]
                else:
                    end = buffer.find(b"\r\n\r\n")
                    if end < 0:
                        return False
                    del buffer[: end + 4]
                self.body = b"".join(self.chunks)
                self.chunks = []
                self.mode = 4
                return True
            if len(buffer) < self.remaining + 2:
                return False
            if buffer[self.remaining : self.remaining + 2] != b"\r\n":
                raise _ProtocolError("chunk data not followed by CRLF")
            self.chunks.append(bytes(buffer[: self.remaining]))
            del buffer[: self.remaining + 2]
            self.remaining = -1


class Http11Connection:
    """A single keep-alive connection to one origin, reopened when the server closes it."""

    def __init__(self, scheme: str, host: str, port: int, ssl_context: TlsSource) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self._protocol: _Http11Protocol | None = None

    async def _connect(self, timing: RequestTiming, timeout: float | None) -> _Http11Protocol:
        loop = asyncio.get_running_loop()
        timing.marks[CONNECT_START] = perf_counter_ns()
        try:
            transport, protocol = await asyncio.wait_for(
                loop.create_connection(_Http11Protocol, self.host, self.port), timeout
            )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connect to {self.host}:{self.port} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(str(exc)) from exc
        timing.marks[CONNECT_END] = perf_counter_ns()
        if self.scheme == "https":
            context = context_of(self.ssl_context)
            timing.marks[TLS_START] = perf_counter_ns()
            try:
                tls = await asyncio.wait_for(
                    loop.start_tls(transport, protocol, context, server_hostname=self.host),
                    timeout,
                )
            except TimeoutError as exc:
                transport.close()
                raise httpx.ConnectTimeout("TLS handshake timed out") from exc
            except (OSError, ssl.SSLError) as exc:
                transport.close()
                raise httpx.ConnectError(f"TLS handshake failed: {exc}") from exc
            if tls is None:  # pragma: no cover - only when the loop closes meanwhile
                raise httpx.ConnectError("TLS handshake failed")
            protocol.transport = tls
            timing.marks[TLS_END] = perf_counter_ns()
        self._protocol = protocol
        return protocol

    async def request(
        self,
        method: str,
        head: bytes,
        body: bytes,
        timing: RequestTiming,
        connect_timeout: float | None,
        read_timeout: float | None,
    ) -> RawResponse:
        """Send a request (`head` is the request line and headers, CRLF-terminated).

        A connection the server closed while it was idle is reopened first. A request the
        server drops after it was sent is NOT replayed, even when idempotent (Go's net/http,
        and so k6, would replay it): the server saw it, so it counts as a failed request.
        """
        protocol = self._protocol
        if protocol is None or protocol.lost:
            protocol = await self._connect(timing, connect_timeout)
        waiter = protocol.begin(timing, method == "HEAD")
        transport = protocol.transport
        assert transport is not None
        loop = protocol.loop
        assert loop is not None
        if read_timeout is not None:
            protocol.deadline = deadline = loop.time() + read_timeout
            if protocol.timer is None:  # one timer per connection, moved on lazily
                protocol.timer = loop.call_at(deadline, _check_deadline, protocol, loop)
        else:
            protocol.deadline = math.inf
        try:
            timing.marks[SEND_START] = perf_counter_ns()
            if body:
                transport.write(head + body)
            else:
                transport.write(head)
            if protocol.paused:
                protocol.drain = loop.create_future()
                try:
                    await protocol.drain
                finally:
                    protocol.drain = None
            timing.marks[SEND_END] = perf_counter_ns()
            await waiter
        except BaseException:
            # cancelled or timed out mid-exchange: the connection's state is unknown
            self.close()
            raise
        finally:
            protocol.waiter = None
        if protocol.error is not None:
            self.close()
            raise protocol.error
        if protocol.mode != 4:
            self.close()
            if protocol.received == 0:
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response."
                ) from protocol.lost_error
            raise httpx.ReadError("the connection closed in the middle of the response") from (
                protocol.lost_error
            )
        response = RawResponse(
            protocol.status,
            protocol.head or b"",
            protocol.body,
            len(head) + len(body),
            protocol.received,
        )
        if not protocol.keep_alive:
            self.close()
        return response

    def close(self) -> None:
        """Close the connection (a later request reconnects)."""
        protocol = self._protocol
        self._protocol = None
        if protocol is not None:
            if protocol.timer is not None:
                protocol.timer.cancel()
                protocol.timer = None
            if protocol.transport is not None:
                protocol.transport.close()


def _check_deadline(protocol: _Http11Protocol, loop: asyncio.AbstractEventLoop) -> None:
    """The connection's timer: fail the request in flight if its deadline has passed, or
    come back at its deadline; an idle connection's timer lapses until the next request.

    One timer per connection instead of one per request: a request only moves the deadline,
    which saved a timer's creation and cancellation on every request (docs/performance.md).
    """
    protocol.timer = None
    active = [f for f in (protocol.waiter, protocol.drain) if f is not None and not f.done()]
    if not active:
        return
    if loop.time() >= protocol.deadline:
        _expire(protocol)
    else:
        protocol.timer = loop.call_at(protocol.deadline, _check_deadline, protocol, loop)


def _expire(protocol: _Http11Protocol) -> None:
    for future in (protocol.waiter, protocol.drain):
        if future is not None and not future.done():
            future.set_exception(httpx.ReadTimeout("timed out waiting for the response"))
