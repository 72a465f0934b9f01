"""The DMS workloads: create, upsert-same, bulk-create, mixed-crud, query, change-queries and
pipeclean."""

from __future__ import annotations

from dmsload.dms.workloads.bulk_create import BULK_CREATE_WORKLOAD
from dmsload.dms.workloads.change_queries import CHANGE_QUERIES_WORKLOAD
from dmsload.dms.workloads.create import CREATE_WORKLOAD
from dmsload.dms.workloads.mixed_crud import MIXED_CRUD_WORKLOAD
from dmsload.dms.workloads.pipeclean import PIPECLEAN_WORKLOAD
from dmsload.dms.workloads.query import QUERY_WORKLOAD
from dmsload.dms.workloads.upsert_same import UPSERT_SAME_WORKLOAD

DMS_WORKLOADS = (
    CREATE_WORKLOAD,
    UPSERT_SAME_WORKLOAD,
    BULK_CREATE_WORKLOAD,
    MIXED_CRUD_WORKLOAD,
    QUERY_WORKLOAD,
    CHANGE_QUERIES_WORKLOAD,
    PIPECLEAN_WORKLOAD,
)

__all__ = ["DMS_WORKLOADS"]
