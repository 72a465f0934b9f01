"""A suite results directory's index (`suite.json`): its profiles and the summary JSON each
wrote, for `dmsload report` and `dmsload compare`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dmsload.jsonfiles import JsonFileError, read_json

SUITE_INDEX = "suite.json"


class SuiteIndexError(ValueError):
    """A directory that is not a readable suite results directory; one line naming the file."""


@dataclass(frozen=True)
class SuiteEntry:
    """One profile of the index."""

    name: str
    entry: dict[str, Any]
    """Its `suite.json` entry (exit code, headline figures)."""
    summary_path: Path
    """`summary_json` from the entry, else `<name>.summary.json` (older suites), in the dir."""
    named: bool
    """Whether `suite.json` named the file (so a missing one is an error, not an old suite)."""


@dataclass(frozen=True)
class SuiteIndex:
    """`suite.json` read: the document and its profiles in suite order."""

    directory: Path
    document: dict[str, Any]
    entries: list[SuiteEntry]


def read_suite_index(directory: Path) -> SuiteIndex:
    """Read `DIR/suite.json`; SuiteIndexError naming what is wrong."""
    path = directory / SUITE_INDEX
    if not path.is_file():
        raise SuiteIndexError(
            f"{directory}: no {SUITE_INDEX} (not a `dmsload suite --results-dir` directory)"
        )
    try:
        document = read_json(path)
    except JsonFileError as exc:
        raise SuiteIndexError(str(exc)) from None
    profiles = document.get("profiles") if isinstance(document, dict) else None
    if not isinstance(profiles, list):
        raise SuiteIndexError(f"{path}: expected an object with a 'profiles' list")
    entries = []
    for position, entry in enumerate(profiles, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise SuiteIndexError(f"{path}: profile #{position} has no name")
        named = entry.get("summary_json")
        if named is not None and not isinstance(named, str):
            raise SuiteIndexError(
                f"{path}: profile {entry['name']!r}: summary_json must be a file name"
            )
        file_name = named or f"{entry['name']}.summary.json"
        entries.append(SuiteEntry(entry["name"], entry, directory / file_name, named is not None))
    return SuiteIndex(directory, document, entries)
