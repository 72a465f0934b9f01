"""load_phase_gc: freezes start-up objects and raises the young threshold, then restores."""

from __future__ import annotations

import gc

from dmsload.engine.gc_tuning import YOUNG_THRESHOLD, load_phase_gc


def test_load_phase_freezes_and_raises_the_threshold_then_restores_both() -> None:
    before = gc.get_threshold()
    kept = [object() for _ in range(100)]
    with load_phase_gc():
        assert gc.get_threshold()[0] >= YOUNG_THRESHOLD
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_settings_are_restored_when_the_load_phase_raises() -> None:
    before = gc.get_threshold()
    try:
        with load_phase_gc():
            raise RuntimeError("the run failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
