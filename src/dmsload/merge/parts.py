"""The parts of a split run: read from their summaries, checked to belong together.

`check_parts` refuses (PartsError, exit 2) what cannot be one run: a whole run mixed with
parts, parts of different profiles (SHA-256) or thresholds, of different sequences, a segment
that is not one of the sequence's, overlapping or duplicated parts. It reports, without
refusing, what makes the merged run incomplete: the segments no part covers (a missing part)
and the parts that did not finish (exit 1 after the merge).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dmsload.engine.segments import (
    ExecutionSegment,
    SegmentError,
    filled_sequence,
    parse_sequence,
    sequence_text,
)
from dmsload.merge.segments import gaps, segment_key
from dmsload.outputs.summary_json import LoadedSummary

WHOLE = ExecutionSegment.parse("0:1")


class PartsError(ValueError):
    """Parts that cannot be merged; the message is one line naming the part."""


@dataclass(frozen=True)
class Part:
    """One part's summary and the segment of the run it covers."""

    summary: LoadedSummary
    segment: ExecutionSegment
    sequence: tuple[ExecutionSegment, ...] | None
    index: int | None
    whole: bool
    """True when the summary is of a whole run (no execution_segment in its manifest)."""

    @property
    def path(self) -> Path:
        """The part's file."""
        return self.summary.path

    @property
    def state(self) -> dict[str, Any]:
        """The part's `state` (exit code, error, interruption)."""
        state = self.summary.document.get("state")
        return state if isinstance(state, dict) else {}

    def failure(self) -> str | None:
        """Why this part did not finish (interrupted, failed, exited 1), or None."""
        state = self.state
        if state.get("interrupted"):
            return "was interrupted (SIGINT/SIGTERM)"
        if state.get("error"):
            return f"failed: {state['error']}"
        code = state.get("exit_code")
        if code not in (0, 99):
            return f"exited {code}"
        return None


def read_part(summary: LoadedSummary) -> Part:
    """The part a summary describes; PartsError naming the file when its segment is malformed."""
    manifest = summary.document.get("manifest")
    if not isinstance(manifest, dict):
        raise PartsError(f"{summary.path}: manifest: expected an object (got {manifest!r})")
    for key in ("started_at", "ended_at"):
        try:
            datetime.fromisoformat(str(manifest.get(key)))
        except ValueError:
            raise PartsError(
                f"{summary.path}: manifest.{key}: not an ISO 8601 time ({manifest.get(key)!r})"
            ) from None
    entry = manifest.get("execution_segment")
    if entry is None:
        return Part(summary, WHOLE, None, None, whole=True)
    where = f"{summary.path}: manifest.execution_segment"
    if not isinstance(entry, dict) or not isinstance(entry.get("segment"), str):
        raise PartsError(f"{where}: expected {{segment, sequence, index}} (got {entry!r})")
    try:
        segment = ExecutionSegment.parse(entry["segment"])
    except SegmentError as exc:
        raise PartsError(f"{where}.segment: {exc} (got {entry['segment']!r})") from None
    sequence = None
    if entry.get("sequence"):
        try:
            sequence = filled_sequence(parse_sequence(str(entry["sequence"])), None)
        except SegmentError as exc:
            raise PartsError(f"{where}.sequence: {exc} (got {entry['sequence']!r})") from None
    index = entry.get("index")
    if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
        raise PartsError(f"{where}.index: expected an integer (got {index!r})")
    return Part(summary, segment, sequence, index, whole=False)


@dataclass(frozen=True)
class Coverage:
    """What the checked parts cover: the parts in segment order, the gaps, the failures."""

    parts: list[Part]
    missing: list[ExecutionSegment]
    failures: list[str]
    sequence: tuple[ExecutionSegment, ...] | None

    def problems(self) -> list[str]:
        """One line per missing or failed part (empty when the run is complete)."""
        lines = [f"part {self._describe(gap)} is missing" for gap in self.missing]
        return lines + self.failures

    def _describe(self, gap: ExecutionSegment) -> str:
        if self.sequence is not None and gap in self.sequence:
            return f"{self.sequence.index(gap)} (segment {gap})"
        return f"for segment {gap}"


def _profile_key(part: Part) -> tuple[Any, Any, Any]:
    profile = part.summary.document.get("manifest", {}).get("profile") or {}
    return profile.get("sha256"), profile.get("name"), profile.get("time_scale")


def _describe_profile(part: Part) -> str:
    sha, name, time_scale = _profile_key(part)
    return f"{name}, sha256 {str(sha)[:12]}, time_scale {time_scale}"


def _thresholds_key(part: Part) -> list[tuple[Any, Any, Any]]:
    return [
        (item.get("metric"), item.get("expression"), bool(item.get("abort_on_fail")))
        for item in part.summary.document.get("thresholds") or []
    ]


def check_parts(parts: list[Part]) -> Coverage:
    """Check that the parts are of one run; PartsError naming the first part that is not."""
    if not parts:
        raise PartsError("no part given")
    first = parts[0]
    seen_paths: dict[Path, Part] = {}
    for part in parts:
        resolved = part.path.resolve()
        if resolved in seen_paths:
            raise PartsError(f"{part.path}: duplicated part (the same file is given twice)")
        seen_paths[resolved] = part
        if part.whole and len(parts) > 1:
            raise PartsError(
                f"{part.path}: a whole run (no execution_segment in its manifest) cannot be "
                "merged with other parts"
            )
        if _profile_key(part) != _profile_key(first):
            raise PartsError(
                f"{part.path}: manifest.profile: a different profile from {first.path}'s "
                f"({_describe_profile(part)}, not {_describe_profile(first)})"
            )
        if _thresholds_key(part) != _thresholds_key(first):
            raise PartsError(f"{part.path}: thresholds: not the same as {first.path}'s")
    sequence = _common_sequence(parts)
    ordered = sorted(parts, key=lambda part: segment_key(part.segment))
    for before, after in itertools.pairwise(ordered):
        if after.segment == before.segment:
            raise PartsError(
                f"{after.path}: duplicated part: segment {after.segment} is also {before.path}'s"
            )
        if after.segment.start < before.segment.end:
            raise PartsError(
                f"{after.path}: segment {after.segment} overlaps {before.path}'s ({before.segment})"
            )
    failures = [
        f"part {part.path} {reason}" for part in ordered if (reason := part.failure()) is not None
    ]
    return Coverage(ordered, gaps([part.segment for part in ordered]), failures, sequence)


def _common_sequence(parts: list[Part]) -> tuple[ExecutionSegment, ...] | None:
    """The sequence the parts share; PartsError when they disagree or a segment is not in it."""
    owner = next((part for part in parts if part.sequence is not None), None)
    if owner is None:
        return None
    sequence = owner.sequence
    assert sequence is not None
    segments = list(sequence)
    for part in parts:
        if part.sequence is not None and part.sequence != sequence:
            raise PartsError(
                f"{part.path}: manifest.execution_segment.sequence: not the sequence of "
                f"{owner.path}"
            )
        if part.segment not in segments:
            raise PartsError(
                f"{part.path}: manifest.execution_segment.segment: {part.segment} is not a "
                f"segment of the sequence {sequence_text(sequence)}"
            )
        if part.index is not None and part.index != segments.index(part.segment):
            raise PartsError(
                f"{part.path}: manifest.execution_segment.index: {part.index} is not the "
                f"position of segment {part.segment} in the sequence "
                f"({segments.index(part.segment)})"
            )
    return sequence
