"""Request heads built by `request_head.py` carry what httpx's `Request` would put on the wire."""

from __future__ import annotations

import httpx
import pytest

from dmsload.http.request_head import HeadBuilder, TargetParser
from dmsload.http.response_headers import ResponseHeaders

URLS = [
    "http://127.0.0.1:8080/a/b?x=1&y=2",
    "http://127.0.0.1:8080/a/b?x=1&y=%20z",
    "http://127.0.0.1:8080/a b/c",
    "http://127.0.0.1:8080/caf\u00e9?q=\u00fc",
    "http://127.0.0.1:8080/a/./b/../c",
    "http://127.0.0.1:8080/.well-known/x",
    "http://127.0.0.1:8080/a#fragment",
    "http://127.0.0.1:8080",
    "http://127.0.0.1:8080?x=/y",
    "http://user:pw@127.0.0.1:8080/x",
    "http://127.0.0.1:80/x",
    "https://h.example/x",
    "https://h.example:443/x",
    "HTTP://H.Example:8443/x?a=b",
    "http://[::1]:8080/x",
    "http://localhost:8080/ed-fi/students?offset=0&limit=25&totalCount=true",
    "http://localhost:8080/ed-fi/students/7f3e0a52c1d94b6e8a1f0c2d3e4f5a6b",
]


def _httpx_wire(method: str, url: str, headers: dict[str, str], body: bytes | None) -> bytes:
    request = httpx.Request(method, url, headers=headers, content=body)
    lines = [request.method.encode(), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    for name, value in request.headers.raw:
        lines += (name, b": ", value, b"\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


def _parts(head: bytes) -> tuple[bytes, list[bytes]]:
    """The request line and the header lines, sorted (the order of headers is free)."""
    lines = head.split(b"\r\n")
    assert lines[-2:] == [b"", b""]
    return lines[0], sorted(line.lower() for line in lines[1:-2])


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_the_head_is_httpx_s_twice_over(url: str, method: str) -> None:
    parser = TargetParser()
    builder = HeadBuilder({"User-Agent": "dmsload/test"})
    body = b'{"a":1}' if method == "POST" else None
    expected = _parts(_httpx_wire(method, url, {"User-Agent": "dmsload/test"}, body))
    for _ in range(2):  # the first call takes httpx's path, the second may take the fast one
        origin, target = parser.split(url)
        head = builder.head(method, origin, target, None, len(body or b""))
        assert _parts(head) == expected


def test_origins_share_one_key_and_the_host_header() -> None:
    parser = TargetParser()
    a, _ = parser.split("http://127.0.0.1:8080/a")
    b, target = parser.split("http://127.0.0.1:8080/b?c=d")
    assert a == b and a.key == ("http", "127.0.0.1", 8080)
    assert a.host_header == b"127.0.0.1:8080" and target == b"/b?c=d"


def test_params_merge_into_the_query() -> None:
    origin, target = TargetParser().split("http://h.example/x?a=1", {"b": 2, "c": "d e"})
    assert (
        target
        == httpx.URL("http://h.example/x?a=1").copy_merge_params({"b": 2, "c": "d e"}).raw_path
    )
    assert origin.host_header == b"h.example"


def test_a_request_s_headers_win_case_insensitively() -> None:
    builder = HeadBuilder({"User-Agent": "dmsload/test", "X-Default": "1"})
    origin, target = TargetParser().split("http://h.example/x")
    head = builder.head("PUT", origin, target, {"user-agent": "mine", "Host": "other"}, 0)
    line, headers = _parts(head)
    assert line == b"PUT /x HTTP/1.1"
    assert headers == [b"content-length: 0", b"host: other", b"user-agent: mine", b"x-default: 1"]


def test_a_given_length_header_is_not_doubled() -> None:
    builder = HeadBuilder({})
    origin, target = TargetParser().split("http://h.example/x")
    head = builder.head("POST", origin, target, {"Transfer-Encoding": "chunked"}, 3)
    assert b"content-length" not in head.lower()


@pytest.mark.parametrize("bad", ["a\r\nInjected: 1", "a\nb", "a\rb"])
def test_a_line_break_in_a_header_is_refused(bad: str) -> None:
    builder = HeadBuilder({})
    origin, target = TargetParser().split("http://h.example/x")
    with pytest.raises(httpx.LocalProtocolError):
        builder.head("GET", origin, target, {"X-Bad": bad}, 0)


@pytest.mark.parametrize("url", ["ftp://h.example/x", "http:///x", "mailto:a@b.c"])
def test_urls_that_cannot_be_sent_raise_httpx_errors(url: str) -> None:
    with pytest.raises((httpx.UnsupportedProtocol, httpx.InvalidURL)):
        TargetParser().split(url)


def test_response_headers_read_as_httpx_headers_do() -> None:
    raw = [(b"Content-Type", b"application/json"), (b"Set-Cookie", b"a=1"), (b"set-cookie", b"b=2")]
    ours = ResponseHeaders(raw)
    theirs = httpx.Headers(raw)
    for key in ("content-type", "Content-Type", "SET-COOKIE", "missing"):
        assert ours.get(key) == theirs.get(key)
        assert (key in ours) == (key in theirs)
    assert sorted(ours) == sorted(theirs.keys())
    assert len(ours) == 2 and ours["Set-Cookie"] == "a=1, b=2"
    with pytest.raises(KeyError):
        ours["missing"]


def test_one_builder_reuses_a_head_only_for_the_same_request() -> None:
    parser = TargetParser()
    shared = HeadBuilder({"User-Agent": "dmsload/test"})
    calls: list[tuple[str, str, dict[str, str] | None, int]] = [
        ("GET", "http://127.0.0.1:8080/a", None, 0),
        ("GET", "http://127.0.0.1:8080/a", {"X-One": "1"}, 0),
        ("GET", "http://127.0.0.1:8080/a", {"X-One": "2"}, 0),
        ("POST", "http://127.0.0.1:8080/a", None, 5),
        ("POST", "http://127.0.0.1:8080/a", None, 7),
        ("POST", "http://127.0.0.1:8080/a", None, 0),
        ("GET", "http://127.0.0.1:8081/a", None, 0),
        ("GET", "http://localhost:8080/a", None, 0),
        ("GET", "http://127.0.0.1:8080/b", None, 0),
    ]
    heads = set()
    for _ in range(3):  # built, then taken from the cache
        for method, url, headers, length in calls:
            origin, target = parser.split(url)
            head = shared.head(method, origin, target, headers, length)
            fresh = HeadBuilder({"User-Agent": "dmsload/test"})
            assert head == fresh.head(method, origin, target, headers, length)
            heads.add(head)
    assert len(heads) == len(calls)
