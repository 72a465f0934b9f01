"""`change-queries`: a nightly sync client. Each iteration is one sync pass: read
`availableChangeVersions`, then, for every resource, page through the documents changed since
the last pass (`minChangeVersion`..`maxChangeVersion`, cursor paging where the target offers it),
and read `/deletes` and `/keyChanges` for the same window.

It checks what a sync client relies on: no document comes twice in one pass, and every document
still in the window at the end of the pass was returned (a second, verifying walk). Where the
target keeps tombstones it checks that every tombstone is gone from the data; against a target
that answers `[]` to `/deletes` (DMS today) it says once that deletes cannot be checked there.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import orjson
from pydantic import BaseModel, Field

from dmsload.dms.calls import DMS_METRICS, Operation
from dmsload.dms.resources import STUDENTS
from dmsload.dms.workloads.common import NO_CONTENT, OK, DmsOptions, DmsWorkload, Resource
from dmsload.http import HttpResponse
from dmsload.metrics import MetricKind, ValueType
from dmsload.workloads.base import Workload, WorkloadContext, WorkloadSpec

if TYPE_CHECKING:
    from dmsload.engine.vu import VU

SYNC_PASS_TIME = "sync_pass_time"
SYNC_DOCUMENTS = "sync_documents"
SYNC_DELETES = "sync_deletes"
SYNC_KEY_CHANGES = "sync_key_changes"
CHANGE_QUERY_METRICS: Mapping[str, tuple[MetricKind, ValueType]] = {
    **DMS_METRICS,
    SYNC_PASS_TIME: (MetricKind.TREND, ValueType.TIME),
    SYNC_DOCUMENTS: (MetricKind.COUNTER, ValueType.DEFAULT),
    SYNC_DELETES: (MetricKind.COUNTER, ValueType.DEFAULT),
    SYNC_KEY_CHANGES: (MetricKind.COUNTER, ValueType.DEFAULT),
}

_LAST = "sync.last_version"
MAX_PAGES = 10_000
"""A walk stops after this many pages, whatever the target says."""

CHECK_ONCE = "change-queries: no document returned twice in a pass"
CHECK_COMPLETE = "change-queries: every document changed in the window was returned"
CHECK_TOMBSTONES = "change-queries: every tombstone's document is gone"
CHECK_VERSIONS = "change-queries: availableChangeVersions is readable"


def _default_resources() -> list[Resource]:
    return ["students", "studentSchoolAssociations"]


class ChangeQueryOptions(DmsOptions):
    """Options of `change-queries`."""

    resources: list[Resource] = Field(default_factory=_default_resources, min_length=1)
    """The resources to sync, in order."""
    page_size: int = Field(100, ge=1, le=500)
    """`limit` (and `pageSize` with cursor paging)."""
    paging: Literal["auto", "cursor", "offset"] = "auto"
    """auto: cursor paging where the target sends `Next-Page-Token`, else offset paging."""
    verify: bool = True
    """Walk each window twice and check the first walk returned every document still in it."""
    deletes: bool = True
    """Read `/deletes` and `/keyChanges` for each window."""


class ChangeQueryWorkload(DmsWorkload):
    """One sync pass per iteration; each VU is a sync client with its own last version."""

    def __init__(self, options: ChangeQueryOptions, ctx: WorkloadContext) -> None:
        super().__init__(options, ctx)
        self.options = options
        self.tracks_deletes = True

    # ---- setup ---------------------------------------------------------------------------
    async def seed(self, vu: VU) -> None:
        """Find out whether the target keeps tombstones: delete a student of our own and look."""
        if not self.options.deletes:
            return
        created = await self.create_entity(vu, STUDENTS)
        if created is None:
            raise RuntimeError("change-queries setup: could not create a probe student")
        newest = await self._newest(vu)
        response = await self.calls.send(
            vu, "DELETE", STUDENTS, Operation.DELETE, expect=NO_CONTENT, doc_id=created.doc_id
        )
        if not response.expected or newest is None:
            raise RuntimeError("change-queries setup: could not delete the probe student")
        page = await self._tracked(vu, STUDENTS, "deletes", {"minChangeVersion": newest + 1})
        self.tracks_deletes = page is not None and any(
            item.get("id") == created.doc_id for item in page
        )
        if not self.tracks_deletes:
            sys.stderr.write(
                "dmsload: change-queries: the target answers [] to /deletes (as DMS does today): "
                "deletes and key changes cannot be checked there\n"
            )

    # ---- a pass --------------------------------------------------------------------------
    async def run(self, vu: VU) -> None:
        """One sync pass over every resource, from the last pass's version to the newest."""
        started = time.perf_counter()
        newest = await self._newest(vu)
        vu.check(CHECK_VERSIONS, newest is not None)
        if newest is None:
            return
        low = int(vu.state.get(_LAST, -1)) + 1
        if newest >= low:
            window = {"minChangeVersion": low, "maxChangeVersion": newest}
            for resource in self.options.resources:
                await self._sync_resource(vu, resource, window)
            vu.state[_LAST] = newest
        vu.add(SYNC_PASS_TIME, (time.perf_counter() - started) * 1000.0)

    async def _sync_resource(self, vu: VU, resource: str, window: Mapping[str, int]) -> None:
        tags = {"resource": resource}
        seen = await self._walk(vu, resource, window)
        if seen is None:
            return
        vu.check(CHECK_ONCE, len(seen) == len(set(seen)), tags)
        vu.add(SYNC_DOCUMENTS, float(len(seen)), tags)
        if self.options.verify:
            again = await self._walk(vu, resource, window)
            if again is not None:
                vu.check(CHECK_COMPLETE, set(again) <= set(seen), tags)
        if not self.options.deletes:
            return
        deletes = await self._tracked_all(vu, resource, "deletes", window)
        key_changes = await self._tracked_all(vu, resource, "keyChanges", window)
        if deletes is not None:
            vu.add(SYNC_DELETES, float(len(deletes)), tags)
            if self.tracks_deletes and deletes:
                gone = {str(item.get("id")) for item in deletes}
                # a delete at or below the window's top happened before this walk began
                vu.check(CHECK_TOMBSTONES, not gone & set(seen), tags)
        if key_changes is not None:
            vu.add(SYNC_KEY_CHANGES, float(len(key_changes)), tags)

    # ---- requests ------------------------------------------------------------------------
    async def _newest(self, vu: VU) -> int | None:
        session = self.calls.session
        urls = session.discovery.get("urls") or {}
        base = str(urls.get("changeQueries") or "").rstrip("/")
        if not base:
            base = session.data_api_url.rstrip("/").removesuffix("/data") + "/changeQueries/v1"
        tokens = session.tokens
        token = await tokens.token()
        for attempt in range(2):
            response = await vu.http.request(
                "GET",
                f"{base}/availableChangeVersions",
                name="GET /changeQueries/v1/availableChangeVersions",
                headers={"Authorization": f"Bearer {token}"},
                expected_statuses=OK,
                tags={"operation": Operation.QUERY.value},
            )
            if response.status == 401 and attempt == 0:
                token = await tokens.refresh_after_rejection(token)
                continue
            break
        if not response.expected:
            return None
        try:
            return int(orjson.loads(response.content)["newestChangeVersion"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None

    async def _walk(self, vu: VU, resource: str, window: Mapping[str, int]) -> list[str] | None:
        """Every id the window returns, page by page; None when a request failed."""
        size = self.options.page_size
        name = f"GET /ed-fi/{resource}?minChangeVersion&maxChangeVersion"
        params: dict[str, str | int | bool] = {**window, "limit": size}
        ids: list[str] = []
        offset = 0
        for _ in range(MAX_PAGES):
            response = await self.calls.send(
                vu, "GET", resource, Operation.QUERY, expect=OK, params=params, name=name
            )
            if not response.expected:
                return None
            page = _page(response)
            ids.extend(str(doc.get("id")) for doc in page)
            token = response.headers.get("next-page-token")
            if self.options.paging != "offset" and token:
                # the walk ends when the header does, not at an empty page (the DMS contract)
                params = {**window, "pageToken": token, "pageSize": size}
                name = f"GET /ed-fi/{resource}?pageToken&pageSize"
                continue
            if self.options.paging == "cursor" or len(page) < size:
                break
            offset += size
            params = {**window, "offset": offset, "limit": size}
            name = f"GET /ed-fi/{resource}?minChangeVersion&offset&limit"
        return ids

    async def _tracked(
        self, vu: VU, resource: str, kind: str, params: Mapping[str, str | int | bool]
    ) -> list[dict[str, object]] | None:
        response = await self.calls.send(
            vu,
            "GET",
            resource,
            Operation.QUERY,
            expect=OK,
            doc_id=kind,
            params=params,
            name=f"GET /ed-fi/{resource}/{kind}",
        )
        if not response.expected:
            return None
        return [item for item in _page(response) if isinstance(item, dict)]

    async def _tracked_all(
        self, vu: VU, resource: str, kind: str, window: Mapping[str, int]
    ) -> list[dict[str, object]] | None:
        size = self.options.page_size
        items: list[dict[str, object]] = []
        for number in range(MAX_PAGES):
            page = await self._tracked(
                vu, resource, kind, {**window, "offset": number * size, "limit": size}
            )
            if page is None:
                return None
            items.extend(page)
            if len(page) < size:
                break
        return items


def _page(response: HttpResponse) -> Sequence[dict[str, object]]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return []
    return [doc for doc in body if isinstance(doc, dict)] if isinstance(body, list) else []


def _factory(options: BaseModel, ctx: WorkloadContext) -> Workload:
    assert isinstance(options, ChangeQueryOptions)
    return ChangeQueryWorkload(options, ctx)


CHANGE_QUERIES_WORKLOAD = WorkloadSpec(
    name="change-queries",
    summary="a nightly sync client: availableChangeVersions, change-version windows per "
    "resource (cursor paging where offered), /deletes and /keyChanges, with checks",
    options_model=ChangeQueryOptions,
    factory=_factory,
    metrics=CHANGE_QUERY_METRICS,
    uses_dms=True,
)
