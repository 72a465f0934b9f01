"""The part of file outputs they share: opening (gzip for `.gz`), writing each batch on the
output's own writer thread so that a slow disk never blocks the event loop, and closing."""

from __future__ import annotations

import asyncio
import gzip
import queue
import threading
from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, cast

from dmsload.outputs.base import Output, OutputContext, OutputError
from dmsload.outputs.tap import Sample

_Job = tuple[Callable[[], Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class WriterThread:
    """One daemon thread that runs an output's blocking jobs in order.

    A daemon thread, not anyio's worker pool: a write stuck on a dead disk must not keep the
    process from exiting once the session has given up on it.
    """

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            function, future, loop = job
            try:
                result = function()
            except BaseException as exc:  # handed to the awaiting task
                loop.call_soon_threadsafe(_settle, future, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, future, result, None)

    async def call(self, function: Callable[[], Any]) -> Any:
        """Run `function` on the thread and wait for it (a cancelled wait leaves it running)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._jobs.put((function, future, loop))
        return await future

    def stop(self) -> None:
        """Let the thread end after the jobs it has."""
        self._jobs.put(None)


class FileOutput(Output):
    """An output written to one file; `encode` turns a batch into bytes."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.path = Path(target)
        self._file: IO[bytes] | None = None
        self._writer: WriterThread | None = None
        self.omitted = 0
        """Samples `encode` left out on purpose (not counted as written, nor as lost)."""

    def open(self, ctx: OutputContext) -> None:
        """Create the file now, so a bad path fails before the run (one line, exit 2)."""
        super().open(ctx)
        try:
            handle: IO[bytes] = self.path.open("wb")
        except OSError as exc:
            raise OutputError(f"--out {self.label}: {exc.strerror or exc}") from None
        if self.path.suffix == ".gz":
            handle = cast(IO[bytes], gzip.GzipFile(fileobj=handle, mode="wb", compresslevel=6))
        self._file = handle
        header = self.header()
        if header:
            handle.write(header)
        self._writer = WriterThread(f"dmsload output {self.label}")

    def header(self) -> bytes:
        """What starts the file (none by default)."""
        return b""

    @abstractmethod
    def encode(self, batch: list[Sample]) -> bytes:
        """The bytes of one batch."""

    def _write_sync(self, batch: list[Sample]) -> None:
        assert self._file is not None
        self._file.write(self.encode(batch))
        self._file.flush()

    async def write(self, batch: list[Sample]) -> None:
        """Encode and write a batch on the writer thread."""
        if self._file is None or self._writer is None:
            self.undelivered += len(batch)
            return
        omitted = self.omitted
        try:
            await self._writer.call(lambda: self._write_sync(batch))
        except OSError as exc:
            self.undelivered += len(batch)
            self.warn_once(f"writing failed: {exc.strerror or exc}")
            return
        self.written += len(batch) - (self.omitted - omitted)

    def trailer(self) -> bytes:
        """What ends the file (none by default), written by `finish`."""
        return b""

    def _close_sync(self) -> None:
        assert self._file is not None
        try:
            self._file.write(self.trailer())
        finally:
            self._file.close()

    async def finish(self) -> None:
        """Write the trailer and close the file."""
        if self._file is None or self._writer is None:
            return
        try:
            await self._writer.call(self._close_sync)
        except OSError as exc:
            self.warn_once(f"closing failed: {exc.strerror or exc}")
        finally:
            self._writer.stop()
            self._file = None
