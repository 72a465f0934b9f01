"""Equality indexes for GET-many filters: per resource and query field, value → documents.

DMS answers `?studentUniqueId=X` from a database index; a scan of 100,000 in-memory documents
takes the sandbox ~100 ms of its one event loop. A `FieldIndex` maps each value a query field
holds (on any of its JSON paths) to the documents holding it, so a filtered query examines only
the documents of its smallest matching bucket.

Keys follow the comparison `Filter.matches` makes, so a dict lookup of the filter's typed value
finds exactly the documents that comparison accepts: numbers (not booleans) compare by value, so
`3` and `3.0` share a key; booleans only match booleans; date-time strings are normalized to UTC
`yyyy-MM-ddTHH:mm:ssZ`; descriptor fields are lower-cased; every other kind compares strings
as they are.

A bucket is one document (most values are unique) or a dict seq → document kept in insert
order: a document that moves into an existing bucket (an update that changes the value) marks
the bucket unordered, and the next lookup sorts it once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dmsload.sandbox.jsonpath import Path, values_at
from dmsload.sandbox.schema import QueryField

if TYPE_CHECKING:
    from dmsload.sandbox.store import Document


def normalize_date_time(value: str) -> str | None:
    """`yyyy-MM-ddTHH:mm:ssZ` in UTC, the form DMS compares date-time filters in."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def index_key(kind: str, lower: bool, found: Any) -> Any:
    """The key a stored value is filed under for a field of this kind; None: never matches."""
    if kind == "number":
        if isinstance(found, int | float) and not isinstance(found, bool) and found == found:
            return found
        return None
    if kind == "boolean":
        return found if isinstance(found, bool) else None
    if not isinstance(found, str):
        return None
    if kind == "date-time":
        return normalize_date_time(found)
    return found.lower() if lower else found


def bucket_size(bucket: Document | dict[int, Document]) -> int:
    """How many documents a bucket holds."""
    return len(bucket) if isinstance(bucket, dict) else 1


def bucket_documents(bucket: Document | dict[int, Document]) -> Collection[Document]:
    """A bucket's documents in insert order."""
    if isinstance(bucket, dict):
        return bucket.values()
    return (bucket,)


def bucket_holds(bucket: Document | dict[int, Document], doc: Document) -> bool:
    """True when the bucket holds this document."""
    if isinstance(bucket, dict):
        return doc.seq in bucket
    return bucket is doc


def _plain_values(body: Any, path: Path) -> tuple[Any, ...]:
    """`values_at` for a path without `[*]` (the usual query field), without generators."""
    node = body
    for step in path:
        if not isinstance(node, dict) or step not in node:
            return ()
        node = node[step]
    return (node,)


class FieldIndex:
    """Value → documents for one query field (all its paths) of one resource."""

    __slots__ = ("buckets", "kind", "lower", "paths", "unordered")

    def __init__(self, field: QueryField, lower: bool) -> None:
        self.kind = field.type
        self.lower = lower
        self.paths = field.paths
        self.buckets: dict[Any, Document | dict[int, Document]] = {}
        self.unordered: set[Any] = set()

    def keys_of(self, body: Any) -> set[Any]:
        """Every key a document body is filed under."""
        keys: set[Any] = set()
        for path in self.paths:
            found = values_at(body, path) if None in path else _plain_values(body, path)
            for value in found:
                key = index_key(self.kind, self.lower, value)
                if key is not None:
                    keys.add(key)
        return keys

    def add(self, doc: Document, keys: Iterable[Any]) -> None:
        """File a document under keys."""
        buckets = self.buckets
        for key in keys:
            bucket = buckets.get(key)
            if bucket is None:
                buckets[key] = doc
            elif isinstance(bucket, dict):
                if doc.seq not in bucket:
                    if doc.seq < next(reversed(bucket)):
                        self.unordered.add(key)
                    bucket[doc.seq] = doc
            elif bucket is not doc:
                pair = (bucket, doc) if bucket.seq < doc.seq else (doc, bucket)
                buckets[key] = {pair[0].seq: pair[0], pair[1].seq: pair[1]}

    def remove(self, doc: Document, keys: Iterable[Any]) -> None:
        """Take a document out of the buckets of keys."""
        buckets = self.buckets
        for key in keys:
            bucket = buckets.get(key)
            if bucket is None:
                continue
            if isinstance(bucket, dict):
                bucket.pop(doc.seq, None)
                if len(bucket) <= 1:
                    self.unordered.discard(key)
                    if bucket:
                        buckets[key] = next(iter(bucket.values()))
                    else:
                        del buckets[key]
            elif bucket is doc:
                del buckets[key]

    def lookup(self, value: Any) -> Document | dict[int, Document] | None:
        """The bucket of documents holding `value` (in insert order), or None."""
        try:
            bucket = self.buckets.get(value)
        except TypeError:  # an unhashable filter value matches nothing
            return None
        if isinstance(bucket, dict) and value in self.unordered:
            bucket = dict(sorted(bucket.items()))
            self.buckets[value] = bucket
            self.unordered.discard(value)
        return bucket

    def build(self, docs: Iterable[Document]) -> FieldIndex:
        """File documents given in insert order; returns self."""
        for doc in docs:
            self.add(doc, self.keys_of(doc.body))
        return self

    def update(self, doc: Document, old: set[Any]) -> None:
        """Refile a document whose body changed; `old` is what `keys_of` gave before."""
        new = self.keys_of(doc.body)
        if new != old:
            self.remove(doc, old - new)
            self.add(doc, new - old)
