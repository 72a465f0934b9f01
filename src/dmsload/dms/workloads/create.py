"""`create`: POST one new entity of `resource` per iteration (parents first, or seeded)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from dmsload.dms.calls import DMS_METRICS
from dmsload.dms.workloads.common import DmsOptions, DmsWorkload, Resource
from dmsload.workloads.base import Workload, WorkloadContext, WorkloadSpec

if TYPE_CHECKING:
    from dmsload.engine.vu import VU


class CreateOptions(DmsOptions):
    """Options of `create`."""

    resource: Resource = "students"


class CreateWorkload(DmsWorkload):
    """One new document per iteration; expected status 201."""

    def __init__(self, options: CreateOptions, ctx: WorkloadContext) -> None:
        super().__init__(options, ctx)
        self.resource = options.resource

    async def run(self, vu: VU) -> None:
        """Create one entity (and the student/staff parent an association needs)."""
        await self.create_entity(vu, self.resource)


def _factory(options: BaseModel, ctx: WorkloadContext) -> Workload:
    assert isinstance(options, CreateOptions)
    return CreateWorkload(options, ctx)


CREATE_WORKLOAD = WorkloadSpec(
    name="create",
    summary="POST one new entity of `resource` per iteration (201); parents created or seeded",
    options_model=CreateOptions,
    factory=_factory,
    metrics=DMS_METRICS,
    uses_dms=True,
)
