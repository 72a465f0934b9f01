"""Fast RFC 3339 timestamps with nanoseconds, for outputs that write one per sample."""

from __future__ import annotations

from datetime import UTC, datetime

NS = 1_000_000_000


class Rfc3339:
    """Formats Unix nanoseconds as `2026-12-01T13:10:44.123456789Z`, caching the second."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def format(self, unix_ns: int, digits: int = 9) -> str:
        """The timestamp in UTC with `digits` (0, 3, 6 or 9) fractional digits."""
        second, fraction = divmod(unix_ns, NS)
        if second != self._second:
            self._second = second
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        if digits == 0:
            return self._prefix + "Z"
        return f"{self._prefix}.{fraction:09d}"[: len(self._prefix) + 1 + digits] + "Z"
