"""A wake-up at an exact instant for the event loop: a Linux timerfd, not uvloop's 1 ms timers.

uvloop (libuv) keeps time and timers in whole milliseconds and blocks in epoll with a
millisecond timeout, so a timer cannot wake the loop between two ticks. A timerfd armed with
an absolute CLOCK_MONOTONIC deadline becomes readable at that instant (a kernel hrtimer, no
timer slack), which wakes the loop's epoll at once. `perf_counter_ns()` reads the same clock
on Linux, so deadlines need no conversion. Where there is no timerfd (not Linux, or libc
without it) `PreciseTimer.open()` gives None and callers keep their millisecond timers.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import os
import sys
import time
from collections.abc import Iterator
from types import TracebackType

_CLOCK_MONOTONIC = 1
_TFD_TIMER_ABSTIME = 1
_TFD_NONBLOCK = 0o4000
_TFD_CLOEXEC = 0o2000000
_NS_PER_S = 1_000_000_000


class _Timespec(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))


class _Itimerspec(ctypes.Structure):
    _fields_ = (("it_interval", _Timespec), ("it_value", _Timespec))


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, if it has timerfd and perf_counter reads CLOCK_MONOTONIC (looked up
    once: `find_library` runs ldconfig, ~3 ms, which delayed each scenario's first iteration)."""
    if not sys.platform.startswith("linux"):
        return None
    if "CLOCK_MONOTONIC" not in time.get_clock_info("perf_counter").implementation:
        return None
    libc = _timerfd_library()
    if libc is None:
        return None
    create, settime = libc.timerfd_create, libc.timerfd_settime
    create.argtypes = (ctypes.c_int, ctypes.c_int)
    create.restype = ctypes.c_int
    settime.argtypes = (
        ctypes.c_int,
        ctypes.c_int,
        ctypes.POINTER(_Itimerspec),
        ctypes.POINTER(_Itimerspec),
    )
    settime.restype = ctypes.c_int
    return libc


def _library_names() -> Iterator[str | None]:
    """Where to look for timerfd: the process's own symbols (libc is loaded in it), then libc
    by its usual name, then by `find_library` (which runs ldconfig, so last)."""
    yield None
    yield "libc.so.6"
    found = ctypes.util.find_library("c")
    if found is not None:
        yield found


def _timerfd_library() -> ctypes.CDLL | None:
    """The first library that has timerfd; None if none has."""
    for name in _library_names():
        try:
            library = ctypes.CDLL(name, use_errno=True)
        except OSError:
            continue
        if hasattr(library, "timerfd_create") and hasattr(library, "timerfd_settime"):
            return library
    return None


def timerfd_available() -> bool:
    """Whether `PreciseTimer.open()` can give a timer here (given a running loop)."""
    return _libc() is not None


class PreciseTimer:
    """One timerfd on CLOCK_MONOTONIC, watched by the running asyncio loop for as long as the
    timer is open, that one task at a time waits on; close it when done."""

    def __init__(self, libc: ctypes.CDLL, fd: int, loop: asyncio.AbstractEventLoop) -> None:
        self._settime = libc.timerfd_settime
        self._fd = fd
        self._loop = loop
        self._spec = _Itimerspec()
        self._spec_ref = ctypes.byref(self._spec)
        self._waiter: asyncio.Future[None] | None = None
        loop.add_reader(fd, self._fired)  # once: re-registering per wait costs two epoll_ctl

    @classmethod
    def open(cls) -> PreciseTimer | None:
        """A new timer on the running loop, or None where the platform has no timerfd."""
        libc = _libc()
        if libc is None:
            return None
        fd = int(libc.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC))
        if fd < 0:
            return None
        try:
            return cls(libc, fd, asyncio.get_running_loop())
        except (RuntimeError, NotImplementedError):  # no running loop, or it cannot watch fds
            os.close(fd)
            return None

    def _fired(self) -> None:
        try:
            os.read(self._fd, 8)  # the expiry count; reading it clears the readiness
        except BlockingIOError:  # re-armed since it fired: that expiry is void
            return
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_until(self, deadline_ns: int) -> None:
        """Return at `deadline_ns` (a `perf_counter_ns()` instant) or just after, never before
        (a deadline already past returns at the loop's next turn)."""
        value = self._spec.it_value
        deadline_ns = max(deadline_ns, 1)  # an all-zero value would disarm the timer
        value.tv_sec, value.tv_nsec = divmod(deadline_ns, _NS_PER_S)
        waiter = self._waiter = self._loop.create_future()
        try:
            if self._settime(self._fd, _TFD_TIMER_ABSTIME, self._spec_ref, None) != 0:
                raise OSError(ctypes.get_errno(), "timerfd_settime failed")
            await waiter
        finally:
            self._waiter = None

    def close(self) -> None:
        """Stop watching the timer and release its file descriptor."""
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> PreciseTimer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
