"""The workload contract: a named async `iteration(vu)` with validated options."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

from dmsload.metrics import MetricKind, Registry, ValueType

if TYPE_CHECKING:
    from dmsload.engine.vu import VU


class Workload(Protocol):
    """What a scenario runs on every iteration of every VU."""

    async def iteration(self, vu: VU) -> None:
        """Do one iteration's work through `vu.http`."""
        ...


@dataclass(frozen=True)
class WorkloadContext:
    """What a workload factory may use to build itself."""

    registry: Registry
    scenario: str


@dataclass(frozen=True)
class WorkloadSpec:
    """A registered workload: its options model, factory and the custom metrics it emits."""

    name: str
    summary: str
    options_model: type[BaseModel]
    factory: Callable[[BaseModel, WorkloadContext], Workload]
    metrics: Mapping[str, tuple[MetricKind, ValueType]] = field(default_factory=dict)
