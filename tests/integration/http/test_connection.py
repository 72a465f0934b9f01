"""dmsload's HTTP/1.1 connection against scripted raw-socket servers on loopback."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from dmsload.http.client import HttpClient, HttpResponse, RequestRecorder
from dmsload.http.transport import VUTransport
from dmsload.metrics import Registry, define_builtin_metrics

Handler = Callable[[socket.socket], None]


class ScriptedServer:
    """Accepts connections on a free loopback port and runs `handler` on each, in threads."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        deadline = time.monotonic() + 60  # bounded
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            if self.tls is not None:
                try:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    conn.close()
                    continue
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            self.handler_with_log(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def handler_with_log(self, conn: socket.socket) -> None:
        self.handler(_LoggingSocket(conn, self.requests))  # type: ignore[arg-type]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


class _LoggingSocket:
    def __init__(self, conn: socket.socket, log: list[bytes]) -> None:
        self._conn = conn
        self._log = log

    def read_request(self) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self._conn.recv(65536)
            if not chunk:
                return b""
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        while len(rest) < length:
            rest += self._conn.recv(65536)
        self._log.append(head + b"\r\n\r\n" + rest)
        return head

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@pytest.fixture
def serve() -> Iterator[Callable[..., ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(handler: Handler, tls: ssl.SSLContext | None = None) -> ScriptedServer:
        server = ScriptedServer(handler, tls)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _client(timeout_s: float = 5.0, ssl_context: ssl.SSLContext | None = None) -> HttpClient:
    registry = Registry()
    recorder = RequestRecorder(registry, define_builtin_metrics(registry), {"scenario": "t"})
    return HttpClient(
        recorder, ssl_context=ssl_context or ssl.create_default_context(), timeout_s=timeout_s
    )


def _requests(
    client: HttpClient, calls: list[tuple[str, str, dict[str, Any]]]
) -> list[HttpResponse]:
    async def go() -> list[HttpResponse]:
        out = []
        for method, url, kwargs in calls:
            out.append(await client.request(method, url, **kwargs))
        await client.aclose()
        return out

    return anyio.run(go)


def _reply(status: str, headers: list[str], body: bytes = b"") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n"
    ).encode() + body


def test_keep_alive_reuses_one_connection_and_counts_wire_bytes(serve: Any) -> None:
    def handler(conn: Any) -> None:
        while conn.read_request():
            conn.sendall(_reply("200 OK", ["Content-Length: 5"], b"hello"))

    server = serve(handler)
    client = _client()
    url = f"http://127.0.0.1:{server.port}/a?x=1"
    responses = _requests(client, [("GET", url, {}), ("POST", url, {"json": {"k": 1}})])
    assert [r.status for r in responses] == [200, 200]
    assert responses[1].content == b"hello"
    assert server.connections == 1
    first, second = server.requests
    assert first.startswith(b"GET /a?x=1 HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:" in first and b"User-Agent: dmsload/" in first
    assert second.endswith(b'\r\n\r\n{"k":1}')
    assert b"Content-Type: application/json" in second and b"Content-Length: 7" in second
    view = client.recorder.registry.view("data_sent")
    assert view is not None and view.counter_total() == len(first) + len(second)
    received = client.recorder.registry.view("data_received")
    expected = 2 * len(_reply("200 OK", ["Content-Length: 5"], b"hello"))
    assert received is not None and received.counter_total() == expected


def test_chunked_bodies_interim_responses_and_split_packets(serve: Any) -> None:
    def handler(conn: Any) -> None:
        conn.read_request()
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        parts = [
            b"HTTP/1.1 200 OK\r\nTransfer-",
            b"Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n",
            b"E\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n",
        ]
        for part in parts:
            conn.sendall(part)
            time.sleep(0.01)
        conn.read_request()
        conn.sendall(_reply("204 No Content", []))
        conn.read_request()
        conn.sendall(_reply("304 Not Modified", ["ETag: x"]))
        conn.read_request()
        conn.sendall(_reply("200 OK", ["Content-Length: 100"]))  # HEAD: no body follows
        conn.read_request()  # the parser is not misled by the HEAD's Content-Length
        conn.sendall(_reply("200 OK", ["Content-Length: 5"], b"after"))

    server = serve(handler)
    url = f"http://127.0.0.1:{server.port}/"
    got = _requests(
        _client(),
        [(method, url, {}) for method in ("GET", "DELETE", "GET", "HEAD", "GET")],
    )
    assert got[0].content == b"Wikipedia in\r\n\r\nchunks."
    assert [r.status for r in got] == [200, 204, 304, 200, 200]
    assert got[3].content == b"" and got[4].content == b"after"
    assert got[2].headers["etag"] == "x"
    assert server.connections == 1


def test_bodies_read_until_close_and_connection_close(serve: Any) -> None:
    def handler(conn: Any) -> None:
        conn.read_request()
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")

    server = serve(handler)
    url = f"http://127.0.0.1:{server.port}/"
    got = _requests(_client(), [("GET", url, {}), ("GET", url, {})])
    assert [r.content for r in got] == [b"all of it", b"all of it"]
    assert server.connections == 2


def test_idle_closes_reconnect_but_dropped_requests_are_failures_never_replayed(
    serve: Any,
) -> None:
    def handler(conn: Any) -> None:
        conn.read_request()
        conn.sendall(_reply("200 OK", ["Content-Length: 2"], b"ok"))
        if len(server.requests) == 1:
            return  # closes the idle keep-alive connection: the next request reconnects
        conn.read_request()  # reads the next request, then closes without answering

    server = serve(handler)
    url = f"http://127.0.0.1:{server.port}/"

    async def go() -> list[HttpResponse]:
        client = _client()
        first = await client.request("GET", url)
        await anyio.sleep(0.2)  # the server's close arrives while the connection is idle
        rest = [await client.request("GET", url) for _ in range(2)]
        await client.aclose()
        return [first, *rest]

    got = anyio.run(go)
    assert [r.status for r in got] == [200, 200, 0]
    assert got[2].error == "server closed the connection"
    assert len(server.requests) == 3  # the dropped GET was sent once, not replayed
    assert server.connections == 2


@pytest.mark.serial
def test_timeouts_refusals_and_garbage_become_failed_requests(serve: Any) -> None:
    def silent(conn: Any) -> None:
        conn.read_request()
        time.sleep(1.5)

    def garbage(conn: Any) -> None:
        conn.read_request()
        conn.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")

    slow = serve(silent)
    junk = serve(garbage)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    started = time.monotonic()
    got = _requests(
        _client(timeout_s=0.3),
        [
            ("GET", f"http://127.0.0.1:{slow.port}/", {}),
            ("GET", f"http://127.0.0.1:{port}/", {}),
            ("GET", f"http://127.0.0.1:{junk.port}/", {}),
            ("GET", "ftp://127.0.0.1/", {}),
        ],
    )
    assert time.monotonic() - started < 1.4
    assert [r.error for r in got] == [
        "request timeout",
        "connection refused",
        "invalid HTTP response",
        "invalid URL",
    ]
    assert all(r.status == 0 and not r.expected for r in got)


def test_each_request_gets_its_own_timeout_on_a_reused_connection(serve: Any) -> None:
    """The connection keeps one timer and moves its deadline: a request sent after an idle
    spell times out a full timeout after it was sent, not at an earlier request's deadline,
    and a timer that fires on an idle connection leaves it usable."""

    def handler(conn: Any) -> None:
        conn.read_request()
        conn.sendall(_reply("200 OK", ["Content-Length: 2"], b"ok"))  # at once
        conn.read_request()
        conn.sendall(_reply("200 OK", ["Content-Length: 2"], b"ok"))  # after an idle spell
        conn.read_request()
        time.sleep(1.5)  # never in time

    server = serve(handler)
    url = f"http://127.0.0.1:{server.port}/"
    client = _client(timeout_s=0.4)

    async def go() -> tuple[list[HttpResponse], float]:
        first = await client.request("GET", url)
        await anyio.sleep(0.6)  # longer than the timeout: the timer fires while idle
        second = await client.request("GET", url)
        await anyio.sleep(0.25)  # the third is sent 0.25 s into the second's window
        started = time.monotonic()
        third = await client.request("GET", url)
        took = time.monotonic() - started
        await client.aclose()
        return [first, second, third], took

    got, took = anyio.run(go)
    assert [(r.status, r.error) for r in got] == [(200, None), (200, None), (0, "request timeout")]
    assert server.connections == 1
    assert 0.38 < took < 1.2, took


def test_the_transport_serves_httpx_async_client(serve: Any) -> None:
    def handler(conn: Any) -> None:
        while conn.read_request():
            conn.sendall(_reply("201 Created", ["Location: /x/1", "Content-Length: 0"]))

    server = serve(handler)

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=VUTransport()) as client:
            return await client.post(f"http://127.0.0.1:{server.port}/x", json={"a": 1})

    response = anyio.run(go)
    assert response.status_code == 201
    assert response.headers["location"] == "/x/1"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_is_timed_separately_from_connecting(serve: Any, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)

    def handler(conn: Any) -> None:
        while conn.read_request():
            conn.sendall(_reply("200 OK", ["Content-Length: 3"], b"tls"))

    server = serve(handler, tls=server_ctx)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    client = _client(ssl_context=client_ctx)
    url = f"https://127.0.0.1:{server.port}/"
    got = _requests(client, [("GET", url, {}), ("GET", url, {})])
    assert [r.content for r in got] == [b"tls", b"tls"]
    tls = client.recorder.registry.view("http_req_tls_handshaking")
    assert tls is not None and tls.value("max", 1) is not None
    assert (tls.value("max", 1) or 0) > 0 and tls.value("min", 1) == 0  # only the first
    unverified = _requests(_client(), [("GET", url, {})])[0]
    assert unverified.status == 0 and unverified.error is not None
