"""In-memory documents: by id, by natural key, with a reference index and insert order.

Every public method runs to completion without awaiting, and the server runs one event loop,
so each operation is atomic with respect to other requests: simultaneous upserts of one
natural key create exactly one document. A lock also guards each method so that a test thread
may inspect the store while the server thread serves.

Filtered GET-many queries use equality indexes (query_index.py), built per resource and query
field on first use and kept current on every write, so they examine only matching candidates.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import dropwhile, islice, takewhile
from typing import Any

import orjson

from dmsload.sandbox.jsonpath import first_value, values_at, values_with_paths
from dmsload.sandbox.query_index import (
    FieldIndex,
    bucket_documents,
    bucket_holds,
    bucket_size,
    normalize_date_time,
)
from dmsload.sandbox.schema import (
    ApiSchema,
    IdentityKey,
    QueryField,
    ResourceSchema,
    normalize_identity_value,
)
from dmsload.sandbox.tracked_changes import ChangeLog, TrackedChange, key_values

#: Where a document is filed by natural key: (resource name, identity).
KeyRef = tuple[str, IdentityKey]
#: A filter's index within a resource: (query field name, lower-cased descriptor values).
IndexRef = tuple[str, bool]


@dataclass
class Document:
    """One stored document: its body as written (pruned), plus server-generated metadata."""

    id: str
    resource: ResourceSchema
    body: dict[str, Any]
    identity: IdentityKey
    version: int
    last_modified: str
    seq: int
    targets: tuple[str, ...] = ()
    rendered: bytes | None = field(default=None, repr=False)

    @property
    def etag(self) -> str:
        """The opaque `_etag` value; the ETag header is this value in quotes."""
        return str(self.version)


@dataclass(frozen=True)
class WriteOutcome:
    """The result of a write: a status and, on success, the document; on failure, the problem."""

    status: int
    document: Document | None = None
    problem: str | None = None
    detail: str = ""
    validation_errors: dict[str, list[str]] | None = None
    errors: list[str] | None = None


class Filter:
    """A typed query filter, ready to match documents of one resource.

    `matches` is the reference comparison: the store answers from its indexes, whose keys
    (query_index.index_key) follow the same rules.
    """

    __slots__ = ("field", "is_id", "lower", "value")

    def __init__(self, field: QueryField, value: Any, lower: bool) -> None:
        self.field = field
        self.value = value
        self.lower = lower
        self.is_id = field.path_texts == ("$.id",)

    def matches(self, doc: Document) -> bool:
        """True when any of the field's paths holds the filter value."""
        if self.is_id:
            return bool(doc.id == self.value)
        for path in self.field.paths:
            for found in values_at(doc.body, path):
                if self._equal(found):
                    return True
        return False

    def _equal(self, found: Any) -> bool:
        kind = self.field.type
        if kind == "number":
            return (
                isinstance(found, int | float)
                and not isinstance(found, bool)
                and bool(found == self.value)
            )
        if kind == "boolean":
            return found is self.value
        if isinstance(found, str):
            if kind == "date-time":
                return bool(normalize_date_time(found) == self.value)
            return bool(found.lower() == self.value if self.lower else found == self.value)
        return False


def _now_text() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _is_match(header: str | None, doc: Document | None) -> bool:
    """Evaluate an If-Match/If-None-Match list (quoted or unquoted, `*`) against a document."""
    if header is None or doc is None:
        return False
    for raw in header.split(","):
        tag = raw.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tag = tag.strip('"')
        if tag == "*" or tag == doc.etag:
            return True
    return False


class Store:
    """The sandbox's documents, with the indexes DMS semantics need."""

    def __init__(self, schema: ApiSchema, track_changes: bool = False) -> None:
        self.schema = schema
        #: Keep tombstones of deletes and records of key changes (`/deletes`, `/keyChanges`).
        self.track_changes = track_changes
        self.changes = ChangeLog()
        self._lock = threading.RLock()
        self._by_id: dict[str, Document] = {}
        self._by_key: dict[KeyRef, str] = {}
        self._by_endpoint: dict[str, dict[str, Document]] = {e: {} for e in schema.resources}
        self._referrers: dict[str, set[str]] = {}
        self._indexes: dict[str, dict[IndexRef, FieldIndex]] = {e: {} for e in schema.resources}
        self._version = 0
        self._seq = 0
        #: Documents the query methods have looked at, in total: a deterministic cost measure.
        self.examined = 0

    # ---- reads -------------------------------------------------------------------------------
    @property
    def newest_change_version(self) -> int:
        """The change version of the latest write (0 before any)."""
        return self._version

    def get(self, resource: ResourceSchema, doc_id: str) -> Document | None:
        """The document with this id, if it belongs to this resource."""
        doc = self._by_id.get(doc_id)
        return doc if doc is not None and doc.resource is resource else None

    def find_by_key(self, resource_name: str, identity: IdentityKey) -> Document | None:
        """The document filed under a natural key (a resource or abstract resource name)."""
        with self._lock:
            doc_id = self._by_key.get((resource_name, identity))
            return self._by_id.get(doc_id) if doc_id else None

    def count(self, resource: ResourceSchema | None = None) -> int:
        """How many documents exist, overall or of one resource."""
        with self._lock:
            if resource is None:
                return len(self._by_id)
            return len(self._by_endpoint[resource.endpoint])

    def documents(self, resource: ResourceSchema) -> list[Document]:
        """A snapshot of one resource's documents in insert order (for tests and inspection)."""
        with self._lock:
            return list(self._by_endpoint[resource.endpoint].values())

    def query(
        self,
        resource: ResourceSchema,
        filters: list[Filter],
        offset: int,
        limit: int,
        min_version: int | None = None,
        max_version: int | None = None,
        want_total: bool = False,
    ) -> tuple[list[Document], int | None]:
        """One page of documents in insert order, and the total match count when asked."""
        with self._lock:
            docs = self._by_endpoint[resource.endpoint]
            if not filters and min_version is None and max_version is None:
                page = list(islice(docs.values(), offset, offset + limit))
                self.examined += offset + len(page)
                return page, (len(docs) if want_total else None)
            candidates, checks = self._plan(resource, filters)
            matches = self._matching(candidates, checks, min_version, max_version)
            if not want_total:
                return list(islice(matches, offset, offset + limit)), None
            if not checks and min_version is None and max_version is None:
                return list(islice(matches, offset, offset + limit)), len(candidates)
            everything = list(matches)
            return everything[offset : offset + limit], len(everything)

    def cursor_page(
        self,
        resource: ResourceSchema,
        filters: list[Filter],
        after: int,
        end: int | None,
        size: int,
        min_version: int | None = None,
        max_version: int | None = None,
    ) -> list[Document]:
        """Up to `size` matching documents positioned after `after` (and up to `end`)."""
        with self._lock:
            candidates, checks = self._plan(resource, filters)
            matches = self._matching(candidates, checks, min_version, max_version, after, end)
            return list(islice(matches, size))

    def partition_bounds(
        self,
        resource: ResourceSchema,
        filters: list[Filter],
        number: int,
        min_version: int | None = None,
        max_version: int | None = None,
    ) -> list[tuple[int, int | None]]:
        """Up to `number` (after, end) position ranges with an equal share of matches each.

        There are never more ranges than matching documents (none when nothing matches); the
        last range is open-ended, so documents created during a walk land in it.
        """
        with self._lock:
            candidates, checks = self._plan(resource, filters)
            seqs = [d.seq for d in self._matching(candidates, checks, min_version, max_version)]
        count = len(seqs)
        parts = min(number, count)
        bounds: list[tuple[int, int | None]] = []
        for index in range(parts):
            first = index * count // parts
            last = (index + 1) * count // parts - 1
            after = seqs[first - 1] if first else 0
            bounds.append((after, seqs[last] if index < parts - 1 else None))
        return bounds

    def _plan(
        self, resource: ResourceSchema, filters: list[Filter]
    ) -> tuple[Collection[Document], list[Document | dict[int, Document]]]:
        """The candidates to examine, in insert order, and the buckets each must also be in.

        Without filters that is every document of the resource. Otherwise each filter names a
        bucket (an index lookup; `id` is the id map itself): the smallest supplies the
        candidates and the others are membership checks. A filter matching nothing ends it.
        """
        if not filters:
            return self._by_endpoint[resource.endpoint].values(), []
        buckets: list[Document | dict[int, Document]] = []
        for f in filters:
            bucket: Document | dict[int, Document] | None
            if f.is_id:
                doc = self._by_id.get(f.value) if isinstance(f.value, str) else None
                bucket = doc if doc is not None and doc.resource is resource else None
            else:
                bucket = self._index(resource, f).lookup(f.value)
            if bucket is None:
                return (), []
            buckets.append(bucket)
        buckets.sort(key=bucket_size)
        return bucket_documents(buckets[0]), buckets[1:]

    def _index(self, resource: ResourceSchema, f: Filter) -> FieldIndex:
        """The index for a filter's field, built on first use from the resource's documents."""
        indexes = self._indexes[resource.endpoint]
        ref = (f.field.name, f.lower)
        index = indexes.get(ref)
        if index is None:
            docs = self._by_endpoint[resource.endpoint].values()
            self.examined += len(docs)
            index = indexes[ref] = FieldIndex(f.field, f.lower).build(docs)
        return index

    def _matching(
        self,
        candidates: Collection[Document],
        checks: list[Document | dict[int, Document]],
        min_version: int | None,
        max_version: int | None,
        after: int = 0,
        end: int | None = None,
    ) -> Iterator[Document]:
        """Candidates positioned after `after` (up to `end`) that pass the checks and bounds.

        `examined` counts the candidates tested; those skipped by position are not counted.
        """
        docs: Iterable[Document] = candidates
        if after > 0:
            docs = dropwhile(lambda d: d.seq <= after, candidates)
        if end is not None:
            docs = takewhile(lambda d: d.seq <= end, docs)
        if not checks and min_version is None and max_version is None:
            for doc in docs:
                self.examined += 1
                yield doc
            return
        for doc in docs:
            self.examined += 1
            if min_version is not None and doc.version < min_version:
                continue
            if max_version is not None and doc.version > max_version:
                continue
            if all(bucket_holds(b, doc) for b in checks):
                yield doc

    def render(self, doc: Document) -> bytes:
        """The GET body of a document: id, body, reference links, `_etag`, `_lastModifiedDate`."""
        cached = doc.rendered
        if cached is not None:
            return cached
        with self._lock:
            body: dict[str, Any] = orjson.loads(orjson.dumps(doc.body))
            for ref in doc.resource.references:
                for obj in values_at(body, ref.object_path):
                    if not isinstance(obj, dict):
                        continue
                    key = tuple(normalize_identity_value(obj.get(f)) for f in ref.fields)
                    target_id = self._by_key.get((ref.resource_name, key))
                    target = self._by_id.get(target_id) if target_id else None
                    if target is not None:
                        obj["link"] = {
                            "rel": target.resource.resource_name,
                            "href": f"{target.resource.path}/{target.id}",
                        }
            out = {"id": doc.id, **body, "_etag": doc.etag, "_lastModifiedDate": doc.last_modified}
            rendered = orjson.dumps(out)
            doc.rendered = rendered
            return rendered

    # ---- writes ------------------------------------------------------------------------------
    def upsert(
        self,
        resource: ResourceSchema,
        body: dict[str, Any],
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> WriteOutcome:
        """POST semantics: insert (201) or update by natural key (200), references resolved."""
        with self._lock:
            identity = resource.identity_of(body)
            existing = self.find_by_key(resource.resource_name, identity)
            if if_match is not None:
                if existing is None:
                    return _precondition_missing()
                if not _is_match(if_match, existing):
                    return _lock_failed()
            if (
                if_none_match is not None
                and existing is not None
                and _is_match(if_none_match, existing)
            ):
                return _if_none_match_failed()
            resolved = self._resolve(resource, body)
            if isinstance(resolved, WriteOutcome):
                return resolved
            if existing is not None:
                self._apply(existing, body, resolved)
                return WriteOutcome(200, existing)
            alias = self._alias(resource, identity)
            if alias is not None and alias in self._by_key:
                return _identity_conflict(resource)
            doc = Document(
                id=str(uuid.uuid4()),
                resource=resource,
                body=body,
                identity=identity,
                version=self._next_version(),
                last_modified=_now_text(),
                seq=self._next_seq(),
            )
            self._by_id[doc.id] = doc
            self._by_endpoint[resource.endpoint][doc.id] = doc
            for index in self._indexes[resource.endpoint].values():
                index.add(doc, index.keys_of(body))
            self._by_key[(resource.resource_name, identity)] = doc.id
            if alias is not None:
                self._by_key[alias] = doc.id
            self._set_targets(doc, resolved)
            return WriteOutcome(201, doc)

    def replace(
        self,
        resource: ResourceSchema,
        doc_id: str,
        body: dict[str, Any],
        if_match: str | None = None,
    ) -> WriteOutcome:
        """PUT semantics: replace by id (204); identity changes only where the schema allows."""
        with self._lock:
            doc = self.get(resource, doc_id)
            if doc is None:
                if if_match is not None:
                    return _precondition_missing()
                return WriteOutcome(
                    404, problem="not-found", detail="Resource to update was not found"
                )
            if if_match is not None and not _is_match(if_match, doc):
                return _lock_failed()
            identity = resource.identity_of(body)
            changed = identity != doc.identity
            if changed:
                if resource.is_descriptor or not resource.allow_identity_updates:
                    return WriteOutcome(
                        400,
                        problem="key-change-not-supported",
                        detail=(
                            f"Identifying values for the {resource.resource_name} resource cannot "
                            "be changed. Delete and recreate the resource item instead."
                        ),
                    )
                other = self._by_key.get((resource.resource_name, identity))
                alias = self._alias(resource, identity)
                if (other is not None and other != doc.id) or (
                    alias is not None and self._by_key.get(alias, doc.id) != doc.id
                ):
                    return _identity_conflict(resource)
            resolved = self._resolve(resource, body)
            if isinstance(resolved, WriteOutcome):
                return resolved
            old_identity = doc.identity
            old_keys = key_values(resource, doc.body) if changed and self.track_changes else None
            self._apply(doc, body, resolved)
            if changed:
                self._rekey(doc, old_identity, identity)
                if old_keys is not None:
                    self._key_changed(doc, old_keys)
                self._cascade(doc, old_identity)
            return WriteOutcome(204, doc)

    def delete(
        self, resource: ResourceSchema, doc_id: str, if_match: str | None = None
    ) -> WriteOutcome:
        """DELETE semantics: 204, 404 (empty body), 412, or 409 while referenced."""
        with self._lock:
            doc = self.get(resource, doc_id)
            if doc is None:
                if if_match is not None:
                    return _precondition_missing()
                return WriteOutcome(404)
            if if_match is not None and not _is_match(if_match, doc):
                return _lock_failed()
            referrers = self._referrers.get(doc.id)
            if referrers:
                names = sorted({self._by_id[r].resource.resource_name for r in referrers})
                return WriteOutcome(
                    409,
                    problem="dependent-item-exists",
                    detail=(
                        "The requested action cannot be performed because this item is referenced "
                        f"by existing {', '.join(names)} item(s)."
                    ),
                )
            self._set_targets(doc, ())
            for index in self._indexes[resource.endpoint].values():
                index.remove(doc, index.keys_of(doc.body))
            del self._by_id[doc.id]
            del self._by_endpoint[resource.endpoint][doc.id]
            self._by_key.pop((resource.resource_name, doc.identity), None)
            alias = self._alias(resource, doc.identity)
            if alias is not None:
                self._by_key.pop(alias, None)
            self._referrers.pop(doc.id, None)
            if self.track_changes:
                tombstone = TrackedChange(
                    doc.id, self._next_version(), key_values(resource, doc.body)
                )
                self.changes.deleted(resource.endpoint, tombstone)
            return WriteOutcome(204, doc)

    def clear(self) -> None:
        """Forget every document (a test reset)."""
        with self._lock:
            self._by_id.clear()
            self._by_key.clear()
            self._referrers.clear()
            for docs in self._by_endpoint.values():
                docs.clear()
            for indexes in self._indexes.values():
                indexes.clear()
            self.changes.clear()

    # ---- helpers -----------------------------------------------------------------------------
    def _next_version(self) -> int:
        self._version += 1
        return self._version

    def _key_changed(self, doc: Document, old_keys: dict[str, Any]) -> None:
        """Record a natural-key change at the document's (new) change version."""
        new_keys = key_values(doc.resource, doc.body)
        change = TrackedChange(doc.id, doc.version, old_keys, new_keys)
        self.changes.key_changed(doc.resource.endpoint, change)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _alias(self, resource: ResourceSchema, identity: IdentityKey) -> KeyRef | None:
        """A subclass is also filed under its superclass (a School is an EducationOrganization)."""
        if resource.superclass_resource_name:
            return (resource.superclass_resource_name, identity)
        return None

    def _resolve(
        self, resource: ResourceSchema, body: Mapping[str, Any]
    ) -> list[str] | WriteOutcome:
        """Resolve every document and descriptor reference; return target ids or the failure."""
        targets: list[str] = []
        missing_refs: dict[str, list[str]] = {}
        missing_names: list[str] = []
        for ref in resource.references:
            for key in ref.keys_in(body):
                target = self._by_key.get((ref.resource_name, key))
                if target is None:
                    message = f"The referenced {ref.resource_name} item does not exist."
                    bucket = missing_refs.setdefault(ref.object_text, [])
                    if message not in bucket:
                        bucket.append(message)
                    if ref.resource_name not in missing_names:
                        missing_names.append(ref.resource_name)
                else:
                    targets.append(target)
        missing_descriptors: dict[str, list[str]] = {}
        for desc in resource.descriptor_paths:
            for concrete, value in values_with_paths(body, desc.path):
                if not isinstance(value, str):
                    continue
                target = self._by_key.get((desc.resource_name, (value.lower(),)))
                if target is None:
                    missing_descriptors.setdefault(concrete, []).append(
                        f"{desc.resource_name} value '{value.lower()}' does not exist."
                    )
                else:
                    targets.append(target)
        if missing_descriptors:
            return WriteOutcome(
                400,
                problem="data-validation-failed",
                detail="Data validation failed. See 'validationErrors' for details.",
                validation_errors={**missing_refs, **missing_descriptors},
            )
        if missing_refs:
            return WriteOutcome(
                409,
                problem="unresolved-reference",
                detail=f"The referenced {', '.join(missing_names)} item(s) do not exist.",
                validation_errors=missing_refs,
            )
        return targets

    def _apply(self, doc: Document, body: dict[str, Any], targets: list[str]) -> None:
        before = self._index_keys(doc)
        doc.body = body
        self._reindex(doc, before)
        doc.version = self._next_version()
        doc.last_modified = _now_text()
        doc.rendered = None
        self._set_targets(doc, targets)

    def _index_keys(self, doc: Document) -> list[tuple[FieldIndex, set[Any]]]:
        """Where a document is filed in its resource's indexes (taken before its body changes)."""
        return [(i, i.keys_of(doc.body)) for i in self._indexes[doc.resource.endpoint].values()]

    def _reindex(self, doc: Document, before: list[tuple[FieldIndex, set[Any]]]) -> None:
        """Refile a document after its body changed, given `_index_keys` from before."""
        for index, old in before:
            index.update(doc, old)

    def _set_targets(self, doc: Document, targets: list[str] | tuple[str, ...]) -> None:
        new = tuple(dict.fromkeys(t for t in targets if t != doc.id))
        for old in doc.targets:
            if old not in new:
                referrers = self._referrers.get(old)
                if referrers is not None:
                    referrers.discard(doc.id)
        for target in new:
            self._referrers.setdefault(target, set()).add(doc.id)
        doc.targets = new

    def _rekey(self, doc: Document, old: IdentityKey, new: IdentityKey) -> None:
        resource = doc.resource
        self._by_key.pop((resource.resource_name, old), None)
        self._by_key[(resource.resource_name, new)] = doc.id
        old_alias, new_alias = self._alias(resource, old), self._alias(resource, new)
        if old_alias is not None and new_alias is not None:
            self._by_key.pop(old_alias, None)
            self._by_key[new_alias] = doc.id
        doc.identity = new

    def _cascade(self, target: Document, old_identity: IdentityKey) -> None:
        """Rewrite references in referring documents after `target` changed its natural key."""
        names = {target.resource.resource_name}
        if target.resource.superclass_resource_name:
            names.add(target.resource.superclass_resource_name)
        for referrer_id in list(self._referrers.get(target.id, ())):
            referrer = self._by_id[referrer_id]
            before = self._index_keys(referrer)
            old_keys = key_values(referrer.resource, referrer.body) if self.track_changes else None
            touched = False
            for ref in referrer.resource.references:
                if ref.resource_name not in names:
                    continue
                # A superclass reference (EducationOrganization) lists the same identity parts in
                # the same order as the subclass's own identity (schoolId), so one list serves.
                new_values = [first_value(target.body, p) for p in target.resource.identity_paths]
                for obj in values_at(referrer.body, ref.object_path):
                    if not isinstance(obj, dict):
                        continue
                    key = tuple(normalize_identity_value(obj.get(f)) for f in ref.fields)
                    if key == old_identity:
                        for name, value in zip(ref.fields, new_values, strict=True):
                            obj[name] = value
                        touched = True
            if touched:
                self._reindex(referrer, before)
                referrer.version = self._next_version()
                referrer.last_modified = _now_text()
                referrer.rendered = None
                new_identity = referrer.resource.identity_of(referrer.body)
                if new_identity != referrer.identity:
                    previous = referrer.identity
                    self._rekey(referrer, previous, new_identity)
                    if old_keys is not None:
                        self._key_changed(referrer, old_keys)
                    self._cascade(referrer, previous)


def _precondition_missing() -> WriteOutcome:
    return WriteOutcome(
        412,
        problem="optimistic-lock-failed",
        detail="The If-Match precondition failed because the resource does not exist.",
    )


def _lock_failed() -> WriteOutcome:
    return WriteOutcome(
        412, problem="optimistic-lock-failed", detail="The item has been modified by another user."
    )


def _if_none_match_failed() -> WriteOutcome:
    return WriteOutcome(
        412,
        problem="if-none-match",
        detail="The If-None-Match precondition failed because the resource already exists.",
    )


def _identity_conflict(resource: ResourceSchema) -> WriteOutcome:
    return WriteOutcome(
        409,
        problem="identity-conflict",
        detail=(
            "The identifying value(s) of the item are the same as another item that already exists."
        ),
        errors=[
            f"A natural key conflict occurred when attempting to update a {resource.resource_name} "
            "document."
        ],
    )
