"""The interpreter's thread switch interval for the load phase: the event loop waits at most
half a millisecond for the GIL, not CPython's default 5 ms.

An output's writer thread encodes its batches in Python. While it does, the event loop thread,
woken to start an iteration or read a response, waits for the GIL until the writer's switch
interval runs out: up to 5 ms late by default, every 0.2 s that an output writes. With no
other thread wanting the GIL the interval costs nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

LOAD_PHASE_SWITCH_INTERVAL_S = 0.0005


@contextmanager
def load_phase_gil() -> Iterator[None]:
    """Shorten the switch interval for the load phase; restore it afterwards."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, LOAD_PHASE_SWITCH_INTERVAL_S))
    try:
        yield
    finally:
        sys.setswitchinterval(before)
