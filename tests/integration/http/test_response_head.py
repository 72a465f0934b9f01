"""The response head kept whole by the llhttp path: headers, reason and framing read from it.

A scripted server on loopback answers each request with canned byte pieces (sent apart, so a
head can arrive split across reads); the client sees exactly the status, headers and body
the server meant.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import anyio
import httpx
import pytest

from dmsload.http.client import HttpClient, HttpResponse, RequestRecorder
from dmsload.http.connection import MAX_BODY_BYTES
from dmsload.http.response_headers import ResponseHeaders, head_fields, reason_of
from dmsload.http.transport import VUTransport
from dmsload.metrics import Registry, define_builtin_metrics

Reply = list[bytes]
"""The pieces of one response, sent 10 ms apart; an empty piece closes the connection."""


class CannedServer:
    """One loopback connection at a time; each request gets the next canned reply."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = list(replies)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        deadline = time.monotonic() + 30  # bounded
        while self.replies and not self._stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(5)
            with conn:
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        while self.replies:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            for piece in self.replies.pop(0):
                if not piece:
                    return  # close the connection
                conn.sendall(piece)
                time.sleep(0.01)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def canned() -> Iterator[list[CannedServer]]:
    servers: list[CannedServer] = []
    yield servers
    for server in servers:
        server.close()


def _get(servers: list[CannedServer], replies: list[Reply]) -> list[HttpResponse]:
    server = CannedServer(replies)
    servers.append(server)
    registry = Registry()
    recorder = RequestRecorder(registry, define_builtin_metrics(registry), {"scenario": "t"})
    client = HttpClient(recorder, ssl_context=None, timeout_s=5.0)
    url = f"http://127.0.0.1:{server.port}/"

    async def go() -> list[HttpResponse]:
        out = [await client.request("GET", url) for _ in replies]
        await client.aclose()
        return out

    return anyio.run(go)


def test_headers_come_from_the_final_head_however_it_is_split(
    canned: list[CannedServer],
) -> None:
    head = (
        b"HTTP/1.1 200 Fine Thanks\r\nServer: canned\r\nX-Dup: a\r\nx-dup: b\r\n"
        b"X-Empty:\r\nX-Pad:  padded \t \r\nContent-Length: 4\r\n\r\n"
    )
    interim = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
    replies = [
        [head + b"body"],
        [head[:20], head[20:60], head[60:-1], head[-1:] + b"body"],
        [interim + head[:30], head[30:] + b"bo", b"dy"],
        [interim, interim + head, b"body"],
    ]
    for got in _get(canned, replies):
        assert (got.status, got.content, got.error) == (200, b"body", None)
        assert dict(got.headers) == {
            "server": "canned",
            "x-dup": "a, b",
            "x-empty": "",
            "x-pad": "padded",
            "content-length": "4",
        }
        assert "link" not in got.headers  # the interim head's headers are not the response's


def test_framing_is_read_from_the_head_when_the_body_is_still_to_come(
    canned: list[CannedServer],
) -> None:
    too_large = f"Content-Length: {MAX_BODY_BYTES + 1}".encode()
    replies = [
        # no framing header (a name that only ends in content-length is not one): until close
        [b"HTTP/1.1 200 OK\r\nX-Content-Length: 3\r\n\r\n", b"all ", b"of it", b""],
        # Content-Length on the head's last line, the body in two more reads
        [b"HTTP/1.1 200 OK\r\nServer: s\r\ncontent-LENGTH: 9\r\n\r\n", b"in ", b"pieces"],
        # an announced body over the limit fails at once, on the last line or not
        [b"HTTP/1.1 200 OK\r\n" + too_large + b"\r\n\r\n", b"x" * 100],
        [b"HTTP/1.1 200 OK\r\n" + too_large + b"\r\nServer: s\r\n\r\n", b"x" * 100],
        [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"3\r\nabc\r\n0\r\n\r\n"],
    ]
    started = time.monotonic()
    got = _get(canned, replies)
    assert [(r.status, r.content) for r in got[:2]] == [(200, b"all of it"), (200, b"in pieces")]
    assert [(r.status, r.error) for r in got[2:4]] == [(0, "response body too large")] * 2
    assert (got[4].status, got[4].content) == (200, b"abc")
    assert time.monotonic() - started < 4  # no failure waited for the 5 s timeout


def test_junk_after_a_complete_response_keeps_its_headers(canned: list[CannedServer]) -> None:
    replies = [
        [b"HTTP/1.1 201 Created\r\nLocation: /x/1\r\nContent-Length: 2\r\n\r\nokGARBAGE\r\n"],
        [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nagain"],
    ]
    first, second = _get(canned, replies)
    assert (first.status, first.content, first.headers.get("location")) == (201, b"ok", "/x/1")
    assert (second.status, second.content) == (200, b"again")


def test_a_second_response_in_the_same_read_does_not_replace_the_first(
    canned: list[CannedServer],
) -> None:
    first = b"HTTP/1.1 201 Created\r\nLocation: /x/1\r\nContent-Length: 2\r\n\r\nok"
    second = b"HTTP/1.1 503 Busy\r\nX-Second: 1\r\nContent-Length: 4\r\n\r\nbusy"
    replies = [[first + second], [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nagain"]]
    got, fresh = _get(canned, replies)
    assert (got.status, got.content, got.error) == (201, b"ok", None)
    assert dict(got.headers) == {"location": "/x/1", "content-length": "2"}
    assert (fresh.status, fresh.content) == (200, b"again")  # on a new connection


def test_the_httpx_transport_sees_the_reason_and_the_raw_headers(
    canned: list[CannedServer],
) -> None:
    server = CannedServer(
        [[b"HTTP/1.1 202 Taken In Hand\r\nA: 1\r\nB:  two words \r\nContent-Length: 0\r\n\r\n"]]
    )
    canned.append(server)

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=VUTransport()) as client:
            return await client.get(f"http://127.0.0.1:{server.port}/")

    response = anyio.run(go)
    assert response.status_code == 202
    assert response.reason_phrase == "Taken In Hand"
    assert response.headers.raw == [(b"A", b"1"), (b"B", b"two words"), (b"Content-Length", b"0")]


@pytest.mark.parametrize(
    ("head", "fields", "reason"),
    [
        (b"HTTP/1.1 200 OK", [], b"OK"),
        (b"HTTP/1.1 200", [], b""),
        (b"HTTP/1.1 404 Not  Found \r\nA: 1", [(b"A", b"1")], b"Not  Found "),
        (b"HTTP/1.0 200 \r\nA:\r\nB: x:y ", [(b"A", b""), (b"B", b"x:y")], b""),
    ],
)
def test_a_head_is_split_into_fields_and_reason(
    head: bytes, fields: list[tuple[bytes, bytes]], reason: bytes
) -> None:
    assert head_fields(head) == fields
    assert reason_of(head) == reason
    assert ResponseHeaders(head=head).raw == fields
