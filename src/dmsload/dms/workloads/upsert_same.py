"""`upsert-same`: the strategy's baseline; POST the same school every time (201, then 200).

The school is the next id of this run's schoolId block. A run whose id is random (no
`--run-id`) claims a block no earlier run on the target used (`DmsConnector` probes it), so
the school cannot exist yet: the run's first upsert must answer 201 (contract §5: POST upsert
creates with 201, updates with 200) and every later one 200. With `--run-id` the block may
hold the school from an earlier run with that id, so the first upsert may also answer 200.

The first upsert of the workload is sent alone: VUs that start meanwhile wait for its answer
(a few milliseconds, once per run), so that which request creates the school is known and
"201 first, then 200" is checked exactly, not "201 or 200" for every request. If the first
request fails (a 5xx, a 429), the next one is the first again; if it got no answer at all
(a timeout, a reset), the school may exist, so the next one may also answer 200.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
from pydantic import BaseModel

from dmsload.dms.calls import CREATED_COUNTERS, DMS_METRICS, ENTITY_CREATION_TIME, Operation
from dmsload.dms.data import Document, school_document
from dmsload.dms.errors import DmsError
from dmsload.dms.resources import SCHOOLS
from dmsload.dms.workloads.common import CREATED, OK, DmsOptions, DmsWorkload, Resource
from dmsload.http import HttpResponse
from dmsload.workloads.base import Workload, WorkloadContext, WorkloadSpec

if TYPE_CHECKING:
    from dmsload.engine.vu import VU

UPSERTED = frozenset({200, 201})


class UpsertSameOptions(DmsOptions):
    """Options of `upsert-same`."""

    resource: Resource = SCHOOLS
    """`schools` (the strategy's baseline), or any resource of the target's specification: its
    document is created in setup, so that every iteration's upsert answers 200."""


class UpsertSameWorkload(DmsWorkload):
    """POSTs one school of this run's id block on every iteration of every VU."""

    def __init__(self, options: UpsertSameOptions, ctx: WorkloadContext) -> None:
        super().__init__(options, ctx)
        self._document: Document | None = None
        self._first_lock = anyio.Lock()
        self._exists = False  # the school is known to exist: every later upsert answers 200
        self._first_expect = CREATED
        self._endpoint = options.resource

    async def seed(self, vu: VU) -> None:
        """Choose the run's school (it is created by the first iteration); another resource's
        document is created now, with its parents."""
        if self._endpoint != SCHOOLS:
            await self.seed_descriptors(vu)
            created = await self.create_entity(vu, self._endpoint)
            if created is None:
                raise DmsError(
                    f"{self.scenario}: the {self._endpoint} document to upsert could not be created"
                )
            self._document = created.document
            self._exists = True
            return
        run = self.calls.session.run
        document = school_document(run.next_school_id(), namespace=run.descriptor_namespace)
        self._document = self._connector.overrides.apply(SCHOOLS, document)
        # a pinned run id may repeat an earlier run's block, school included
        self._first_expect = UPSERTED if run.pinned else CREATED

    async def run(self, vu: VU) -> None:
        """Upsert the school: 201 the first time, 200 after."""
        if not self._exists:
            async with self._first_lock:
                if not self._exists:
                    response = await self._upsert(vu, self._first_expect)
                    if response.status in UPSERTED:
                        self._exists = True
                    elif response.status == 0:  # no answer: it may have been created
                        self._first_expect = UPSERTED
                    return
        await self._upsert(vu, OK)

    async def _upsert(self, vu: VU, expect: frozenset[int]) -> HttpResponse:
        assert self._document is not None
        response = await self.calls.send(
            vu, "POST", self._endpoint, Operation.UPSERT, expect=expect, body=self._document
        )
        if response.expected:
            tags = {"resource": self._endpoint}
            vu.add(ENTITY_CREATION_TIME, response.duration_ms, tags)
            counter = CREATED_COUNTERS.get(self._endpoint)
            if response.status == 201 and counter is not None:
                vu.add(counter, 1.0, tags)
        return response


def _factory(options: BaseModel, ctx: WorkloadContext) -> Workload:
    assert isinstance(options, UpsertSameOptions)
    return UpsertSameWorkload(options, ctx)


UPSERT_SAME_WORKLOAD = WorkloadSpec(
    name="upsert-same",
    summary="the baseline: POST the same school every iteration (201 first, then 200)",
    options_model=UpsertSameOptions,
    factory=_factory,
    metrics=DMS_METRICS,
    uses_dms=True,
)
