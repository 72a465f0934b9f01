"""What every DMS workload shares: options, the session, entity creation with parents."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

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
from dmsload.dms.documents import DocumentFactory
from dmsload.dms.errors import DmsError
from dmsload.dms.resources import (
    SCHOOLS,
    STAFF_ASSIGNMENTS,
    STAFFS,
    STUDENT_SCHOOL_ASSOCIATIONS,
    STUDENTS,
)
from dmsload.dms.workloads.any_resource import (
    build,
    endpoint_of,
    fresh_parents,
    identity_filter,
    missing_chain,
    parents_needed,
)
from dmsload.engine.executors.base import Duration
from dmsload.http import HttpClient
from dmsload.openapi.model import ApiModel
from dmsload.openapi.model import Resource as ApiResource
from dmsload.workloads.base import BaseWorkload, WorkloadContext

if TYPE_CHECKING:
    from dmsload.engine.vu import VU

Resource = Annotated[
    str, Field(min_length=1, pattern=r"^[A-Za-z][A-Za-z0-9-]*(/[A-Za-z][A-Za-z0-9]*)?$")
]
"""A resource endpoint: one of the five with hand-written generators (`students`), or any
other the target's OpenAPI specification defines (`academicWeeks`, `tpdm/candidates`)."""

HAND_WRITTEN = frozenset(
    {SCHOOLS, STUDENTS, STAFFS, STUDENT_SCHOOL_ASSOCIATIONS, STAFF_ASSIGNMENTS}
)
"""Resources whose realistic generators stay the default."""

CREATED = frozenset({201})
UPSERTED = frozenset({200, 201})
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
_POOL = "dms.pool"


class DmsOptions(BaseModel):
    """Options every DMS workload takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    respect_retry_after: bool = False
    """Wait out a 429/503 `Retry-After` before the VU's next iteration (default: count it as a
    failed request and go on, as k6 does)."""
    think_time: Duration = 0
    """A pause after each iteration ("1s"); none by default, as k6 without sleep()."""
    seeded_schools: int = Field(0, ge=0)
    """Draw parent schools from `setup --seed-schools N` (ids 100000..); 0: each VU creates one."""


@dataclass(slots=True)
class Created:
    """A document this VU created, with the parents created just for it (deleted with it)."""

    endpoint: str
    doc_id: str
    document: Document
    parents: list[Created] = field(default_factory=list)
    resource: ApiResource | None = None
    """The specification's resource, for documents not of the five hand-written ones."""

    def filter_value(self) -> tuple[str, str | int]:
        """(query parameter, value) that finds this document."""
        if self.resource is not None:
            found = identity_filter(self.resource, self.document)
            if found is None:
                return "id", self.doc_id
            return found
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
        self._factory: DocumentFactory | None = None
        self._descriptors: list[str] = []

    @property
    def calls(self) -> DmsCalls:
        """The request layer (after `prepare`)."""
        if self._calls is None:
            raise RuntimeError("the workload was not prepared")
        return self._calls

    async def prepare(self, vu: VU) -> None:
        """Connect (discovery and the first token, once per run), check the resources it
        writes, then `seed`."""
        session = await self._connector.session()
        self._calls = DmsCalls(session, respect_retry_after=self.base_options.respect_retry_after)
        await self._check_resources()
        await self.seed(vu)

    def resources(self) -> list[str]:
        """The resources this workload writes (from its options)."""
        resource = getattr(self.base_options, "resource", None)
        return [resource] if isinstance(resource, str) else []

    async def _check_resources(self) -> None:
        """Name, before any load, a resource the target's specification lacks or whose
        references cannot be met (with the missing chain)."""
        others = [r for r in self.resources() if r not in HAND_WRITTEN]
        if not others:
            return
        model = await self._connector.model()
        resources: list[ApiResource] = []
        for name in others:
            resource = model.find(name)
            if resource is None:
                raise DmsError(f"{self.scenario}: {model.source} has no resource {name!r}")
            chain = missing_chain(model, resource)
            if chain is not None:
                raise DmsError(f"{self.scenario}: {name} cannot be created: {' → '.join(chain)}")
            resources.append(resource)
        self._factory = DocumentFactory(model, namespace=self._connector.descriptor_namespace)
        types: set[str] = set()
        for resource in resources:
            types |= self._descriptor_types(model, resource)
        self._descriptors = sorted(types)

    def _descriptor_types(self, model: ApiModel, resource: ApiResource) -> set[str]:
        assert self._factory is not None
        types = self._factory.descriptor_types(resource)
        for name in model.dependencies(resource):
            types |= self._descriptor_types(model, model.resources[name])
        return types

    async def seed_descriptors(self, vu: VU) -> None:
        """POST (upsert) the descriptors generated documents of other resources refer to."""
        if self._factory is None:
            return
        for descriptor in self._descriptors:
            path, body = self._factory.descriptor_document(descriptor)
            response = await self.calls.send(
                vu, "POST", path, Operation.UPSERT, expect=UPSERTED, body=body
            )
            if not response.expected:
                raise DmsError(
                    f"{self.scenario}: descriptor {body['namespace']}#{body['codeValue']} could "
                    f"not be seeded (POST /{path} answered {response.status})"
                )

    async def seed(self, vu: VU) -> None:
        """Data the workload needs before the load starts (by default, the descriptors that
        documents of other resources than the five hand-written ones refer to)."""
        await self.seed_descriptors(vu)

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
        return await self._post_new(vu, endpoint, document, http)

    async def _post_new(
        self, vu: VU, endpoint: str, document: Document, http: HttpClient | None
    ) -> str | None:
        """POST one new document as it is (overrides already applied); its id, or None."""
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
            if await self._post_new(vu, SCHOOLS, document, http) is None:
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
        if endpoint not in HAND_WRITTEN:
            return await self._create_any(vu, endpoint, http)
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
        doc_id = await self._post_new(vu, endpoint, document, http)
        if doc_id is None:
            return None
        return Created(endpoint, doc_id, document, parents)

    def _pool(self, vu: VU) -> dict[str, tuple[ApiResource, Document]]:
        pool = vu.state.get(_POOL)
        if pool is None:
            pool = vu.state[_POOL] = {}
        assert isinstance(pool, dict)
        return pool

    async def _create_any(
        self, vu: VU, endpoint: str, http: HttpClient | None = None
    ) -> Created | None:
        """A new document of any resource of the specification: the parents it refers to
        are the VU's (created once), or its own when its identity needs them new."""
        factory = self._factory
        assert factory is not None, "resources are checked in prepare"
        model = factory.model
        resource = model.find(endpoint)
        assert resource is not None
        pool = self._pool(vu)
        for parent in parents_needed(model, resource):
            if parent.name not in pool:
                made = await self._create_any(vu, endpoint_of(parent), http)
                if made is None:
                    return None
                pool[parent.name] = (parent, made.document)
        local: dict[str, tuple[ApiResource, Document]] = {}
        fresh: list[Created] = []
        for parent in fresh_parents(model, resource):
            made = await self._create_any(vu, endpoint_of(parent), http)
            if made is None:
                return None
            local[parent.name] = (parent, made.document)
            fresh.append(made)
        document = build(factory, resource, self.data(vu), pool, local)
        name = endpoint_of(resource)
        document = self._connector.overrides.apply(name, document)
        doc_id = await self._post_new(vu, name, document, http)
        if doc_id is None:
            return None
        return Created(name, doc_id, document, fresh, resource)

    def changed(self, vu: VU, entity: Created) -> Document:
        """The entity's document with one field that is not part of its identity changed."""
        if entity.resource is not None and self._factory is not None:
            return self._factory.changed(entity.resource, entity.document)
        return self.data(vu).changed(entity.document)

    async def delete_entity(self, vu: VU, entity: Created) -> bool:
        """DELETE the document, then the parents created for it (children first)."""
        response = await self.calls.send(
            vu, "DELETE", entity.endpoint, Operation.DELETE, expect=NO_CONTENT, doc_id=entity.doc_id
        )
        ok = response.expected
        for parent in entity.parents:
            ok = await self.delete_entity(vu, parent) and ok
        return ok
