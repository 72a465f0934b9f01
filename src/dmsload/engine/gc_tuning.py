"""Garbage-collector settings for the load phase: fewer, shorter pauses on the hot path."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 20_000
"""Allocations between young collections during the load (CPython's default is 700)."""


@contextmanager
def load_phase_gc() -> Iterator[None]:
    """Collect once and freeze what start-up built (profile, workload data, VU pools) so that
    full collections during the load skip it, and collect the young generation less often;
    restore the collector's settings afterwards."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], YOUNG_THRESHOLD), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
