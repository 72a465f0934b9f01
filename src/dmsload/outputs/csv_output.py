"""`--out csv=FILE`: k6's CSV output, one row per sample.

Columns as k6 writes them: `metric_name,timestamp,metric_value`, one column per k6 system tag
(sorted), then `extra_tags` (every other tag as `key=value&key=value`) and `metadata`. The
timestamp is Unix seconds unless `DMSLOAD_CSV_TIME_FORMAT` (or k6's `K6_CSV_TIME_FORMAT`) says
`unix_milli`, `unix_micro`, `unix_nano`, `rfc3339` or `rfc3339_nano`. Values are in display
units (ms to the nanosecond for timings); whole numbers are written as integers (`1`, where k6
writes `1.000000`: both read as the same number). `FILE.gz` is gzipped.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Mapping

from dmsload.metrics.kinds import TagSet
from dmsload.metrics.numbers import k6_text
from dmsload.outputs.base import OutputError, kept_tags
from dmsload.outputs.files import FileOutput
from dmsload.outputs.tap import Sample
from dmsload.outputs.timestamps import Rfc3339

SYSTEM_TAGS = (
    "check",
    "error",
    "error_code",
    "expected_response",
    "group",
    "method",
    "name",
    "proto",
    "scenario",
    "service",
    "status",
    "subproto",
    "tls_version",
    "url",
)
"""k6's system tags, the CSV's tag columns (k6 `metrics/system_tag.go`)."""
HEADER = ("metric_name", "timestamp", "metric_value", *SYSTEM_TAGS, "extra_tags", "metadata")
TIME_FORMATS = ("unix", "unix_milli", "unix_micro", "unix_nano", "rfc3339", "rfc3339_nano")


def _time_formatter(name: str) -> Callable[[int], str]:
    rfc = Rfc3339()
    formats: dict[str, Callable[[int], str]] = {
        "unix": lambda ns: str(ns // 1_000_000_000),
        "unix_milli": lambda ns: str(ns // 1_000_000),
        "unix_micro": lambda ns: str(ns // 1_000),
        "unix_nano": str,
        "rfc3339": lambda ns: rfc.format(ns, 0),
        "rfc3339_nano": rfc.format,
    }
    return formats[name]


def time_format_from(environ: Mapping[str, str]) -> str:
    """The timestamp format named in the environment (default `unix`); OutputError if unknown."""
    for variable in ("DMSLOAD_CSV_TIME_FORMAT", "K6_CSV_TIME_FORMAT"):
        value = environ.get(variable)
        if value:
            if value not in TIME_FORMATS:
                raise OutputError(
                    f"{variable}: unknown time format {value!r}; use {', '.join(TIME_FORMATS)}"
                )
            return value
    return "unix"


class CsvOutput(FileOutput):
    """k6's CSV stream."""

    kind = "csv"

    def __init__(self, target: str, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(target)
        self.time_format = time_format_from(os.environ if environ is None else environ)
        self._format_time = _time_formatter(self.time_format)
        self._tag_cells: dict[TagSet, list[str]] = {}

    def header(self) -> bytes:
        """The column names."""
        return _rows([list(HEADER)])

    def _cells(self, tags: TagSet) -> list[str]:
        cells = self._tag_cells.get(tags)
        if cells is None:
            shown = kept_tags(tags, self.ctx.drop_tags)
            values = dict(shown)
            extra = "&".join(f"{key}={value}" for key, value in shown if key not in SYSTEM_TAGS)
            cells = [values.get(tag, "") for tag in SYSTEM_TAGS] + [extra, ""]
            if len(self._tag_cells) < 200_000:
                self._tag_cells[tags] = cells
        return cells

    def encode(self, batch: list[Sample]) -> bytes:
        """The batch as CSV rows."""
        offset = self.ctx.clock.offset_ns
        fmt = self._format_time
        rows = [
            [metric.name, fmt(t_ns + offset), k6_text(value), *self._cells(tags)]
            for t_ns, metric, tags, value in batch
        ]
        return _rows(rows)


_ROWS_PER_CALL = 64
"""Rows per call of the C csv writer. The writer thread must let the event loop have the GIL
within the switch interval, and a C call never gives it up: one call for a 0.2 s batch of
4,000 rows held it for ~16 ms, and every iteration due meanwhile started that late."""


def _rows(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writerows = csv.writer(buffer, lineterminator="\n").writerows
    for start in range(0, len(rows), _ROWS_PER_CALL):
        writerows(rows[start : start + _ROWS_PER_CALL])
    return buffer.getvalue().encode()
