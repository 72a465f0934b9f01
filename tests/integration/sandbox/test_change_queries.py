"""Change queries: availableChangeVersions, change-version windows on GET-many, and /deletes and
/keyChanges: `[]` by default (as DMS), real tombstones and key changes with track_changes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from dmsload.sandbox.testing import SandboxHandle, running_sandbox

from .conftest import get_token, school, ssa, student

CHANGES = "/changeQueries/v1/availableChangeVersions"


def post(client: httpx.Client, auth: dict[str, str], ep: str, body: object) -> httpx.Response:
    r = client.post(f"/data/ed-fi/{ep}", json=body, headers=auth)
    assert r.status_code in (200, 201), r.text
    return r


def _newest(client: httpx.Client, auth: dict[str, str]) -> int:
    r = client.get(CHANGES, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["oldestChangeVersion"] == 0
    return int(body["newestChangeVersion"])


@pytest.fixture
def tracking() -> Iterator[tuple[SandboxHandle, httpx.Client, dict[str, str]]]:
    with (
        running_sandbox(seed_descriptors=True, track_changes=True) as handle,
        httpx.Client(base_url=handle.base_url, timeout=10) as client,
    ):
        auth = {"Authorization": f"Bearer {get_token(client)}"}
        post(client, auth, "schools", school())
        yield handle, client, auth


def test_available_change_versions_needs_a_token_and_follows_every_write(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    r = client.get(CHANGES)
    assert r.status_code == 401 and "invalid_token" in r.headers["www-authenticate"]
    before = _newest(client, auth)
    location = post(client, auth, "students", student("CV1")).headers["location"]
    assert _newest(client, auth) == before + 1
    doc_id = location.rsplit("/", 1)[1]
    body = {**student("CV1", firstName="Changed"), "id": doc_id}
    assert client.put(location, json=body, headers=auth).status_code == 204
    assert _newest(client, auth) == before + 2
    assert client.post(CHANGES, headers=auth).status_code == 405


def test_a_change_version_window_returns_the_documents_changed_in_it(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    low = _newest(client, auth) + 1
    ids = [post(client, auth, "students", student(f"W{i}")).headers["location"] for i in range(3)]
    high = _newest(client, auth)
    later = post(client, auth, "students", student("W-late")).headers["location"]
    r = client.get(
        "/data/ed-fi/students",
        params={"minChangeVersion": low, "maxChangeVersion": high},
        headers=auth,
    )
    got = {doc["id"] for doc in r.json()}
    assert got == {loc.rsplit("/", 1)[1] for loc in ids}
    assert later.rsplit("/", 1)[1] not in got


def test_deletes_and_key_changes_are_empty_by_default_even_after_a_delete(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    location = post(client, auth, "students", student("DEF1")).headers["location"]
    assert client.delete(location, headers=auth).status_code == 204
    assert client.get("/data/ed-fi/students/deletes", headers=auth).json() == []
    assert client.get("/data/ed-fi/students/keyChanges", headers=auth).json() == []


def test_tracked_deletes_are_tombstones_in_change_version_windows(
    tracking: tuple[SandboxHandle, httpx.Client, dict[str, str]],
) -> None:
    _, client, auth = tracking
    locations = [
        post(client, auth, "students", student(f"T{i}")).headers["location"] for i in range(4)
    ]
    start = _newest(client, auth) + 1
    for location in locations[:3]:
        assert client.delete(location, headers=auth).status_code == 204
    end = _newest(client, auth)
    assert end == start + 2  # each delete takes a change version of its own
    assert client.delete(locations[3], headers=auth).status_code == 204
    r = client.get(
        "/data/ed-fi/students/deletes",
        params={"minChangeVersion": start, "maxChangeVersion": end, "totalCount": "true"},
        headers=auth,
    )
    assert r.status_code == 200 and r.headers["total-count"] == "3"
    tombstones = r.json()
    assert [t["id"] for t in tombstones] == [loc.rsplit("/", 1)[1] for loc in locations[:3]]
    assert [t["changeVersion"] for t in tombstones] == [start, start + 1, start + 2]
    assert tombstones[0]["keyValues"] == {"studentUniqueId": "T0"}
    page = client.get(
        "/data/ed-fi/students/deletes", params={"offset": 1, "limit": 1}, headers=auth
    ).json()
    assert [t["id"] for t in page] == [tombstones[1]["id"]]
    assert client.get("/data/ed-fi/schools/deletes", headers=auth).json() == []


def test_tracked_key_changes_carry_old_and_new_keys(
    tracking: tuple[SandboxHandle, httpx.Client, dict[str, str]],
) -> None:
    _, client, auth = tracking
    post(client, auth, "students", student("K1"))
    location = post(client, auth, "studentSchoolAssociations", ssa("K1")).headers["location"]
    doc_id = location.rsplit("/", 1)[1]
    body = {**ssa("K1", entry="2025-01-06"), "id": doc_id}
    assert client.put(location, json=body, headers=auth).status_code == 204
    changes = client.get("/data/ed-fi/studentSchoolAssociations/keyChanges", headers=auth).json()
    assert len(changes) == 1
    change = changes[0]
    assert change["id"] == doc_id and change["changeVersion"] == _newest(client, auth)
    assert change["oldKeyValues"]["entryDate"] == "2024-08-20"
    assert change["newKeyValues"]["entryDate"] == "2025-01-06"
    assert change["newKeyValues"]["studentUniqueId"] == "K1"


def test_bad_change_query_parameters_are_400(
    tracking: tuple[SandboxHandle, httpx.Client, dict[str, str]],
) -> None:
    _, client, auth = tracking
    for params in ({"minChangeVersion": "-1"}, {"limit": "x"}, {"colour": "blue"}):
        r = client.get("/data/ed-fi/students/deletes", params=params, headers=auth)
        assert r.status_code == 400, params
        assert r.json()["type"] == "urn:ed-fi:api:bad-request:parameter-validation-failed"
