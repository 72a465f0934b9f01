"""`upsert-same`: the strategy's baseline; POST the same school every time (201, then 200)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from dmsload.dms.calls import CREATED_COUNTERS, DMS_METRICS, ENTITY_CREATION_TIME, Operation
from dmsload.dms.data import Document, school_document
from dmsload.dms.resources import SCHOOLS
from dmsload.dms.workloads.common import DmsOptions, DmsWorkload
from dmsload.workloads.base import Workload, WorkloadContext, WorkloadSpec

if TYPE_CHECKING:
    from dmsload.engine.vu import VU

UPSERTED = frozenset({200, 201})


class UpsertSameOptions(DmsOptions):
    """Options of `upsert-same` (only the common ones)."""


class UpsertSameWorkload(DmsWorkload):
    """POSTs one school of this run's id block on every iteration of every VU."""

    def __init__(self, options: UpsertSameOptions, ctx: WorkloadContext) -> None:
        super().__init__(options, ctx)
        self._document: Document | None = None

    async def seed(self, vu: VU) -> None:
        """Choose the run's school (it is created by the first iteration)."""
        self._document = school_document(self.calls.session.run.next_school_id())

    async def run(self, vu: VU) -> None:
        """Upsert the school: 201 the first time, 200 after."""
        assert self._document is not None
        response = await self.calls.send(
            vu, "POST", SCHOOLS, Operation.UPSERT, expect=UPSERTED, body=self._document
        )
        if response.expected:
            tags = {"resource": SCHOOLS}
            vu.add(ENTITY_CREATION_TIME, response.duration_ms, tags)
            if response.status == 201:
                vu.add(CREATED_COUNTERS[SCHOOLS], 1.0, tags)


def _factory(options: BaseModel, ctx: WorkloadContext) -> Workload:
    assert isinstance(options, UpsertSameOptions)
    return UpsertSameWorkload(options, ctx)


UPSERT_SAME_WORKLOAD = WorkloadSpec(
    name="upsert-same",
    summary="the baseline: POST the same school every iteration (201 first, then 200)",
    options_model=UpsertSameOptions,
    factory=_factory,
    metrics=DMS_METRICS,
)
