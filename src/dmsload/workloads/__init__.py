"""Workloads by name: what a scenario's `workload` key chooses."""

from __future__ import annotations

from collections.abc import Mapping

from dmsload.workloads.base import BaseWorkload, Workload, WorkloadContext, WorkloadSpec
from dmsload.workloads.http import HTTP_WORKLOAD


def builtin_workloads() -> Mapping[str, WorkloadSpec]:
    """Every workload dmsload ships, by name."""
    from dmsload.dms.workloads import DMS_WORKLOADS  # the DMS workloads build on this package

    specs = [HTTP_WORKLOAD, *DMS_WORKLOADS]
    return {spec.name: spec for spec in specs}


__all__ = ["BaseWorkload", "Workload", "WorkloadContext", "WorkloadSpec", "builtin_workloads"]
