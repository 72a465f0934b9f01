"""load_phase_gil: the event loop waits at most 0.5 ms for the GIL during the load."""

from __future__ import annotations

import sys

import pytest

from dmsload.engine.gil_tuning import LOAD_PHASE_SWITCH_INTERVAL_S, load_phase_gil


def test_the_switch_interval_is_short_during_the_load_and_restored_after() -> None:
    before = sys.getswitchinterval()
    with load_phase_gil():
        assert sys.getswitchinterval() == pytest.approx(LOAD_PHASE_SWITCH_INTERVAL_S, rel=0.02)
    assert sys.getswitchinterval() == before


def test_a_shorter_interval_set_by_the_user_is_kept_and_restored_after_an_error() -> None:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.0001)
    try:
        with pytest.raises(RuntimeError), load_phase_gil():
            assert sys.getswitchinterval() == pytest.approx(0.0001, rel=0.02)
            raise RuntimeError("the run failed")
        assert sys.getswitchinterval() == pytest.approx(0.0001, rel=0.02)
    finally:
        sys.setswitchinterval(before)
