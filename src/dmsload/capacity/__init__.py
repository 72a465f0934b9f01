"""`dmsload capacity`: find the knee with constant-arrival-rate steps, then soak below it."""

from dmsload.capacity.options import CapacityOptions, KneeRules, StepRule
from dmsload.capacity.search import CapacityResult, run_soak, run_steps

__all__ = ["CapacityOptions", "CapacityResult", "KneeRules", "StepRule", "run_soak", "run_steps"]
