"""Counts of requests served, by route template and status, for tests to compare against."""

from __future__ import annotations

import threading
import time
from typing import Any


class Stats:
    """Per-route, per-status counters; `status` is the HTTP status or `"reset"` for an abort."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {}
        self._since = time.time()

    def record(self, route: str, status: int | str) -> None:
        """Count one answered (or reset) request."""
        key = str(status)
        with self._lock:
            by_status = self._counts.get(route)
            if by_status is None:
                by_status = self._counts[route] = {}
            by_status[key] = by_status.get(key, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        """`{"since", "total", "routes": {"POST /data/ed-fi/students": {"201": 3}}}`."""
        with self._lock:
            routes = {r: dict(sorted(s.items())) for r, s in sorted(self._counts.items())}
        total = sum(sum(s.values()) for s in routes.values())
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._since))
        return {"since": since, "total": total, "routes": routes}

    def count(self, route: str, status: int | str | None = None) -> int:
        """How many requests a route got, optionally only with one status."""
        with self._lock:
            by_status = self._counts.get(route, {})
            if status is None:
                return sum(by_status.values())
            return by_status.get(str(status), 0)

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._counts.clear()
            self._since = time.time()
