"""mixed-crud's working set: a VU keeps its most recent documents, at most MAX_OWNED."""

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

    async def create_entity(self, vu: Any, endpoint: str, **_: Any) -> Created | None:
        self.made += 1
        return Created(endpoint, f"id-{self.made}", {"studentUniqueId": f"S-{self.made}"})


def test_a_vu_keeps_only_its_most_recent_documents() -> None:
    workload = _Offline()
    owned: list[Created] = []
    total = MAX_OWNED + 50

    async def create_all() -> None:
        for _ in range(total):
            assert await workload._create(None, owned)  # type: ignore[arg-type]

    anyio.run(create_all)
    assert len(owned) == MAX_OWNED
    assert [entity.doc_id for entity in owned[:2]] == ["id-51", "id-52"]  # oldest dropped first
    assert owned[-1].doc_id == f"id-{total}"
