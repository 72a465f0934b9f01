"""A response's headers as a read-only, case-insensitive mapping, decoded only when read."""

from __future__ import annotations

from collections.abc import Iterator, Mapping


class ResponseHeaders(Mapping[str, str]):
    """Raw (name, value) pairs of a response, looked up case-insensitively (as httpx.Headers).

    Most responses' headers are never read by a workload, so nothing is decoded until the
    first lookup. Keys are lower-case; a header that came more than once reads as its values
    joined by ", " (httpx's `Headers.get`). Names and values decode as Latin-1.
    """

    __slots__ = ("_decoded", "_raw")

    def __init__(self, raw: list[tuple[bytes, bytes]] | None = None) -> None:
        self._raw = raw or []
        self._decoded: dict[str, str] | None = None

    def _map(self) -> dict[str, str]:
        decoded = self._decoded
        if decoded is None:
            decoded = {}
            for name, value in self._raw:
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                decoded[key] = f"{decoded[key]}, {text}" if key in decoded else text
            self._decoded = decoded
        return decoded

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The pairs as they came on the wire."""
        return self._raw

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
        return f"ResponseHeaders({self._raw!r})"


NO_HEADERS: Mapping[str, str] = ResponseHeaders()
