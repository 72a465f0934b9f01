"""Malformed and edge-case responses (the cases llhttp's test suite covers) from a misbehaving
server on loopback: each is a clear failed request, never a hang or a wrong body."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator

import anyio
import pytest

from dmsload.http.client import HttpClient, HttpResponse, RequestRecorder
from dmsload.metrics import Registry, define_builtin_metrics

_OK = b"HTTP/1.1 200 OK\r\n"


class CannedServer:
    """Answers every request on a free loopback port with one canned byte string, then keeps
    the connection open (so a parser that waits for more would hang until the timeout)."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        deadline = time.monotonic() + 30  # bounded
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            conn.sendall(self.reply)
            conn.recv(1)  # until the client closes (or 5 s)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def ask() -> Iterator[object]:
    servers: list[CannedServer] = []

    def one(reply: bytes) -> HttpResponse:
        server = CannedServer(reply)
        servers.append(server)
        registry = Registry()
        recorder = RequestRecorder(registry, define_builtin_metrics(registry), {"scenario": "t"})
        client = HttpClient(recorder, ssl_context=ssl.create_default_context(), timeout_s=2.0)

        async def go() -> HttpResponse:
            try:
                return await client.request("GET", f"http://127.0.0.1:{server.port}/")
            finally:
                await client.aclose()

        return anyio.run(go)

    yield one
    for server in servers:
        server.close()


MALFORMED = {
    "obsolete line folding": _OK + b"Content-Length: 2\r\nX-A: a\r\n folded: b\r\n\r\nhi",
    "obsolete line folding, tab": _OK + b"X-A: a\r\n\tmore\r\nContent-Length: 2\r\n\r\nhi",
    "conflicting Content-Length": _OK + b"Content-Length: 2\r\nContent-Length: 5\r\n\r\nhello",
    "Content-Length list": _OK + b"Content-Length: 2, 5\r\n\r\nhello",
    "negative Content-Length": _OK + b"Content-Length: -1\r\n\r\nhi",
    "signed Content-Length": _OK + b"Content-Length: +2\r\n\r\nhi",
    "space before the colon": _OK + b"Content-Length : 2\r\n\r\nhi",
    "Transfer-Encoding with Content-Length": (
        _OK + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
    ),
    "bare LF head": b"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi",
    "bare LF in one header line": _OK + b"Content-Length: 2\nX-A: b\r\n\r\nhi",
    "bare CR in one header line": _OK + b"Content-Length: 2\rX-A: b\r\n\r\nhi",
    "negative chunk size": _OK + b"Transfer-Encoding: chunked\r\n\r\n-2\r\nhi\r\n0\r\n\r\n",
    "0x chunk size": _OK + b"Transfer-Encoding: chunked\r\n\r\n0x2\r\nhi\r\n0\r\n\r\n",
    "chunk longer than its size": _OK + b"Transfer-Encoding: chunked\r\n\r\n2\r\nhiXX\r\n0\r\n\r\n",
    "oversized head in one piece": _OK + b"X-Big: " + b"a" * 70_000 + b"\r\n\r\n",
    "oversized head, never ended": _OK + b"X-Big: " + b"a" * 70_000,
}


@pytest.mark.parametrize("reply", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.serial
def test_a_malformed_response_is_a_clear_failed_request(ask: object, reply: bytes) -> None:
    started = time.monotonic()
    response = ask(reply)  # type: ignore[operator]
    assert response.error == "invalid HTTP response"
    assert response.status == 0 and not response.expected
    assert time.monotonic() - started < 1.5, "it waited for the timeout instead of failing"


VALID = {
    "chunk extensions and trailers": (
        _OK + b"Transfer-Encoding: chunked\r\n\r\n"
        b"2;ext=1\r\nhi\r\n3;a=b;c\r\n!!!\r\n0;last\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n",
        b"hi!!!",
    ),
    "identical duplicate Content-Length (RFC 9112 6.3)": (
        _OK + b"Content-Length: 2\r\nContent-Length: 2\r\n\r\nhi",
        b"hi",
    ),
    "upper-case hex chunk size": (
        _OK + b"Transfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
        b"0123456789",
    ),
}


@pytest.mark.parametrize(("reply", "body"), VALID.values(), ids=VALID.keys())
def test_an_unusual_but_valid_response_gives_the_exact_body(
    ask: object, reply: bytes, body: bytes
) -> None:
    response = ask(reply)  # type: ignore[operator]
    assert response.error is None
    assert response.status == 200
    assert response.content == body
