"""`--out hdrlog=FILE`: HdrHistogram interval logs (`.hlog`), one interval per second for every
tagged trend series, readable by HdrHistogram's own log readers and plotters.

The file starts with `#[StartTime: <s> (seconds since epoch), <date>]`, `#[BaseTime: ...]`
and the legend; each line is `Tag=<series>,<start_s>,<length_s>,<max>,<histogram>` with
`start_s` relative to the start time. hdrhistogram's Python log writer cannot write the
`StartTime` line or tags (its start-time method fails on millisecond input), so this module
writes the lines itself and encodes each interval with the package's codec.

A series tag is the metric name and its tags, `;`-separated, with `,`, `;`, `=`, `%` and
whitespace percent-encoded (HdrHistogram tags may not hold commas or spaces), e.g.
`http_req_duration;method=GET;name=GET%20/ed-fi/students;scenario=smoke;status=200`.
Histogram values are the trend's scaled integers: microseconds for time trends; the interval
max column is in milliseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dmsload.metrics.kinds import MetricKind, TagSet
from dmsload.metrics.sinks import TREND_SCALE, new_histogram, record_many
from dmsload.outputs.base import kept_tags
from dmsload.outputs.files import FileOutput
from dmsload.outputs.tap import Sample

NS = 1_000_000_000
_ESCAPED = {c: f"%{ord(c):02X}" for c in ",;=% \t\r\n"}


def series_tag(metric_name: str, tags: TagSet) -> str:
    """The interval line's `Tag=` value of one series."""
    parts = [_escape(metric_name), *(f"{_escape(k)}={_escape(v)}" for k, v in tags)]
    return ";".join(parts)


def parse_series_tag(tag: str) -> tuple[str, dict[str, str]]:
    """The metric name and tags of a `series_tag`."""
    from urllib.parse import unquote

    name, *pairs = tag.split(";")
    tags = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        tags[unquote(key)] = unquote(value)
    return unquote(name), tags


def _escape(text: str) -> str:
    return "".join(_ESCAPED.get(c, c) for c in text)


class HdrLogOutput(FileOutput):
    """HdrHistogram interval log of every trend series, per second from the first sample."""

    kind = "hdrlog"

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self._start_ns = 0
        self._last_ns = 0
        self._second = -1
        self._values: dict[tuple[str, TagSet], list[int]] = {}
        self._tags: dict[tuple[str, TagSet], str] = {}
        self._kept: dict[TagSet, TagSet] = {}  # a series' tags without `--k6-tags`' dropped ones
        self._histogram: Any = None

    def _preamble(self, first_ns: int) -> bytes:
        seconds = self.ctx.clock.wall_ns(first_ns) / NS
        when = datetime.fromtimestamp(seconds, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
        return (
            "#dmsload interval log: one histogram per second per trend series\n"
            "#values are microseconds for time trends (value x 1000 otherwise); max is in ms\n"
            "#[Histogram log format version 1.2]\n"
            f"#[StartTime: {seconds:.3f} (seconds since epoch), {when}]\n"
            f"#[BaseTime: {seconds:.3f} (seconds since epoch)]\n"
            '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"\n'
        ).encode()

    def _intervals(self, length_s: float) -> bytes:
        """One line per series with values in the open second; the second is then empty."""
        lines: list[str] = []
        for key, values in self._values.items():
            histogram = self._histogram
            if histogram is None:
                histogram = self._histogram = new_histogram()
            else:
                histogram.reset()
            record_many(histogram, values)
            top = max(values) / TREND_SCALE
            lines.append(
                f"Tag={self._tags[key]},{self._second:.3f},{length_s:.3f},{top:.3f},"
                f"{histogram.encode().decode()}\n"
            )
        self._values = {}
        return "".join(lines).encode()

    def encode(self, batch: list[Sample]) -> bytes:
        """The intervals this batch completes (the current second stays open)."""
        out: list[bytes] = []
        for t_ns, metric, tags, value in batch:
            if metric.kind is not MetricKind.TREND:
                continue
            if not self._start_ns:
                self._start_ns = t_ns
                out.append(self._preamble(t_ns))
            second = (t_ns - self._start_ns) // NS
            if second != self._second:
                if self._values:
                    out.append(self._intervals(1.0))
                self._second = second
            self._last_ns = t_ns
            kept = self._kept.get(tags)
            if kept is None:
                kept = self._kept[tags] = kept_tags(tags, self.ctx.drop_tags)
            key = (metric.name, kept)  # series that differ only in dropped tags share a line
            values = self._values.get(key)
            if values is None:
                values = self._values[key] = []
                if key not in self._tags:
                    self._tags[key] = series_tag(metric.name, kept)
            values.append(max(0, round(value * TREND_SCALE)))
        return b"".join(out)

    def trailer(self) -> bytes:
        """The last interval, as long as it ran (at most 1 s)."""
        if not self._values:
            return b""
        length = (self._last_ns - self._start_ns) / NS - self._second
        return self._intervals(min(1.0, max(0.001, length)))
