"""`query`: the strategy's five query kinds plus deep paging, over data seeded for the run.

`prepare` seeds a data set of this run's own: one school, `seed_students` students and their
StudentSchoolAssociations. So every query has a known answer: the field, birthDate and
association filters return non-empty pages, and `Total-Count` for the school equals
`seed_students`. Deep paging spreads offsets across the whole students collection (offset 0,
shallow, deep) at page sizes 25 and 500, as DMS's own paging plan does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import anyio
from pydantic import BaseModel, Field

from dmsload.dms.calls import DMS_METRICS, QUERY_RESPONSE_TIME, Operation, json_body
from dmsload.dms.data import Document
from dmsload.dms.errors import DmsError
from dmsload.dms.resources import (
    SCHOOLS,
    STUDENT_SCHOOL_ASSOCIATIONS,
    STUDENTS,
    resource_path,
)
from dmsload.dms.workloads.common import OK, DmsOptions, DmsWorkload
from dmsload.http import HttpClient, HttpResponse
from dmsload.workloads.base import Workload, WorkloadContext, WorkloadSpec

if TYPE_CHECKING:
    from dmsload.engine.vu import VU

_SEED_CONCURRENCY = 8
PAGE_SIZES = (25, 500)
DEPTHS = ("first", "shallow", "deep")


class QueryKind(StrEnum):
    """The query kinds of the strategy, plus deep paging."""

    LIMIT = "limit"
    FIELD = "field"
    ASSOCIATION = "association"
    TOTAL_COUNT = "total-count"
    BIRTH_DATE = "birth-date"
    DEEP_PAGING = "deep-paging"


class QueryOptions(DmsOptions):
    """Options of `query`."""

    seed_students: int = Field(50, ge=1, le=10_000)
    """Students (each with a StudentSchoolAssociation to the run's school) seeded in setup."""
    kinds: list[QueryKind] = Field(default_factory=lambda: list(QueryKind), min_length=1)
    """The query kinds to cycle through, equally often."""
    limit: int = Field(25, ge=1, le=500)
    """Page size of the `limit` query."""


@dataclass(frozen=True)
class _Seeded:
    school_id: int
    students: Sequence[Document]
    total_students: int


class QueryWorkload(DmsWorkload):
    """One query per iteration, the kinds taken in turn (offset by the VU)."""

    def __init__(self, options: QueryOptions, ctx: WorkloadContext) -> None:
        super().__init__(options, ctx)
        self.options = options
        self._seeded: _Seeded | None = None

    # ---- setup ---------------------------------------------------------------------------
    async def seed(self, vu: VU) -> None:
        """Create the run's school, its students and their enrollments; count students."""
        data = self.data(vu)
        school = data.school()
        if await self.create(vu, SCHOOLS, school) is None:
            raise DmsError(f"query setup: {self.calls.last_failure}")
        students = [data.student() for _ in range(self.options.seed_students)]
        failures: list[str] = []
        pool = vu.http_pool(_SEED_CONCURRENCY)
        async with anyio.create_task_group() as tasks:
            for lane, http in enumerate(pool):
                lane_students = students[lane :: len(pool)]
                tasks.start_soon(self._seed_lane, vu, http, lane_students, school, failures)
        if failures:
            more = f" ({len(failures)} seed requests failed)" if len(failures) > 1 else ""
            raise DmsError(f"query setup: {self.calls.last_failure}{more}")
        response = await self.calls.send(
            vu,
            "GET",
            STUDENTS,
            Operation.QUERY,
            expect=OK,
            params={"totalCount": "true", "limit": 0},
            name="GET /ed-fi/students?totalCount",
        )
        total = int(response.headers.get("total-count", "0") or 0)
        self._seeded = _Seeded(school["schoolId"], students, max(total, len(students)))

    async def _seed_lane(
        self,
        vu: VU,
        http: HttpClient,
        students: list[Document],
        school: Document,
        failures: list[str],
    ) -> None:
        data = self.data(vu)
        for student in students:
            if await self.create(vu, STUDENTS, student, http) is None:
                failures.append(student["studentUniqueId"])
                continue
            association = data.student_school_association(
                student["studentUniqueId"], school["schoolId"]
            )
            if await self.create(vu, STUDENT_SCHOOL_ASSOCIATIONS, association, http) is None:
                failures.append(student["studentUniqueId"])

    # ---- iterations ----------------------------------------------------------------------
    async def run(self, vu: VU) -> None:
        """The next query kind for this VU."""
        seeded = self._seeded
        assert seeded is not None
        kinds = self.options.kinds
        kind = kinds[(vu.iteration + vu.id) % len(kinds)]
        student = seeded.students[self.data(vu).rng.randrange(len(seeded.students))]
        if kind is QueryKind.LIMIT:
            await self._query(vu, kind, STUDENTS, {"limit": self.options.limit}, "limit")
        elif kind is QueryKind.FIELD:
            params = {"lastSurname": student["lastSurname"]}
            await self._query(vu, kind, STUDENTS, params, "lastSurname")
        elif kind is QueryKind.BIRTH_DATE:
            params = {"birthDate": student["birthDate"]}
            await self._query(vu, kind, STUDENTS, params, "birthDate")
        elif kind is QueryKind.ASSOCIATION:
            params = {"schoolId": seeded.school_id}
            await self._query(vu, kind, STUDENT_SCHOOL_ASSOCIATIONS, params, "schoolId")
        elif kind is QueryKind.TOTAL_COUNT:
            params = {"schoolId": seeded.school_id, "totalCount": "true", "limit": 1}
            response = await self._query(
                vu, kind, STUDENT_SCHOOL_ASSOCIATIONS, params, "schoolId&totalCount"
            )
            if response is not None:
                count = response.headers.get("total-count")
                vu.check(
                    "query total-count: Total-Count equals the seeded count",
                    count is not None and count == str(len(seeded.students)),
                )
        else:
            await self._deep_page(vu, seeded)

    async def _deep_page(self, vu: VU, seeded: _Seeded) -> None:
        rng = self.data(vu).rng
        size = rng.choice(PAGE_SIZES)
        depth = rng.choice(DEPTHS)
        last = max(0, seeded.total_students - size)
        offset = {"first": 0, "shallow": min(last, size * 2), "deep": last}[depth]
        offset = rng.randint(offset // 2, offset) if depth == "deep" and offset else offset
        params: dict[str, str | int | bool] = {"offset": offset, "limit": size}
        label = f"offset={depth}&limit={size}"
        await self._query(vu, QueryKind.DEEP_PAGING, STUDENTS, params, label)

    async def _query(
        self,
        vu: VU,
        kind: QueryKind,
        endpoint: str,
        params: Mapping[str, str | int | bool],
        label: str,
    ) -> HttpResponse | None:
        response = await self.calls.send(
            vu,
            "GET",
            endpoint,
            Operation.QUERY,
            expect=OK,
            params=params,
            name=f"GET /ed-fi/{endpoint}?{label}",
        )
        if response.status == 400:  # e.g. a reference field some Ed-Fi APIs do not filter on
            vu.check(
                f"query {kind.value}: the target accepts the filter "
                f"{resource_path(endpoint)}?{label}",
                False,
            )
        if not response.expected:
            return None
        vu.add(QUERY_RESPONSE_TIME, response.duration_ms, {"query": kind.value})
        page = json_body(response)
        vu.check(f"query {kind.value}: returns a non-empty page", bool(page))
        return response


def _factory(options: BaseModel, ctx: WorkloadContext) -> Workload:
    assert isinstance(options, QueryOptions)
    return QueryWorkload(options, ctx)


QUERY_WORKLOAD = WorkloadSpec(
    name="query",
    summary="limit, field, association, totalCount and birthDate queries plus deep paging",
    options_model=QueryOptions,
    factory=_factory,
    metrics=DMS_METRICS,
    uses_dms=True,
)
