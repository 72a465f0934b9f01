"""Workloads by name: what a scenario's `workload` key chooses."""

from __future__ import annotations

from collections.abc import Mapping

from dmsload.workloads.base import Workload, WorkloadContext, WorkloadSpec
from dmsload.workloads.http import HTTP_WORKLOAD


def builtin_workloads() -> Mapping[str, WorkloadSpec]:
    """Every workload dmsload ships, by name."""
    specs = [HTTP_WORKLOAD]
    return {spec.name: spec for spec in specs}


__all__ = ["Workload", "WorkloadContext", "WorkloadSpec", "builtin_workloads"]
