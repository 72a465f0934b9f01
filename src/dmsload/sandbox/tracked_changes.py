"""Tracked changes: the tombstones of deletes and the records of natural-key changes, kept (as
the ODS/API does) only when the sandbox is asked to; DMS itself answers `[]` today."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dmsload.sandbox.jsonpath import first_value, to_text
from dmsload.sandbox.schema import ResourceSchema


@dataclass(frozen=True)
class TrackedChange:
    """A delete (`old_keys` only) or a key change (`old_keys` and `new_keys`) of one document."""

    id: str
    change_version: int
    old_keys: Mapping[str, Any]
    new_keys: Mapping[str, Any] | None = None

    def delete_json(self) -> dict[str, Any]:
        """An item of `/deletes`: `{id, changeVersion, keyValues}` (the ODS/API's shape)."""
        return {"id": self.id, "changeVersion": self.change_version, "keyValues": self.old_keys}

    def key_change_json(self) -> dict[str, Any]:
        """An item of `/keyChanges`: `{id, changeVersion, oldKeyValues, newKeyValues}`."""
        return {
            "id": self.id,
            "changeVersion": self.change_version,
            "oldKeyValues": self.old_keys,
            "newKeyValues": self.new_keys,
        }


def key_values(resource: ResourceSchema, body: Mapping[str, Any]) -> dict[str, Any]:
    """The natural key as `{name: value}`, each named by its path's last segment."""
    return {
        to_text(path).rsplit(".", 1)[-1]: first_value(body, path)
        for path in resource.identity_paths
    }


class ChangeLog:
    """Every delete and key change per resource endpoint, in change-version order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deletes: dict[str, list[TrackedChange]] = {}
        self._key_changes: dict[str, list[TrackedChange]] = {}

    def deleted(self, endpoint: str, change: TrackedChange) -> None:
        """Keep a delete's tombstone."""
        with self._lock:
            self._deletes.setdefault(endpoint, []).append(change)

    def key_changed(self, endpoint: str, change: TrackedChange) -> None:
        """Keep a key change."""
        with self._lock:
            self._key_changes.setdefault(endpoint, []).append(change)

    def deletes(self, endpoint: str, low: int | None, high: int | None) -> list[TrackedChange]:
        """The endpoint's tombstones with a change version in [low, high]."""
        return _window(self._deletes.get(endpoint, ()), low, high)

    def key_changes(self, endpoint: str, low: int | None, high: int | None) -> list[TrackedChange]:
        """The endpoint's key changes with a change version in [low, high]."""
        return _window(self._key_changes.get(endpoint, ()), low, high)

    def clear(self) -> None:
        """Forget everything (a sandbox reset)."""
        with self._lock:
            self._deletes.clear()
            self._key_changes.clear()


def _window(
    changes: list[TrackedChange] | tuple[()], low: int | None, high: int | None
) -> list[TrackedChange]:
    return [
        c
        for c in list(changes)
        if (low is None or c.change_version >= low) and (high is None or c.change_version <= high)
    ]
