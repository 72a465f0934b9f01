"""The pods' rendezvous on a shared directory: all announce, all agree on one start instant.

Each party writes `party-<index>.json` (atomically) holding the wall-clock time it announced,
then polls the directory until all N have announced. The start is a pure function of the
announcements, the latest one plus a lead, so every party computes the same instant without a
leader or a second round. An announcement older than this party's own by more than the
timeout is from an earlier run (a reused volume) and counts as absent; its party overwrites
it when it arrives.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dmsload.jsonfiles import JsonFileError, read_json, write_json_atomically

POLL_S = 0.2
LATE_TOLERANCE_S = 1.0
"""How far past the agreed start a party may still find itself and start (clock skew)."""


class RendezvousError(Exception):
    """The parties cannot agree: bad input (`usage`) or a party that never came."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True)
class Announcement:
    """One party's presence: its index and when (wall clock, Unix seconds) it announced."""

    index: int
    parties: int
    announced_at: float
    host: str = ""


def announcement_path(directory: Path, index: int) -> Path:
    """Where party `index` announces itself."""
    return directory / f"party-{index}.json"


def announce(directory: Path, index: int, parties: int, now: float) -> Announcement:
    """Write this party's announcement atomically."""
    mine = Announcement(index, parties, now, socket.gethostname())
    write_json_atomically(
        announcement_path(directory, index),
        {
            "index": index,
            "parties": parties,
            "announced_at": now,
            "host": mine.host,
            "pid": os.getpid(),
        },
    )
    return mine


def read_announcement(path: Path) -> Announcement | None:
    """A party's announcement, or None while it is absent or unreadable."""
    try:
        document = read_json(path)
        return Announcement(
            int(document["index"]),
            int(document["parties"]),
            float(document["announced_at"]),
            str(document.get("host", "")),
        )
    except (JsonFileError, KeyError, TypeError, ValueError):
        return None


def present(
    directory: Path, parties: int, mine: Announcement, timeout_s: float
) -> dict[int, Announcement]:
    """The parties of this run that have announced; RendezvousError when one disagrees on N."""
    found: dict[int, Announcement] = {}
    for index in range(parties):
        path = announcement_path(directory, index)
        item = read_announcement(path)
        if item is None or item.announced_at < mine.announced_at - timeout_s:
            continue  # absent, half-visible, or left by an earlier run
        if item.parties != parties or item.index != index:
            raise RendezvousError(
                f"{path}: parties {item.parties}, index {item.index}: this party expects "
                f"{parties} parties, index {index}",
                usage=True,
            )
        found[index] = item
    return found


def agreed_start(announcements: dict[int, Announcement], lead_s: float) -> float:
    """The start every party computes: the latest announcement plus the lead, to the ms."""
    latest = max(item.announced_at for item in announcements.values())
    return math.ceil((latest + lead_s) * 1000) / 1000


def rfc3339(timestamp: float) -> str:
    """A Unix time as RFC 3339 in UTC, to the millisecond: `2026-12-01T20:00:05.250Z`."""
    text = datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def meet(
    directory: Path,
    *,
    parties: int,
    index: int,
    timeout_s: float,
    lead_s: float,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] | None = None,
) -> float:
    """Announce, wait for every party, and return the agreed start (Unix seconds)."""
    if parties < 1:
        raise RendezvousError(f"--parties: must be at least 1 (got {parties})", usage=True)
    if not 0 <= index < parties:
        raise RendezvousError(
            f"--index: must be between 0 and {parties - 1} (got {index})", usage=True
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        mine = announce(directory, index, parties, clock())
    except OSError as exc:
        raise RendezvousError(f"{directory}: {exc.strerror or exc}", usage=True) from None
    deadline = mine.announced_at + timeout_s
    reported = -1
    while True:
        found = present(directory, parties, mine, timeout_s)
        if len(found) == parties:
            break
        now = clock()
        if now >= deadline:
            missing = ", ".join(str(i) for i in range(parties) if i not in found)
            raise RendezvousError(
                f"{directory}: parties {missing} did not announce within {timeout_s:g} s"
            )
        if progress is not None and len(found) != reported:
            reported = len(found)
            progress(f"dmsload: rendezvous: {len(found)} of {parties} parties present")
        sleep(min(POLL_S, deadline - now))
    start = agreed_start(found, lead_s)
    late = clock() - start
    if late > LATE_TOLERANCE_S:
        raise RendezvousError(
            f"{directory}: the agreed start {rfc3339(start)} passed {late:.1f} s ago on this "
            "host's clock: its clock is ahead of the others', or --lead is too short"
        )
    return start
