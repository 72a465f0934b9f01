"""`mixed-crud`: weighted CREATE/READ/UPDATE/DELETE/QUERY on documents the VU created itself.

Operations are interleaved by smooth weighted round-robin over the scenario's iterations (the
scheme nginx uses for upstream weights), not drawn at random: with whole-number weights, any
`sum(weights)` consecutive iterations hold each operation exactly `weight` times, so even a
short run does every operation and two runs of one profile send the same mix. Each VU reads,
updates and deletes only what it created, so the mix never fails on missing data: when an
operation needs a document and the VU owns none, it creates one first (counted as a create
request, not as the chosen operation). The VUs keep at most `MAX_OWNED` documents together,
each its most recent ones, so memory does not grow with the run's length. Updates are PUTs
carrying `id`; deletes remove an association before the student or staff member created for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, field_validator

from dmsload.dms.calls import DMS_METRICS, QUERY_RESPONSE_TIME, Operation, json_body
from dmsload.dms.resources import resource_path
from dmsload.dms.workloads.common import (
    NO_CONTENT,
    OK,
    Created,
    DmsOptions,
    DmsWorkload,
    Resource,
)
from dmsload.metrics import MetricKind, ValueType
from dmsload.workloads.base import Workload, WorkloadContext, WorkloadSpec

if TYPE_CHECKING:
    from dmsload.engine.vu import VU

MIXED_CRUD_OPERATIONS = "mixed_crud_operations"
_OPERATIONS = ("create", "read", "update", "delete", "query")
_DEFAULT_WEIGHTS = {"create": 20.0, "read": 40.0, "update": 20.0, "delete": 5.0, "query": 15.0}
_OWNED = "dms.owned"
MAX_OWNED = 2_000
"""The documents a scenario's VUs keep to work on, all VUs together (each VU's most recent
ones): memory stays flat over long runs whatever the number of VUs. Thirty minutes at 1,000/s
create about 270,000 documents more than they delete; the budget (about 1 MB) fills in the
first 15 s at 1,000/s, in 40 s at 330/s."""


class MixedCrudOptions(DmsOptions):
    """Options of `mixed-crud`."""

    resource: Resource = "students"
    weights: dict[str, float] = Field(default_factory=lambda: dict(_DEFAULT_WEIGHTS))
    """Relative weights of create, read, update, delete and query (the strategy's 20/40/20/5/15)."""

    @field_validator("weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(_OPERATIONS))
        if unknown:
            raise ValueError(f"unknown operation {unknown[0]!r}; use {', '.join(_OPERATIONS)}")
        if any(weight < 0 for weight in value.values()):
            raise ValueError("weights must not be negative")
        if sum(value.values()) <= 0:
            raise ValueError("at least one weight must be positive")
        return {op: float(value.get(op, 0.0)) for op in _OPERATIONS}


class WeightedInterleave:
    """Smooth weighted round-robin: each `next()` picks the operation furthest behind its share.

    Over any run of picks, an operation's count stays within one of `picks × weight / total`.
    """

    def __init__(self, weights: dict[str, float]) -> None:
        self._ops = [op for op in _OPERATIONS if weights.get(op, 0.0) > 0]
        self._weights = [weights[op] for op in self._ops]
        self._total = sum(self._weights)
        self._current = [0.0] * len(self._ops)

    def next(self) -> str:
        """The next operation."""
        current = self._current
        best = 0
        for index, weight in enumerate(self._weights):
            current[index] += weight
            if current[index] > current[best]:
                best = index
        current[best] -= self._total
        return self._ops[best]


class MixedCrudWorkload(DmsWorkload):
    """One weighted operation per iteration on this VU's own documents."""

    def __init__(self, options: MixedCrudOptions, ctx: WorkloadContext) -> None:
        super().__init__(options, ctx)
        self.resource = options.resource
        self._mix = WeightedInterleave(options.weights)
        self._owned_total = 0
        """Documents all VUs of the scenario keep (bounded by MAX_OWNED, plus one per VU)."""

    def _owned(self, vu: VU) -> list[Created]:
        owned = vu.state.get(_OWNED)
        if owned is None:
            owned = vu.state[_OWNED] = []
        assert isinstance(owned, list)
        return owned

    async def run(self, vu: VU) -> None:
        """Take the scenario's next operation and do it."""
        rng = self.data(vu).rng
        operation = self._mix.next()
        vu.add(MIXED_CRUD_OPERATIONS, 1.0, {"operation": operation})
        owned = self._owned(vu)
        if operation == "create":
            await self._create(vu, owned)
            return
        if operation == "query":
            await self._query(vu, owned)
            return
        if not owned and not await self._create(vu, owned):
            return
        index = rng.randrange(len(owned))
        if operation == "read":
            await self._read(vu, owned[index])
        elif operation == "update":
            await self._update(vu, owned[index])
        else:
            entity = owned.pop(index)
            self._owned_total -= 1
            await self.delete_entity(vu, entity)

    async def _create(self, vu: VU, owned: list[Created]) -> bool:
        entity = await self.create_entity(vu, self.resource)
        if entity is None:
            return False
        if self._owned_total >= MAX_OWNED and owned:
            owned.pop(0)  # over the scenario's budget: this VU lets its oldest document go
        else:
            self._owned_total += 1
        owned.append(entity)
        return True

    async def _read(self, vu: VU, entity: Created) -> None:
        await self.calls.send(
            vu, "GET", entity.endpoint, Operation.READ, expect=OK, doc_id=entity.doc_id
        )

    async def _update(self, vu: VU, entity: Created) -> None:
        document = self.changed(vu, entity)
        response = await self.calls.send(
            vu,
            "PUT",
            entity.endpoint,
            Operation.UPDATE,
            expect=NO_CONTENT,
            doc_id=entity.doc_id,
            body={"id": entity.doc_id, **document},
        )
        if response.expected:
            entity.document = document

    async def _query(self, vu: VU, owned: list[Created]) -> None:
        if owned:
            entity = owned[self.data(vu).rng.randrange(len(owned))]
            field, value = entity.filter_value()
            params: dict[str, str | int | bool] = {field: value}
            name = f"GET {resource_path(self.resource)}?{field}"
        else:
            params = {"limit": 25}
            name = f"GET {resource_path(self.resource)}?limit"
        response = await self.calls.send(
            vu, "GET", self.resource, Operation.QUERY, expect=OK, params=params, name=name
        )
        if response.expected:
            vu.add(QUERY_RESPONSE_TIME, response.duration_ms, {"query": "mixed-crud"})
            if owned:
                found = json_body(response)
                vu.check(f"query {self.resource}: finds the VU's document", bool(found))


def _factory(options: BaseModel, ctx: WorkloadContext) -> Workload:
    assert isinstance(options, MixedCrudOptions)
    return MixedCrudWorkload(options, ctx)


MIXED_CRUD_WORKLOAD = WorkloadSpec(
    name="mixed-crud",
    summary="weighted create/read/update/delete/query (20/40/20/5/15) on the VU's own documents",
    options_model=MixedCrudOptions,
    factory=_factory,
    metrics={**DMS_METRICS, MIXED_CRUD_OPERATIONS: (MetricKind.COUNTER, ValueType.DEFAULT)},
    uses_dms=True,
)
