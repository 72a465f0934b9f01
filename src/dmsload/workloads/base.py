"""The workload contract: a named async `iteration(vu)` with validated options.

A workload may also `prepare` itself once before the load starts (k6's `setup()`: seed data,
connect to the DMS) with a setup VU whose requests are tagged `scenario=setup`, and `close`
once after the run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

from dmsload.metrics import MetricKind, Registry, ValueType

if TYPE_CHECKING:
    from dmsload.dms.session import DmsConnector
    from dmsload.engine.vu import VU


class RunCannotProceed(Exception):
    """Raised by a workload when the run cannot go on (the target refuses every token): it
    ends the run with exit status 1 and this message, instead of failing each iteration."""


class Workload(Protocol):
    """What a scenario runs on every iteration of every VU."""

    async def prepare(self, vu: VU) -> None:
        """Once, before the load starts; `vu` is the run's setup VU."""
        ...

    async def iteration(self, vu: VU) -> None:
        """Do one iteration's work through `vu.http`."""
        ...

    async def close(self) -> None:
        """Once, after the run."""
        ...


class BaseWorkload:
    """No-op `prepare` and `close`, for workloads that need neither."""

    async def prepare(self, vu: VU) -> None:
        """Nothing to prepare."""

    async def close(self) -> None:
        """Nothing to close."""


@dataclass(frozen=True)
class WorkloadContext:
    """What a workload factory may use to build itself."""

    registry: Registry
    scenario: str
    dms: DmsConnector


@dataclass(frozen=True)
class WorkloadSpec:
    """A registered workload: its options model, factory and the custom metrics it emits."""

    name: str
    summary: str
    options_model: type[BaseModel]
    factory: Callable[[BaseModel, WorkloadContext], Workload]
    metrics: Mapping[str, tuple[MetricKind, ValueType]] = field(default_factory=dict)
    uses_dms: bool = False
    """It talks to a DMS, so a run of it needs client credentials."""
