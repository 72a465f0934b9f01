"""Deterministic documents for the performance schema, unique across VUs, iterations and runs.

In the spirit of the strategy's PerformanceDataGenerator: schools (with a category and four
grade levels), students, staff, StudentSchoolAssociations and
StaffEducationOrganizationAssignmentAssociations. Every identity mixes in the run id, the worker,
the VU and a per-VU sequence, so two runs never collide unless they are given the same run id
(`--run-id`). A seed (`--seed`) makes every other generated value reproducible; the run id stays
random unless it is given too, so `--seed N --run-id X` repeats a run exactly.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import count
from typing import Any

from dmsload.dms.descriptors import (
    ED_FI_NAMESPACE,
    GRADE_LEVELS,
    SCHOOL_CATEGORIES,
    STAFF_CLASSIFICATIONS,
)

Document = dict[str, Any]

SEEDED_SCHOOL_BASE = 100_000
"""`dmsload setup --seed-schools N` creates schools 100000 .. 100000+N-1."""

RUN_SCHOOL_BASE = 1_000_000_000
"""Schools a run creates get ids in their own block above this (schoolId is a 32-bit int)."""
RUN_SCHOOL_SLOTS = 1_000
RUN_SCHOOL_BLOCK = 1_000_000
"""1,000 blocks of 1,000,000 ids; a run uses the block its run id selects."""

_RUN_ID = re.compile(r"^[0-9a-f]{8}$")

_FIRST_NAMES = (
    "Ava", "Liam", "Noah", "Emma", "Mia", "Lucas", "Sofia", "Mateo", "Amara", "Kenji",
    "Priya", "Omar", "Chloe", "Diego", "Hana", "Isaac", "Leila", "Marco", "Nia", "Theo",
)  # fmt: skip
_LAST_NAMES = (
    "Garcia", "Smith", "Nguyen", "Johnson", "Okafor", "Kim", "Patel", "Brown", "Lopez", "Cohen",
    "Silva", "Novak", "Haddad", "Moreau", "Tanaka", "Olsen", "Reyes", "Walker", "Singh", "Young",
)  # fmt: skip
_CITIES = ("Austin", "Denver", "Madison", "Raleigh", "Tucson", "Boise", "Salem", "Dover")
_POSITIONS = ("Teacher", "Principal", "Counselor", "Aide")
_STUDENT_BIRTH_FIRST = date(2005, 1, 1)
_STAFF_BIRTH_FIRST = date(1960, 1, 1)
_ENTRY_FIRST = date(2024, 8, 1)


class DataError(ValueError):
    """A generator option that cannot work (a bad run id, an exhausted id block)."""


def seeded_school_id(index: int) -> int:
    """The id of the `index`-th school `setup --seed-schools` creates."""
    return SEEDED_SCHOOL_BASE + index


def school_document(
    school_id: int, name: str | None = None, namespace: str = ED_FI_NAMESPACE
) -> Document:
    """A school with the `School` category and the four generated grade levels."""
    return {
        "schoolId": school_id,
        "nameOfInstitution": name or f"dmsload School {school_id}",
        "educationOrganizationCategories": [
            {"educationOrganizationCategoryDescriptor": SCHOOL_CATEGORIES[0].uri_in(namespace)}
        ],
        "gradeLevels": [{"gradeLevelDescriptor": g.uri_in(namespace)} for g in GRADE_LEVELS],
    }


def new_run_id() -> str:
    """8 random hex digits: a fresh run id (a seed does not derive it)."""
    return os.urandom(4).hex()


@dataclass
class RunData:
    """What every generator of one run shares: the run id, worker, seed and school counter."""

    run_id: str
    seed: int | None = None
    worker: int = 0
    workers: int = 1
    pinned: bool = False
    """The run id was asked for (`--run-id`): identities repeat those of the run it names."""
    descriptor_namespace: str = ED_FI_NAMESPACE
    """The namespace of the descriptors generated documents refer to (a setting)."""
    salt: str = ""
    """Mixed into the seed of generated values (a suite's profile name), so that the profiles
    of a seeded suite draw different, still reproducible, values."""
    _schools: count[int] = field(default_factory=count, repr=False)
    _block_shift: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if not _RUN_ID.match(self.run_id):
            raise DataError(f"run id must be 8 lowercase hex digits (got {self.run_id!r})")
        if not 0 <= self.worker < self.workers:
            raise DataError(f"worker {self.worker} is not in 0..{self.workers - 1}")

    @classmethod
    def create(
        cls,
        seed: int | None = None,
        run_id: str | None = None,
        salt: str = "",
        worker: int = 0,
        workers: int = 1,
    ) -> RunData:
        """A run's data: the run id given (pinned), else a random one. The seed fixes the
        generated values only, never the run id: two runs with one seed do not collide.
        `worker` of `workers` is this process's part (an execution segment's index)."""
        return cls(
            run_id=run_id or new_run_id(),
            seed=seed,
            pinned=run_id is not None,
            salt=salt,
            worker=worker,
            workers=workers,
        )

    @property
    def school_block(self) -> int:
        """The first schoolId of this run's block."""
        slot = (int(self.run_id, 16) + self._block_shift) % RUN_SCHOOL_SLOTS
        return RUN_SCHOOL_BASE + slot * RUN_SCHOOL_BLOCK

    def skip_school_block(self) -> None:
        """Move to the next block (the target already holds this one's first school)."""
        self._block_shift += 1

    def next_school_id(self) -> int:
        """A schoolId no other worker of this run, and no run in another block, uses."""
        local = next(self._schools)
        offset = local * self.workers + self.worker
        if offset >= RUN_SCHOOL_BLOCK:
            raise DataError(
                f"this run created {RUN_SCHOOL_BLOCK:,} schools: its schoolId block is exhausted"
            )
        return self.school_block + offset

    def generator(self, vu_id: int, stream: str = "") -> DataGenerator:
        """The generator of one VU (or of a workload's setup, with `stream`)."""
        return DataGenerator(self, vu_id, stream)


class DataGenerator:
    """One VU's documents: identities `<kind>-<run>-<worker>-<vu>-<seq>`, seeded values."""

    def __init__(self, run: RunData, vu_id: int, stream: str = "") -> None:
        self.run = run
        self.vu_id = vu_id
        self._prefix = f"{run.run_id}-{run.worker}-{stream}{vu_id}-"
        # the parts of a split run draw different values (one part alone draws as before)
        part = f"{run.worker}/" if run.workers > 1 else ""
        if run.seed is None:
            seed_text = f"{run.run_id}/{part}{stream}{vu_id}"
        else:  # the run id is not mixed in: a seed reproduces the values of any run
            salt = f"/{run.salt}" if run.salt else ""
            seed_text = f"{run.seed}{salt}/{part}{stream}{vu_id}"
        self.rng = random.Random(hashlib.sha256(seed_text.encode()).digest())
        self._seq = count(1)

    def unique_id(self, kind: str) -> str:
        """`S-1a2b3c4d-0-12-7`: unique across VUs, iterations, workers and runs (≤ 32 chars)."""
        value = f"{kind}-{self._prefix}{next(self._seq)}"
        if len(value) > 32:
            raise DataError(f"generated id {value!r} is longer than the schema's 32 characters")
        return value

    def unique_text(self, max_length: int) -> str:
        """A unique identity string of at most `max_length` characters (hashed when longer)."""
        value = f"{self._prefix}{next(self._seq)}"
        if len(value) <= max_length:
            return value
        return hashlib.sha256(value.encode()).hexdigest()[: max(1, max_length)]

    def _date(self, first: date, days: int) -> str:
        return (first + timedelta(days=self.rng.randrange(days))).isoformat()

    def school(self) -> Document:
        """A new school in this run's schoolId block."""
        return school_document(self.run.next_school_id(), namespace=self.run.descriptor_namespace)

    def student(self) -> Document:
        """A new student: unique id, names, birth date (2005–2015) and city."""
        rng = self.rng
        return {
            "studentUniqueId": self.unique_id("S"),
            "firstName": rng.choice(_FIRST_NAMES),
            "lastSurname": rng.choice(_LAST_NAMES),
            "birthDate": self._date(_STUDENT_BIRTH_FIRST, 4_018),
            "birthCity": rng.choice(_CITIES),
        }

    def staff(self) -> Document:
        """A new staff member: unique id, names, birth date and years of experience."""
        rng = self.rng
        return {
            "staffUniqueId": self.unique_id("T"),
            "firstName": rng.choice(_FIRST_NAMES),
            "lastSurname": rng.choice(_LAST_NAMES),
            "birthDate": self._date(_STAFF_BIRTH_FIRST, 12_000),
            "yearsOfPriorProfessionalExperience": rng.randrange(0, 400) / 10,
        }

    def student_school_association(self, student_unique_id: str, school_id: int) -> Document:
        """The student's enrollment at the school, entering at one of its grade levels."""
        return {
            "studentReference": {"studentUniqueId": student_unique_id},
            "schoolReference": {"schoolId": school_id},
            "entryDate": self._date(_ENTRY_FIRST, 300),
            "entryGradeLevelDescriptor": self.rng.choice(GRADE_LEVELS).uri_in(
                self.run.descriptor_namespace
            ),
        }

    def staff_assignment(self, staff_unique_id: str, school_id: int) -> Document:
        """The staff member's assignment to the school (an education organization)."""
        classification = self.rng.choice(STAFF_CLASSIFICATIONS)
        return {
            "staffReference": {"staffUniqueId": staff_unique_id},
            "educationOrganizationReference": {"educationOrganizationId": school_id},
            "staffClassificationDescriptor": classification.uri_in(self.run.descriptor_namespace),
            "beginDate": self._date(_ENTRY_FIRST, 300),
            "positionTitle": classification.code_value,
        }

    def changed(self, document: Document) -> Document:
        """A copy with one non-identity field changed (always to a new value): an update."""
        updated = dict(document)
        choices: tuple[str, ...]
        if "nameOfInstitution" in updated:
            field_name, choices = "shortNameOfInstitution", _LAST_NAMES
        elif "firstName" in updated:
            field_name, choices = "middleName", _FIRST_NAMES
        elif "entryGradeLevelDescriptor" in updated:
            updated["repeatGradeIndicator"] = not updated.get("repeatGradeIndicator", False)
            return updated
        else:
            field_name, choices = "positionTitle", _POSITIONS
        current = updated.get(field_name)
        updated[field_name] = self.rng.choice([c for c in choices if c != current])
        return updated
