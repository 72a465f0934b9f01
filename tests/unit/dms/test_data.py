"""Generated documents: valid for the performance schema, unique, reproducible with a seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmsload.dms.data import (
    RUN_SCHOOL_BASE,
    RUN_SCHOOL_BLOCK,
    DataError,
    RunData,
    school_document,
    seeded_school_id,
)
from dmsload.dms.descriptors import ALL_DESCRIPTORS
from dmsload.sandbox.schema import load_api_schema

SCHEMA = Path(__file__).resolve().parents[3] / "config" / "performance-test-schema.json"


def _documents(run: RunData, vu: int) -> dict[str, dict[str, object]]:
    gen = run.generator(vu)
    student = gen.student()
    staff = gen.staff()
    school = gen.school()
    return {
        "schools": school,
        "students": student,
        "staffs": staff,
        "studentSchoolAssociations": gen.student_school_association(
            str(student["studentUniqueId"]), int(school["schoolId"])
        ),
        "staffEducationOrganizationAssignmentAssociations": gen.staff_assignment(
            str(staff["staffUniqueId"]), int(school["schoolId"])
        ),
    }


def test_every_generated_document_validates_against_the_schema() -> None:
    schema = load_api_schema(SCHEMA)
    run = RunData.create(seed=7)
    for endpoint, document in _documents(run, 3).items():
        resource = schema.find(endpoint)
        assert resource is not None
        errors = sorted(resource.validator.iter_errors(document), key=str)
        assert not errors, (endpoint, errors[0].message if errors else None)
        changed = run.generator(3).changed(document)
        assert changed != document
        assert not list(resource.validator.iter_errors(changed)), endpoint
    for descriptor in ALL_DESCRIPTORS:
        resource = schema.find(descriptor.endpoint)
        assert resource is not None and resource.is_descriptor
        assert not list(resource.validator.iter_errors(descriptor.document()))


def test_identities_are_unique_across_vus_iterations_and_runs() -> None:
    seen: set[str] = set()
    for run in (RunData.create(), RunData.create()):
        for vu in range(1, 21):
            gen = run.generator(vu)
            for _ in range(50):
                for value in (gen.student()["studentUniqueId"], gen.staff()["staffUniqueId"]):
                    assert isinstance(value, str) and len(value) <= 32
                    assert value not in seen
                    seen.add(value)
    assert len(seen) == 2 * 20 * 50 * 2


def _values(document: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in document.items() if k not in ("studentUniqueId", "staffUniqueId")}


def test_a_seed_makes_the_values_reproducible_but_not_the_identities() -> None:
    """Two runs with one seed draw the same values under different run ids: no collision."""
    runs = [RunData.create(seed=42) for _ in range(2)]
    assert runs[0].run_id != runs[1].run_id and not any(run.pinned for run in runs)
    first = [run.generator(5).student() for run in runs]
    assert _values(first[0]) == _values(first[1])
    assert first[0]["studentUniqueId"] != first[1]["studentUniqueId"]

    def staff(run: RunData) -> list[dict[str, object]]:
        generator = run.generator(5)
        return [_values(generator.staff()) for _ in range(5)]

    assert staff(RunData.create(seed=42)) == staff(RunData.create(seed=42))
    assert staff(RunData.create(seed=43)) != staff(RunData.create(seed=42))
    assert staff(RunData.create(seed=42, salt="baseline")) != staff(RunData.create(seed=42))


def test_a_seed_and_a_run_id_repeat_a_run_exactly() -> None:
    runs = [RunData.create(seed=42, run_id="0000abcd") for _ in range(2)]
    assert all(run.pinned and run.run_id == "0000abcd" for run in runs)
    assert _documents(runs[0], 3) == _documents(runs[1], 3)
    assert RunData.create(run_id="0000abcd").pinned


def test_run_schools_stay_in_the_run_block_and_workers_interleave() -> None:
    run_id = "0000002a"  # slot 42
    workers = [RunData(run_id=run_id, worker=w, workers=3) for w in range(3)]
    ids = [w.next_school_id() for _ in range(4) for w in workers]
    block = RUN_SCHOOL_BASE + 42 * RUN_SCHOOL_BLOCK
    assert sorted(ids) == list(range(block, block + 12))
    assert max(ids) < 2**31
    assert seeded_school_id(0) == 100_000
    assert school_document(100_003)["gradeLevels"] and school_document(1)["schoolId"] == 1


@pytest.mark.parametrize("bad", ["XYZ", "0000000G", "123456789", ""])
def test_a_bad_run_id_is_refused_with_its_value(bad: str) -> None:
    with pytest.raises(DataError, match="8 lowercase hex digits"):
        RunData(run_id=bad)
