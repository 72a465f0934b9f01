"""Response parsing alone: dmsload's hand HTTP/1.1 parser against httptools (llhttp).

Feeds the same keep-alive response (an nginx-like head and a 198-byte JSON body; or chunked
with --chunked) N times to each parser, in one process, and prints the CPU µs per response.
The httptools side does the same work the connection needs: status, the header list, the
body, keep-alive.

    python scripts/bench/parser.py [--count 200000] [--chunked]
"""

from __future__ import annotations

import argparse
import time

import httptools

from dmsload.http.connection import _Http11Protocol

BODY = b'{"status":"ok","items":[' + b",".join(b'{"id":%d}' % i for i in range(16)) + b"]}"
HEAD = (
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 01 Dec 2026 21:00:00 GMT\r\n"
    b'Content-Type: application/json\r\nConnection: keep-alive\r\nETag: "674c3a1f-c6"\r\n'
)


def response(chunked: bool) -> bytes:
    if chunked:
        return (
            HEAD + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % len(BODY) + BODY + b"\r\n0\r\n\r\n"
        )
    return HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY


def hand(data: bytes, count: int) -> float:
    protocol = _Http11Protocol()
    started = time.process_time()
    for _ in range(count):
        protocol._reset(False)
        protocol.buffer += data
        assert protocol._parse() and protocol.body == BODY
    return time.process_time() - started


class _Sink:
    """httptools callbacks collecting one response."""

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.parts: list[bytes] = []
        self.body = b""
        self.done = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self.parts.append(body)

    def on_message_complete(self) -> None:
        self.body = b"".join(self.parts)
        self.done = True


def llhttp(data: bytes, count: int) -> float:
    sink = _Sink()
    parser = httptools.HttpResponseParser(sink)
    started = time.process_time()
    for _ in range(count):
        sink.headers, sink.parts, sink.done = [], [], False
        parser.feed_data(data)
        assert sink.done and sink.body == BODY
        parser.get_status_code()
        parser.should_keep_alive()
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--chunked", action="store_true")
    args = parser.parse_args()
    data = response(args.chunked)
    rows = {"hand": hand(data, args.count), "httptools": llhttp(data, args.count)}
    framing = "chunked" if args.chunked else "Content-Length"
    print(f"parse {args.count:,} responses of {len(data)} bytes ({framing}), one process")
    for name, cpu in rows.items():
        print(f"{name:<10} {cpu * 1e6 / args.count:6.2f} µs CPU per response")
    print(f"ratio hand/httptools: {rows['hand'] / rows['httptools']:.2f}x")


if __name__ == "__main__":
    main()
