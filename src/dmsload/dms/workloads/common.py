"""What every DMS workload shares: options, the session, entity creation with parents."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field

from dmsload.dms.calls import (
    CREATED_COUNTERS,
    ENTITY_CREATION_TIME,
    DmsCalls,
    Operation,
    created_id,
    honor_retry_after,
)
from dmsload.dms.data import DataGenerator, Document, seeded_school_id
from dmsload.dms.resources import (
    SCHOOLS,
    STAFF_ASSIGNMENTS,
    STAFFS,
    STUDENT_SCHOOL_ASSOCIATIONS,
    STUDENTS,
)
from dmsload.engine.executors.base import Duration
from dmsload.http import HttpClient
from dmsload.workloads.base import BaseWorkload, WorkloadContext

if TYPE_CHECKING:
    from dmsload.engine.vu import VU

Resource = Literal[
    "schools",
    "students",
    "staffs",
    "studentSchoolAssociations",
    "staffEducationOrganizationAssignmentAssociations",
]

CREATED = frozenset({201})
OK = frozenset({200})
NO_CONTENT = frozenset({204})

IDENTITY_FILTER: dict[str, tuple[str, ...]] = {
    SCHOOLS: ("schoolId",),
    STUDENTS: ("studentUniqueId",),
    STAFFS: ("staffUniqueId",),
    STUDENT_SCHOOL_ASSOCIATIONS: ("studentReference", "studentUniqueId"),
    STAFF_ASSIGNMENTS: ("staffReference", "staffUniqueId"),
}
"""The query parameter that finds a document by (part of) its identity, and its JSON path."""

_GENERATOR = "dms.generator"
_SCHOOL = "dms.school"


class DmsOptions(BaseModel):
    """Options every DMS workload takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    respect_retry_after: bool = True
    """Wait out a 429/503 `Retry-After` before the VU's next iteration."""
    think_time: Duration = 0
    """A pause after each iteration ("1s"); none by default, as k6 without sleep()."""
    seeded_schools: int = Field(0, ge=0)
    """Draw parent schools from `setup --seed-schools N` (ids 100000..); 0: each VU creates one."""


@dataclass
class Created:
    """A document this VU created, with the parents created just for it (deleted with it)."""

    endpoint: str
    doc_id: str
    document: Document
    parents: list[Created] = field(default_factory=list)

    def filter_value(self) -> tuple[str, str | int]:
        """(query parameter, value) that finds this document."""
        path = IDENTITY_FILTER[self.endpoint]
        value: object = self.document
        for key in path:
            assert isinstance(value, dict)
            value = value[key]
        assert isinstance(value, str | int)
        return path[-1], value


class DmsWorkload(BaseWorkload, ABC):
    """A DMS workload: connects in `prepare`, then `run`s each iteration; honors Retry-After
    and the think time after it."""

    def __init__(self, options: DmsOptions, ctx: WorkloadContext) -> None:
        self.base_options = options
        self.scenario = ctx.scenario
        self._connector = ctx.dms
        self._calls: DmsCalls | None = None
        self._think_s = options.think_time / 1e9

    @property
    def calls(self) -> DmsCalls:
        """The request layer (after `prepare`)."""
        if self._calls is None:
            raise RuntimeError("the workload was not prepared")
        return self._calls

    async def prepare(self, vu: VU) -> None:
        """Connect (discovery and the first token, once per run), then `seed`."""
        session = await self._connector.session()
        self._calls = DmsCalls(session, respect_retry_after=self.base_options.respect_retry_after)
        await self.seed(vu)

    async def seed(self, vu: VU) -> None:
        """Data the workload needs before the load starts (none by default)."""

    async def iteration(self, vu: VU) -> None:
        """One iteration, then Retry-After and think time."""
        await self.run(vu)
        await honor_retry_after(vu)
        if self._think_s > 0:
            await anyio.sleep(self._think_s)

    @abstractmethod
    async def run(self, vu: VU) -> None:
        """The workload's own iteration."""

    # ---- data ----------------------------------------------------------------------------
    def data(self, vu: VU) -> DataGenerator:
        """The VU's document generator (setup VU 0 gets one per scenario)."""
        generator = vu.state.get(_GENERATOR)
        if generator is None:
            stream = f"{self.scenario}." if vu.id == 0 else ""
            generator = self.calls.session.run.generator(vu.id, stream)
            vu.state[_GENERATOR] = generator
        assert isinstance(generator, DataGenerator)
        return generator

    async def create(
        self, vu: VU, endpoint: str, document: Document, http: HttpClient | None = None
    ) -> str | None:
        """POST one new document (the profile's overrides applied); its id, or None if it was
        not created (already recorded)."""
        document = self._connector.overrides.apply(endpoint, document)
        response = await self.calls.send(
            vu, "POST", endpoint, Operation.CREATE, expect=CREATED, body=document, http=http
        )
        if not response.expected:
            return None
        tags = {"resource": endpoint}
        vu.add(ENTITY_CREATION_TIME, response.duration_ms, tags)
        counter = CREATED_COUNTERS.get(endpoint)
        if counter is not None:
            vu.add(counter, 1.0, tags)
        return created_id(response)

    async def school_for(self, vu: VU, http: HttpClient | None = None) -> int | None:
        """A parent school: a seeded one, or the one this VU created (created on first use)."""
        seeded = self.base_options.seeded_schools
        if seeded:
            return seeded_school_id(self.data(vu).rng.randrange(seeded))
        school_id = vu.state.get(_SCHOOL)
        if school_id is None:
            document = self._connector.overrides.apply(SCHOOLS, self.data(vu).school())
            if await self.create(vu, SCHOOLS, document, http) is None:
                return None
            school_id = vu.state[_SCHOOL] = document["schoolId"]
        assert isinstance(school_id, int)
        return school_id

    async def create_entity(
        self,
        vu: VU,
        endpoint: str,
        *,
        http: HttpClient | None = None,
        school_id: int | None = None,
    ) -> Created | None:
        """Create one `endpoint` document, creating its student/staff parent first and drawing
        its school; None when a request failed (already recorded)."""
        data = self.data(vu)
        parents: list[Created] = []
        document: Document
        if endpoint in (STUDENT_SCHOOL_ASSOCIATIONS, STAFF_ASSIGNMENTS):
            school = school_id if school_id is not None else await self.school_for(vu, http)
            if school is None:
                return None
            person_endpoint = STUDENTS if endpoint == STUDENT_SCHOOL_ASSOCIATIONS else STAFFS
            person = await self.create_entity(vu, person_endpoint, http=http)
            if person is None:
                return None
            parents.append(person)
            if endpoint == STUDENT_SCHOOL_ASSOCIATIONS:
                unique_id = person.document["studentUniqueId"]
                document = data.student_school_association(unique_id, school)
            else:
                document = data.staff_assignment(person.document["staffUniqueId"], school)
        elif endpoint == SCHOOLS:
            document = data.school()
        elif endpoint == STUDENTS:
            document = data.student()
        else:
            document = data.staff()
        document = self._connector.overrides.apply(endpoint, document)
        doc_id = await self.create(vu, endpoint, document, http)
        if doc_id is None:
            return None
        return Created(endpoint, doc_id, document, parents)

    async def delete_entity(self, vu: VU, entity: Created) -> bool:
        """DELETE the document, then the parents created for it (children first)."""
        response = await self.calls.send(
            vu, "DELETE", entity.endpoint, Operation.DELETE, expect=NO_CONTENT, doc_id=entity.doc_id
        )
        ok = response.expected
        for parent in entity.parents:
            ok = await self.delete_entity(vu, parent) and ok
        return ok
