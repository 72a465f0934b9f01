"""A response's headers as a read-only, case-insensitive mapping, decoded only when read."""

from __future__ import annotations

from collections.abc import Iterator, Mapping


def head_fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """The (name, value) pairs of a validated response head (status line first, CRLF
    between lines, no blank line); values without their surrounding whitespace."""
    fields: list[tuple[bytes, bytes]] = []
    line_end = head.find(b"\r\n")
    if line_end < 0:
        return fields
    for line in head[line_end + 2 :].split(b"\r\n"):
        name, _, value = line.partition(b":")
        fields.append((name, value.strip()))
    return fields


def reason_of(head: bytes) -> bytes:
    """The reason phrase of a response head's status line (empty when there is none)."""
    line_end = head.find(b"\r\n")
    parts = (head if line_end < 0 else head[:line_end]).split(b" ", 2)
    return parts[2] if len(parts) > 2 else b""


class ResponseHeaders(Mapping[str, str]):
    """Raw (name, value) pairs of a response, looked up case-insensitively (as httpx.Headers).

    Most responses' headers are never read by a workload, so nothing is split or decoded
    until the first lookup: the pairs are given, or taken from the raw `head` then. Keys are
    lower-case; a header that came more than once reads as its values joined by ", "
    (httpx's `Headers.get`). Names and values decode as Latin-1.
    """

    __slots__ = ("_decoded", "_head", "_raw")

    def __init__(self, raw: list[tuple[bytes, bytes]] | None = None, *, head: bytes = b"") -> None:
        self._raw = raw
        self._head = head
        self._decoded: dict[str, str] | None = None

    def _map(self) -> dict[str, str]:
        decoded = self._decoded
        if decoded is None:
            decoded = {}
            for name, value in self.raw:
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                decoded[key] = f"{decoded[key]}, {text}" if key in decoded else text
            self._decoded = decoded
        return decoded

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The pairs as they came on the wire."""
        raw = self._raw
        if raw is None:
            raw = self._raw = head_fields(self._head)
        return raw

    def __getitem__(self, key: str) -> str:
        return self._map()[key.lower()]

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self._map().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._map()

    def __iter__(self) -> Iterator[str]:
        return iter(self._map())

    def __len__(self) -> int:
        return len(self._map())

    def __repr__(self) -> str:
        return f"ResponseHeaders({self.raw!r})"


NO_HEADERS: Mapping[str, str] = ResponseHeaders([])
