"""The six k6 executors, one module each, registered by name."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dmsload.engine.executors.base import ExecutorConfig, Stage
from dmsload.engine.executors.constant_arrival_rate import ConstantArrivalRateConfig
from dmsload.engine.executors.constant_vus import ConstantVUsConfig
from dmsload.engine.executors.per_vu_iterations import PerVUIterationsConfig
from dmsload.engine.executors.ramping_arrival_rate import RampingArrivalRateConfig
from dmsload.engine.executors.ramping_vus import RampingVUsConfig
from dmsload.engine.executors.shared_iterations import SharedIterationsConfig

EXECUTORS: dict[str, type[ExecutorConfig]] = {
    cls.kind: cls
    for cls in (
        SharedIterationsConfig,
        PerVUIterationsConfig,
        ConstantVUsConfig,
        RampingVUsConfig,
        ConstantArrivalRateConfig,
        RampingArrivalRateConfig,
    )
}
"""Executor name → config class."""

REMOVED_EXECUTORS: dict[str, str] = {
    "externally-controlled": (
        "k6 v2 removed the externally-controlled executor (with `k6 pause/resume/scale`); "
        "use ramping-vus or ramping-arrival-rate"
    ),
}

ScenarioConfig = Annotated[
    SharedIterationsConfig
    | PerVUIterationsConfig
    | ConstantVUsConfig
    | RampingVUsConfig
    | ConstantArrivalRateConfig
    | RampingArrivalRateConfig,
    Field(discriminator="executor"),
]

__all__ = [
    "EXECUTORS",
    "REMOVED_EXECUTORS",
    "ConstantArrivalRateConfig",
    "ConstantVUsConfig",
    "ExecutorConfig",
    "PerVUIterationsConfig",
    "RampingArrivalRateConfig",
    "RampingVUsConfig",
    "ScenarioConfig",
    "SharedIterationsConfig",
    "Stage",
]
