"""`bulk-create`: N creates per iteration sent concurrently, like k6's `http.batch`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
from pydantic import BaseModel, Field

from dmsload.dms.calls import DMS_METRICS
from dmsload.dms.resources import STAFF_ASSIGNMENTS, STUDENT_SCHOOL_ASSOCIATIONS
from dmsload.dms.workloads.common import DmsOptions, DmsWorkload, Resource
from dmsload.http import HttpClient
from dmsload.workloads.base import Workload, WorkloadContext, WorkloadSpec

if TYPE_CHECKING:
    from dmsload.engine.vu import VU


class BulkCreateOptions(DmsOptions):
    """Options of `bulk-create`."""

    resource: Resource = "students"
    batch_size: int = Field(10, ge=1, le=100)
    """Creates per iteration, each on its own connection of the VU (k6's batchPerHost)."""


class BulkCreateWorkload(DmsWorkload):
    """`batch_size` concurrent creates per iteration; the iteration ends when all have."""

    def __init__(self, options: BulkCreateOptions, ctx: WorkloadContext) -> None:
        super().__init__(options, ctx)
        self.resource = options.resource
        self.batch_size = options.batch_size

    async def run(self, vu: VU) -> None:
        """Send the batch and wait for all of it."""
        school_id = None
        if self.resource in (STUDENT_SCHOOL_ASSOCIATIONS, STAFF_ASSIGNMENTS):
            school_id = await self.school_for(vu)  # once, before the batch shares it
            if school_id is None:
                return
        async with anyio.create_task_group() as batch:
            for http in vu.http_pool(self.batch_size):
                batch.start_soon(self._one, vu, http, school_id)

    async def _one(self, vu: VU, http: HttpClient, school_id: int | None) -> None:
        await self.create_entity(vu, self.resource, http=http, school_id=school_id)


def _factory(options: BaseModel, ctx: WorkloadContext) -> Workload:
    assert isinstance(options, BulkCreateOptions)
    return BulkCreateWorkload(options, ctx)


BULK_CREATE_WORKLOAD = WorkloadSpec(
    name="bulk-create",
    summary="batch_size concurrent creates of `resource` per iteration (like http.batch)",
    options_model=BulkCreateOptions,
    factory=_factory,
    metrics=DMS_METRICS,
    uses_dms=True,
)
