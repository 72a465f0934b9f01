"""A SIGTERM that arrives while `--sandbox` starts its subprocess: the command still stops it.

The signal is sent from inside `Popen` (a wrapper around the real one), which is where a Ctrl-C
or a SIGTERM from a supervisor lands when it comes a few milliseconds after the start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dmsload import signals
from dmsload.dms import embedded_sandbox as embedded


@pytest.fixture
def dmsload_handlers() -> Iterator[None]:
    """dmsload's handlers (a signal raises `Interrupted`), as a command has them; restored after."""
    with signals.preserved():
        signals.install()
        yield


def test_a_signal_inside_deferred_is_raised_when_the_block_ends(dmsload_handlers: None) -> None:
    reached = False
    with pytest.raises(signals.Interrupted) as caught, signals.deferred():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(100):  # the handler runs between bytecodes: give it many
            time.sleep(0.001)
        reached = True
    assert reached  # the block ran to its end
    assert caught.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is signals._raise  # dmsload's handler is back


def test_deferred_leaves_other_handlers_alone() -> None:
    got: list[int] = []
    with signals.preserved():
        signal.signal(signal.SIGTERM, lambda signum, frame: got.append(signum))
        with signals.deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(100):
                if got:
                    break
                time.sleep(0.001)
            assert got == [signal.SIGTERM]  # delivered at once, not held back


def test_a_sigterm_while_popen_starts_the_sandbox_stops_it(
    dmsload_handlers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[subprocess.Popen[Any]] = []
    real_popen = subprocess.Popen

    def popen_then_sigterm(*args: Any, **kwargs: Any) -> subprocess.Popen[Any]:
        process = real_popen(*args, **kwargs)
        started.append(process)
        os.kill(os.getpid(), signal.SIGTERM)  # arrives before Popen returns
        for _ in range(100):
            time.sleep(0.001)
        return process

    monkeypatch.setattr(embedded.subprocess, "Popen", popen_then_sigterm)
    try:
        with pytest.raises(signals.Interrupted), embedded.embedded_sandbox():
            raise AssertionError("the sandbox came up despite the signal")
        (process,) = started
        assert process.poll() is not None  # stopped (and reaped), not left running
    finally:
        for process in started:  # what a failure left behind
            if process.poll() is None:
                process.kill()
                process.wait()
