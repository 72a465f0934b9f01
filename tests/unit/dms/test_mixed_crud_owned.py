"""mixed-crud's working set: the VUs keep MAX_OWNED documents together, each its most recent."""

from __future__ import annotations

from typing import Any

import anyio

from dmsload.dms.workloads.common import Created
from dmsload.dms.workloads.mixed_crud import MAX_OWNED, MixedCrudWorkload


class _Offline(MixedCrudWorkload):
    """`_create` alone: documents come from a counter instead of the network."""

    def __init__(self) -> None:
        self.made = 0
        self.resource = "students"
        self._owned_total = 0

    async def create_entity(self, vu: Any, endpoint: str, **_: Any) -> Created | None:
        self.made += 1
        return Created(endpoint, f"id-{self.made}", {"studentUniqueId": f"S-{self.made}"})


def test_the_vus_keep_the_scenario_s_budget_each_dropping_its_oldest() -> None:
    workload = _Offline()
    first: list[Created] = []
    second: list[Created] = []

    async def create(owned: list[Created], times: int) -> None:
        for _ in range(times):
            assert await workload._create(None, owned)  # type: ignore[arg-type]

    anyio.run(create, first, MAX_OWNED - 10)
    anyio.run(create, second, 60)
    # 10 fit in the budget; past it, the VU that creates lets its own oldest go
    assert len(first) == MAX_OWNED - 10 and len(second) == 10
    assert [entity.doc_id for entity in second[:1]] == [f"id-{MAX_OWNED + 41}"]
    assert second[-1].doc_id == f"id-{MAX_OWNED + 50}"
    anyio.run(create, first, 5)
    assert len(first) == MAX_OWNED - 10
    assert first[0].doc_id == "id-6" and first[-1].doc_id == f"id-{MAX_OWNED + 55}"
    assert workload._owned_total == MAX_OWNED == len(first) + len(second)
