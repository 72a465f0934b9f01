"""HTTP/1.1 request heads built straight from a method, a URL and headers, with caches.

The VU's hot path: building an httpx `Request` (URL model, `Headers`, content stream) for each
request cost a fifth of the closed loop's CPU (docs/performance.md). Here a URL is split once
into its origin (scheme, host, port and `Host` header, cached) and its request target; a URL
whose target is plain ASCII with nothing to normalise skips httpx's URL parser entirely, any
other URL (percent signs, spaces, non-ASCII, user info, a fragment) goes through `httpx.URL`
so that the bytes on the wire are the ones httpx would send.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

DEFAULT_PORTS = {"http": 80, "https": 443}
_PLAIN_TARGET = re.compile(rb"/[A-Za-z0-9\-._~/?&=:@!$'()*+,;]*")
"""A request target that httpx would send unchanged (no %, space, #, or non-ASCII byte; dot
segments, which httpx removes, are refused separately)."""
_PLAIN_ORIGIN = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[A-Za-z0-9\-._~:\[\]]+")
"""scheme://host[:port] with nothing that could hide a path, query or user info."""
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_MAX_CACHED = 256
"""Origins and header blocks kept per client (a run has a handful of each)."""
_MAX_CACHED_URLS = 16
"""Whole URLs kept per client: a fixed URL is split once, while the DMS workloads' URLs with
ids are used once each, and 4,096 of them per VU grew the client's memory by a fifth in a
30-minute run (docs/performance.md); a new plain URL costs a dict lookup and a regex."""
_MAX_CACHED_HEADS = 16
"""Whole heads a client keeps: a workload that repeats one request (the `http` workload) needs
one; the DMS workloads' targets carry ids and never repeat, and 256 heads with their bearer
tokens (~180 KB per VU) only grew memory as more VUs took part."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request goes: the connection key, and the `Host` header's value."""

    scheme: str
    host: str
    port: int
    host_header: bytes
    key: tuple[str, str, int] = field(init=False, compare=False)
    """(scheme, host, port): the key of this origin's connection."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.scheme, self.host, self.port))


def origin_of(url: httpx.URL) -> Origin:
    """The origin of a parsed URL; httpx errors for a scheme or host it cannot be sent to."""
    scheme = url.scheme
    if scheme not in DEFAULT_PORTS:
        raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}")
    host = url.host
    if not host:
        raise httpx.UnsupportedProtocol(f"the URL {url} has no host")
    port = url.port or DEFAULT_PORTS[scheme]
    return Origin(scheme, host, port, url.netloc)


class TargetParser:
    """Splits URLs into (origin, request target), caching origins and whole URLs."""

    __slots__ = ("_origins", "_urls")

    def __init__(self) -> None:
        self._origins: dict[str, Origin] = {}
        self._urls: dict[str, tuple[Origin, bytes]] = {}

    def split(
        self, url: str, params: Mapping[str, str | int | float | bool] | None = None
    ) -> tuple[Origin, bytes]:
        """(origin, request target) of `url` with `params` merged into its query."""
        if params:
            return self._slow(url, params)
        cached = self._urls.get(url)
        if cached is not None:
            return cached
        split = self._fast(url) or self._slow(url, None)
        if len(self._urls) >= _MAX_CACHED_URLS:
            self._urls.clear()
        self._urls[url] = split
        return split

    def _fast(self, url: str) -> tuple[Origin, bytes] | None:
        slash = _path_start(url)
        if slash < 0:
            return None
        origin = self._origins.get(url[:slash])
        if origin is None:
            return None
        target = url[slash:].encode("ascii", "replace")
        if _PLAIN_TARGET.fullmatch(target) is None or b"/." in target:
            return None
        return origin, target

    def _slow(
        self, url: str, params: Mapping[str, str | int | float | bool] | None
    ) -> tuple[Origin, bytes]:
        parsed = httpx.URL(url)
        if params:
            parsed = parsed.copy_merge_params(params)
        origin = origin_of(parsed)
        slash = _path_start(url)
        if slash > 0 and len(self._origins) < _MAX_CACHED:
            prefix = url[:slash]
            # what the fast path may trust later: the origin is the prefix's alone
            if prefix not in self._origins and _PLAIN_ORIGIN.fullmatch(prefix):
                self._origins[prefix] = origin
        return origin, parsed.raw_path


def _path_start(url: str) -> int:
    """Where the path of `scheme://authority/path` starts, or -1."""
    scheme_end = url.find("://")
    return url.find("/", scheme_end + 3) if scheme_end > 0 else -1


def header_lines(headers: Mapping[str, str]) -> bytes:
    """`Name: value\\r\\n` for each header; refuses a CR or LF in a name or value."""
    text = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    if text.count("\r") != len(headers) or text.count("\n") != len(headers):
        raise httpx.LocalProtocolError("a header name or value holds a line break")
    return text.encode("utf-8")


class HeadBuilder:
    """Request heads for one client: its default headers, plus each request's own."""

    __slots__ = ("_blocks", "_defaults", "_heads")

    def __init__(self, defaults: Mapping[str, str]) -> None:
        self._defaults = {name.lower(): (name, value) for name, value in defaults.items()}
        self._blocks: dict[tuple[tuple[str, str], ...], tuple[bytes, bool, bool]] = {}
        self._blocks[()] = self._block(())
        self._heads: dict[tuple[object, ...], bytes] = {}
        """Whole heads by every part they are made of: a workload that sends the same
        request again and again (the `http` workload) builds its head once."""

    def _block(self, extra: tuple[tuple[str, str], ...]) -> tuple[bytes, bool, bool]:
        merged = dict(self._defaults)
        for name, value in extra:
            merged[name.lower()] = (name, value)
        lines = header_lines(dict(merged.values()))
        return (
            lines,
            "host" in merged,
            "content-length" in merged or ("transfer-encoding" in merged),
        )

    def head(
        self,
        method: str,
        origin: Origin,
        target: bytes,
        headers: Mapping[str, str] | None,
        body_length: int,
    ) -> bytes:
        """The request line and headers, ending with the empty line.

        As httpx sends them: `Host` first (unless given), the client's and the request's
        headers (the request's win, case-insensitively), then `Content-Length` for a body, or
        `Content-Length: 0` for a POST, PUT or PATCH without one (unless either length header
        was given).
        """
        key = tuple(headers.items()) if headers else ()
        whole = (method, origin.host_header, target, key, body_length)
        head = self._heads.get(whole)
        if head is None:
            head = self._build(method, origin, target, key, body_length)
            if len(self._heads) >= _MAX_CACHED_HEADS:
                self._heads.clear()
            self._heads[whole] = head
        return head

    def _build(
        self,
        method: str,
        origin: Origin,
        target: bytes,
        key: tuple[tuple[str, str], ...],
        body_length: int,
    ) -> bytes:
        """The head of `head`, built from its parts."""
        block = self._blocks.get(key)
        if block is None:
            block = self._block(key)
            if len(self._blocks) >= _MAX_CACHED:
                self._blocks.clear()
                self._blocks[()] = self._block(())
            self._blocks[key] = block
        lines, has_host, has_length = block
        parts = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\n"]
        if not has_host:
            parts += (b"Host: ", origin.host_header, b"\r\n")
        parts.append(lines)
        if not has_length and (body_length or method in _BODY_METHODS):
            parts += (b"Content-Length: ", str(body_length).encode("ascii"), b"\r\n")
        parts.append(b"\r\n")
        return b"".join(parts)
