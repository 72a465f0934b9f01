"""The options that split a run across processes and machines: `--execution-segment`,
`--execution-segment-sequence`, `--start-at` and `--workers`, and their checks."""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Annotated

import typer

from dmsload.cli_options import fail
from dmsload.engine.runner import START_AT_TOLERANCE_S, ExitCode
from dmsload.engine.segments import SegmentChoice, SegmentError

SegmentOpt = Annotated[
    str | None,
    typer.Option(
        "--execution-segment",
        metavar="SEGMENT",
        help="Run only this part of the test, as k6: 1/4:2/4, 25%:50%, 0.25:0.5 "
        "(a single value v means 0:v).",
    ),
]
SegmentSequenceOpt = Annotated[
    str | None,
    typer.Option(
        "--execution-segment-sequence",
        metavar="POINTS",
        help="Every part the test is split in, e.g. 0,1/4,1/2,3/4,1: VUs and iterations are "
        "striped across them as k6 does. Give every part the same one.",
    ),
]
StartAtOpt = Annotated[
    str | None,
    typer.Option(
        "--start-at",
        metavar="TIME",
        help="Start the schedule at this wall-clock instant, after connecting and setup: "
        "RFC 3339 with an offset (2026-12-01T20:00:00Z) or Unix seconds (1796155200.5). "
        "More than 1 s in the past: exit 1.",
    ),
]
WorkersOpt = Annotated[
    str | None,
    typer.Option(
        "--workers",
        metavar="N",
        help="Run N worker processes, each on its own execution segment, and merge their "
        "results exactly; auto: one per core. Default 1 (no extra process).",
    ),
]


def segment_or_exit(segment: str | None, sequence: str | None) -> SegmentChoice | None:
    """The part to run, or None for the whole test; exit 2 naming the bad option."""
    if segment is None:
        if sequence is not None:
            raise fail(
                f"--execution-segment-sequence: needs --execution-segment, the part to run "
                f"(got {sequence!r})",
                ExitCode.USAGE,
            )
        return None
    try:
        choice = SegmentChoice.parse(segment, sequence)
    except SegmentError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    return None if choice.part.parts == 1 else choice


def parse_start_at(text: str) -> float:
    """`--start-at` as Unix seconds: RFC 3339 with an offset, or Unix seconds."""
    value = text.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            "expected RFC 3339 with an offset (2026-12-01T20:00:00Z) or Unix seconds"
        ) from None
    if moment.tzinfo is None:
        raise ValueError("the time needs an offset (Z or +HH:MM): a bare local time is ambiguous")
    return moment.timestamp()


def start_at_or_exit(text: str | None, now: float | None = None) -> float | None:
    """`--start-at` as Unix seconds; exit 2 when unreadable, 1 when already past."""
    if text is None:
        return None
    try:
        start_at = parse_start_at(text)
    except ValueError as exc:
        raise fail(f"--start-at: {exc} (got {text!r})", ExitCode.USAGE) from None
    late = (time.time() if now is None else now) - start_at
    if late > START_AT_TOLERANCE_S:
        raise fail(
            f"--start-at: {text} passed {late:.1f} s ago; the parts of a split run would not "
            "line up, so this one does not start",
            ExitCode.CANNOT_PROCEED,
        )
    return start_at


def workers_or_exit(text: str | None) -> int:
    """`--workers` as a count: N >= 1, or `auto` (one per core); exit 2 otherwise."""
    if text is None:
        return 1
    if text.strip() == "auto":
        return (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else (os.cpu_count() or 1)
        )
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise fail(
            f"--workers: expected a count of 1 or more, or auto (got {text!r})", ExitCode.USAGE
        )
    return count
