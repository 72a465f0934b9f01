"""SIGINT and SIGTERM outside a run: one exception that every command unwinds through.

During a run the runner owns both signals (first: graceful stop, second: hard stop). Before
and after it, and between a suite's profiles, `install` makes either signal raise
`Interrupted`, so `finally` blocks run (an embedded sandbox is stopped, its temporary files
removed, suite.json written) and the command exits 105, k6's code for an external abort.
`Interrupted` is a BaseException but not a KeyboardInterrupt: click would turn that into
exit 130.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived while no run was handling signals."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def install() -> None:
    """Make SIGINT and SIGTERM raise `Interrupted` (main thread only)."""
    for signum in HANDLED:
        signal.signal(signum, _raise)


def ignore() -> None:
    """Ignore SIGINT and SIGTERM from now on: the command has written everything and is
    exiting. Python resets its own handlers to the defaults while it finalizes, so a late
    signal would otherwise kill the process (-15) instead of letting it exit with its status;
    an ignored signal survives finalization."""
    for signum in HANDLED:
        signal.signal(signum, signal.SIG_IGN)


@contextmanager
def preserved() -> Iterator[None]:
    """Restore the SIGINT/SIGTERM handlers on exit: an event loop's signal receivers reset
    them to the defaults when they close."""
    saved: dict[int, Any] = {signum: signal.getsignal(signum) for signum in HANDLED}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            if handler is not None:
                signal.signal(signum, handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back while the block runs, then raise `Interrupted` for the first
    that came. For starting a child: a signal raised inside `Popen` leaves the child running
    with no handle to stop it. Off the main thread, or while a run owns the signals, the block
    runs as it is."""
    if threading.current_thread() is not threading.main_thread() or any(
        signal.getsignal(signum) is not _raise for signum in HANDLED
    ):
        yield
        return
    arrived: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        arrived.append(signum)

    for signum in HANDLED:
        signal.signal(signum, hold)
    try:
        yield
    finally:
        for signum in HANDLED:
            signal.signal(signum, _raise)
    if arrived:
        raise Interrupted(arrived[0])
