"""The store's equality indexes answer exactly what a scan with `Filter.matches` answers.

A property-style test drives random inserts, updates (identity changes and their cascades
included) and deletes, and after each step compares every query method (offset paging, total
count, cursor pages, partitions) with a brute-force scan. A second test checks the cost, as
documents examined, of filtered queries over 100,000 students.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from dmsload.sandbox.queries import _typed_filter
from dmsload.sandbox.query_index import FieldIndex, index_key
from dmsload.sandbox.schema import (
    ApiSchema,
    QueryField,
    ResourceSchema,
    load_api_schema,
    parse_api_schema,
)
from dmsload.sandbox.store import Document, Filter, Store

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "config" / "performance-test-schema.json"
GRADES = ("Ninth grade", "Tenth grade")
STEPS = 400

#: Extra query fields on students, for kinds and shapes the shipped schema lacks.
EXTRA_STUDENT_FIELDS = {
    "anyName": [
        {"path": "$.firstName", "type": "string"},
        {"path": "$.middleName", "type": "string"},
    ],
    "otherName": [{"path": "$.otherNames[*].name", "type": "string"}],
    "stamp": [{"path": "$.stamp", "type": "date-time"}],
    "score": [{"path": "$.score", "type": "number"}],
    "flag": [{"path": "$.flag", "type": "boolean"}],
}

#: Stored values: near-misses across types, cases and date-time spellings.
STORED: dict[str, list[Any]] = {
    "string": ["a", "A", "b", "", "1", 1, True, None],
    "number": [1, 1.0, 2, 2.5, -0.0, 0, True, False, "1", None],
    "boolean": [True, False, 1, 0, "true", None],
    "date": ["2024-01-01", "2024-01-02", "2024-01-01T00:00:00Z", 20240101, None],
    "date-time": [
        "2024-01-01T00:00:00Z",
        "2024-01-01T01:00:00+01:00",
        "2024-01-01T00:00:00",
        "2024-01-02T00:00:00Z",
        "not a date",
        5,
        None,
    ],
}
#: Query-string values, typed by the server as `queries._typed_filter` does.
QUERIED: dict[str, list[str]] = {
    "string": ["a", "A", "b", "", "1", "True", "zzz"],
    "number": ["1", "1.0", "2", "2.5", "0", "-0", "3"],
    "boolean": ["true", "false", "True", "1", "0"],
    "date": ["2024-01-01", "2024-01-02", "2024-01-01T00:00:00Z", "2030-01-01"],
    "date-time": [
        "2024-01-01T00:00:00Z",
        "2024-01-01T02:00:00+02:00",
        "2024-01-02T00:00:00Z",
        "2020-01-01T00:00:00Z",
    ],
}


def _schema() -> ApiSchema:
    raw: dict[str, Any] = orjson.loads(SCHEMA_FILE.read_bytes())
    raw = copy.deepcopy(raw)
    resources = raw["projectSchema"]["resourceSchemas"]
    resources["students"]["queryFieldMapping"].update(EXTRA_STUDENT_FIELDS)
    # Let student keys change, so that the change cascades into the associations' references
    # (and so into their studentUniqueId query field).
    resources["students"]["allowIdentityUpdates"] = True
    return parse_api_schema(raw, "test schema")


def _stored(rng: random.Random, kind: str) -> Any:
    return rng.choice(STORED[kind])


def _put(body: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        body[name] = value


class World:
    """A store under random writes, with the bookkeeping to pick sensible operations."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.schema = _schema()
        self.store = Store(self.schema)
        self.students = self._resource("students")
        self.schools = self._resource("schools")
        self.ssas = self._resource("studentSchoolAssociations")
        grades = self._resource("gradeLevelDescriptors")
        for code in GRADES:
            body = {"namespace": "uri://ed-fi.org/GradeLevelDescriptor", "codeValue": code}
            assert self.store.upsert(grades, {**body, "shortDescription": code}).status == 201
        for school_id in (1, 2, 3):
            body = {"schoolId": school_id, "nameOfInstitution": rng.choice(["a", "A", "b"])}
            assert self.store.upsert(self.schools, body).status == 201
        self.next_student = 0

    def _resource(self, endpoint: str) -> ResourceSchema:
        resource = self.schema.find(endpoint)
        assert resource is not None
        return resource

    def student_body(self, unique_id: str) -> dict[str, Any]:
        rng = self.rng
        body: dict[str, Any] = {"studentUniqueId": unique_id, "birthDate": "2010-01-01"}
        _put(body, "firstName", _stored(rng, "string"))
        _put(body, "middleName", _stored(rng, "string"))
        _put(body, "lastSurname", _stored(rng, "string"))
        _put(body, "birthDate", _stored(rng, "date"))
        _put(body, "stamp", _stored(rng, "date-time"))
        _put(body, "score", _stored(rng, "number"))
        _put(body, "flag", _stored(rng, "boolean"))
        if rng.random() < 0.5:
            body["otherNames"] = [
                {"name": _stored(rng, "string")} for _ in range(rng.randint(0, 3))
            ]
        return body

    def ssa_body(self, unique_id: str) -> dict[str, Any]:
        rng = self.rng
        body: dict[str, Any] = {
            "studentReference": {"studentUniqueId": unique_id},
            "schoolReference": {"schoolId": rng.randint(1, 3)},
            "entryDate": rng.choice(["2024-08-20", "2024-09-01"]),
            "entryGradeLevelDescriptor": (
                f"uri://ed-fi.org/{rng.choice(['GradeLevelDescriptor', 'gradeleveldescriptor'])}"
                f"#{rng.choice(GRADES + tuple(g.upper() for g in GRADES))}"
            ),
        }
        _put(body, "primarySchool", _stored(rng, "boolean"))
        _put(body, "repeatGradeIndicator", _stored(rng, "boolean"))
        return body

    def step(self) -> None:
        rng, store = self.rng, self.store
        students = store.documents(self.students)
        ssas = store.documents(self.ssas)
        action = rng.random()
        if action < 0.3 or not students:
            self.next_student += 1
            store.upsert(self.students, self.student_body(f"s{self.next_student}"))
        elif action < 0.45:
            target = rng.choice(students)
            store.upsert(self.ssas, self.ssa_body(target.body["studentUniqueId"]))
        elif action < 0.6:  # POST of an existing key: an update by natural key
            target = rng.choice(students)
            store.upsert(self.students, self.student_body(target.body["studentUniqueId"]))
        elif action < 0.72:  # PUT, sometimes with a new key, which cascades into associations
            target = rng.choice(students)
            unique_id = target.body["studentUniqueId"]
            if rng.random() < 0.5:
                self.next_student += 1
                unique_id = f"s{self.next_student}"
            store.replace(self.students, target.id, self.student_body(unique_id))
        elif action < 0.82 and ssas:  # PUT of an association, key changes allowed
            target = rng.choice(ssas)
            other = rng.choice(students).body["studentUniqueId"]
            store.replace(self.ssas, target.id, self.ssa_body(other))
        elif action < 0.9 and ssas:
            store.delete(self.ssas, rng.choice(ssas).id)
        else:  # 409 while an association refers to it
            store.delete(self.students, rng.choice(students).id)

    def random_filters(self, resource: ResourceSchema) -> list[Filter]:
        rng = self.rng
        descriptor_texts = {d.text for d in resource.descriptor_paths}
        fields = list(resource.query_fields.values())
        filters: list[Filter] = []
        for _ in range(rng.choice([1, 1, 1, 1, 2, 2, 3])):
            field = rng.choice(fields)
            if field.path_texts == ("$.id",):
                docs = self.store.documents(resource)
                text = rng.choice(docs).id if docs and rng.random() < 0.7 else "missing"
            elif field.name == "studentUniqueId":
                text = f"s{rng.randint(1, max(1, self.next_student))}"
            elif field.name == "entryGradeLevelDescriptor":
                text = f"uri://ed-fi.org/GradeLevelDescriptor#{rng.choice(GRADES).upper()}"
            elif field.name == "schoolId":
                text = rng.choice(["1", "2", "3.0", "4"])
            else:
                text = rng.choice(QUERIED[field.type])
            ok, typed = _typed_filter(text, field.type)
            if not ok:
                continue
            lower = any(p in descriptor_texts for p in field.path_texts)
            value = typed.lower() if lower and isinstance(typed, str) else typed
            filters.append(Filter(field, value, lower))
        return filters


def _scan(
    store: Store,
    resource: ResourceSchema,
    filters: list[Filter],
    min_version: int | None,
    max_version: int | None,
) -> list[Document]:
    """The reference answer: every document, in insert order, through `Filter.matches`."""
    return [
        d
        for d in store.documents(resource)
        if (min_version is None or d.version >= min_version)
        and (max_version is None or d.version <= max_version)
        and all(f.matches(d) for f in filters)
    ]


def _reference_partitions(seqs: list[int], number: int) -> list[tuple[int, int | None]]:
    count = len(seqs)
    parts = min(number, count)
    out: list[tuple[int, int | None]] = []
    for index in range(parts):
        first = index * count // parts
        last = (index + 1) * count // parts - 1
        out.append((seqs[first - 1] if first else 0, seqs[last] if index < parts - 1 else None))
    return out


def _check_queries(world: World, resource: ResourceSchema) -> None:
    rng, store = world.rng, world.store
    filters = world.random_filters(resource)
    top = max((d.version for d in store.documents(resource)), default=0)
    min_version = rng.choice([None, None, rng.randint(0, top + 1)])
    max_version = rng.choice([None, None, rng.randint(0, top + 1)])
    expected = _scan(store, resource, filters, min_version, max_version)
    ids = [d.id for d in expected]
    described = f"{[(f.field.name, f.value) for f in filters]} [{min_version}, {max_version}]"

    for offset, limit in ((0, 500), (0, 2), (rng.randint(0, 5), rng.randint(0, 4))):
        page, total = store.query(
            resource, filters, offset, limit, min_version, max_version, want_total=True
        )
        assert [d.id for d in page] == ids[offset : offset + limit], described
        assert total == len(ids), described
        page, total = store.query(resource, filters, offset, limit, min_version, max_version)
        assert [d.id for d in page] == ids[offset : offset + limit], described
        assert total is None

    walked: list[str] = []
    after, size = 0, rng.randint(1, 3)
    for _ in range(len(ids) + 2):
        chunk = store.cursor_page(resource, filters, after, None, size, min_version, max_version)
        if not chunk:
            break
        walked.extend(d.id for d in chunk)
        after = chunk[-1].seq
    assert walked == ids, described

    number = rng.randint(1, 4)
    bounds = store.partition_bounds(resource, filters, number, min_version, max_version)
    assert bounds == _reference_partitions([d.seq for d in expected], number), described
    in_slices: list[str] = []
    for start, end in bounds:
        chunk = store.cursor_page(resource, filters, start, end, 10_000, min_version, max_version)
        in_slices.extend(d.id for d in chunk)
    assert in_slices == ids, described


@pytest.mark.parametrize("seed", range(10))
def test_indexed_queries_equal_a_scan_under_random_writes(seed: int) -> None:
    world = World(random.Random(seed))
    for step in range(STEPS):
        world.step()
        # Early and then now and again: indexes are built lazily, so checking at different
        # moments covers both "built, then maintained" and "built late, from the documents".
        if step % 3 == 0 or step == STEPS - 1:
            for resource in (world.students, world.ssas, world.schools):
                _check_queries(world, resource)
    assert world.store.count(world.students) > 20
    assert world.store.count(world.ssas) > 5


def test_cleared_store_forgets_its_indexes() -> None:
    world = World(random.Random(99))
    for _ in range(50):
        world.step()
    field = world.students.query_fields["studentuniqueid"]
    first = world.store.documents(world.students)[0]
    only = [Filter(field, first.body["studentUniqueId"], False)]
    assert world.store.query(world.students, only, 0, 10)[0] == [first]
    world.store.clear()
    assert world.store.query(world.students, only, 0, 10)[0] == []
    world.store.upsert(world.students, {"studentUniqueId": first.body["studentUniqueId"]})
    assert len(world.store.query(world.students, only, 0, 10)[0]) == 1


@pytest.mark.parametrize(
    ("kind", "lower", "found", "key"),
    [
        ("number", False, 3, 3),
        ("number", False, True, None),
        ("number", False, "3", None),
        ("number", False, float("nan"), None),
        ("boolean", False, 1, None),
        ("boolean", False, False, False),
        ("date-time", False, "2024-01-01T01:00:00+01:00", "2024-01-01T00:00:00Z"),
        ("date-time", False, "nope", None),
        ("string", True, "URI://X#Y", "uri://x#y"),
        ("string", False, "URI://X#Y", "URI://X#Y"),
        ("date", False, 20240101, None),
    ],
)
def test_index_keys_follow_the_filter_comparison(
    kind: str, lower: bool, found: Any, key: Any
) -> None:
    got = index_key(kind, lower, found)
    assert got == key and type(got) is type(key)


def test_bucket_keeps_insert_order_after_a_document_moves_in() -> None:
    schema = load_api_schema(SCHEMA_FILE)
    store = Store(schema)
    students = schema.find("students")
    assert students is not None
    for i in range(4):
        surname = "late" if i == 0 else "same"
        store.upsert(students, {"studentUniqueId": f"s{i}", "lastSurname": surname})
    field = students.query_fields["lastsurname"]
    same = [Filter(field, "same", False)]
    assert [d.body["studentUniqueId"] for d in store.query(students, same, 0, 9)[0]] == [
        "s1",
        "s2",
        "s3",
    ]
    # s0, the oldest, now joins the "same" bucket after newer documents: results stay in
    # insert order (s0 first), as a scan gives them.
    store.upsert(students, {"studentUniqueId": "s0", "lastSurname": "same"})
    assert [d.body["studentUniqueId"] for d in store.query(students, same, 0, 9)[0]] == [
        "s0",
        "s1",
        "s2",
        "s3",
    ]
    assert store.query(students, [Filter(field, "late", False)], 0, 9)[0] == []


def test_field_index_files_every_path_and_array_item() -> None:
    field = QueryField(
        name="name",
        paths=(("a",), ("items", None, "b")),
        path_texts=("$.a", "$.items[*].b"),
        type="string",
    )
    index = FieldIndex(field, lower=False)
    assert index.keys_of({"a": "x", "items": [{"b": "y"}, {"b": "x"}, {"c": "z"}, 3]}) == {
        "x",
        "y",
    }
    assert index.keys_of({"a": {"nested": "x"}, "items": {"b": "y"}}) == set()


def test_filtered_queries_over_100k_students_examine_only_their_matches() -> None:
    schema = load_api_schema(SCHEMA_FILE)
    store = Store(schema)
    students = schema.find("students")
    assert students is not None
    total = 100_000
    for i in range(total):
        body = {
            "studentUniqueId": f"s{i}",
            "firstName": "Ada",
            "lastSurname": f"L{i % 1000}",  # 100 students per surname
            "birthDate": f"2010-01-{i % 28 + 1:02d}",
        }
        assert store.upsert(students, body).status == 201
    fields = students.query_fields

    def examined(filters: list[Filter], **kw: Any) -> tuple[int, list[Document], int | None]:
        before = store.examined
        page, count = store.query(students, filters, kw.get("offset", 0), 25, want_total=True)
        return store.examined - before, page, count

    unique = fields["studentuniqueid"]
    # The first query on a field builds its index: one pass over the documents, once.
    cost, page, count = examined([Filter(unique, "nope", False)])
    assert (cost, page, count) == (total, [], 0)
    cost, page, count = examined([Filter(unique, "nope", False)])
    assert (cost, page, count) == (0, [], 0)  # a scan examined 100,000
    cost, page, count = examined([Filter(unique, "s54321", False)])
    assert cost == 1 and count == 1 and page[0].body["studentUniqueId"] == "s54321"

    surname = fields["lastsurname"]
    examined([Filter(surname, "L7", False)])  # builds the lastSurname index
    cost, page, count = examined([Filter(surname, "L7", False)])
    assert (cost, len(page), count) == (25, 25, 100)
    assert [d.seq for d in page] == sorted(d.seq for d in page)

    # Two filters: candidates come from the smaller bucket (1 student), not the 100 L7s.
    cost, page, count = examined([Filter(surname, "L7", False), Filter(unique, "s7", False)])
    assert cost == 1 and count == 1

    cost, page, count = examined([Filter(fields["id"], page[0].id, False)])
    assert cost == 1 and count == 1

    # Cursor pages and partitions of a filtered query examine its matches only.
    before = store.examined
    chunk = store.cursor_page(students, [Filter(unique, "s99999", False)], 0, None, 500)
    assert len(chunk) == 1 and store.examined - before == 1
    before = store.examined
    bounds = store.partition_bounds(students, [Filter(surname, "L7", False)], 4)
    assert len(bounds) == 4 and store.examined - before == 100
