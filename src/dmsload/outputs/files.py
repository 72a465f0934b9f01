"""The part of file outputs they share: opening (gzip for `.gz`), writing each batch from a
worker thread so that a slow disk never blocks the event loop, and closing."""

from __future__ import annotations

import gzip
from abc import abstractmethod
from pathlib import Path
from typing import IO, cast

import anyio.to_thread

from dmsload.outputs.base import Output, OutputContext, OutputError
from dmsload.outputs.tap import Sample


class FileOutput(Output):
    """An output written to one file; `encode` turns a batch into bytes."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.path = Path(target)
        self._file: IO[bytes] | None = None

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

    def header(self) -> bytes:
        """What starts the file (none by default)."""
        return b""

    @abstractmethod
    def encode(self, batch: list[Sample]) -> bytes:
        """The bytes of one batch."""

    def _write_sync(self, batch: list[Sample]) -> None:
        assert self._file is not None
        data = self.encode(batch)
        self._file.write(data)
        self._file.flush()

    async def write(self, batch: list[Sample]) -> None:
        """Encode and write a batch in a worker thread."""
        if self._file is None:
            self.undelivered += len(batch)
            return
        try:
            await anyio.to_thread.run_sync(self._write_sync, batch)
        except OSError as exc:
            self.undelivered += len(batch)
            self.warn_once(f"writing failed: {exc.strerror or exc}")
            return
        self.written += len(batch)

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
        if self._file is None:
            return
        try:
            await anyio.to_thread.run_sync(self._close_sync)
        except OSError as exc:
            self.warn_once(f"closing failed: {exc.strerror or exc}")
        self._file = None
