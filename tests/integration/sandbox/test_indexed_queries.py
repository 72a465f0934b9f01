"""Contract §7 filters over many documents, through HTTP: answered from the store's indexes."""

from __future__ import annotations

import httpx

from dmsload.sandbox.testing import SandboxHandle

from .conftest import student

COUNT = 5_000
MAX_REQUESTS = 20


def test_filtered_get_many_examines_only_matches_and_tracks_writes(
    sandbox: SandboxHandle, client: httpx.Client, auth: dict[str, str]
) -> None:
    """Over 5,000 students, `?lastSurname=` examines only its matches (a scan examined all
    5,000 per request), and it sees a PUT that changes the value, and a DELETE, at once."""
    store = sandbox.state.store
    resource = sandbox.state.schema.find("students")
    assert resource is not None
    for i in range(COUNT):
        body = student(f"IX{i:05d}", lastSurname=f"Indexed{i % 50}")
        assert store.upsert(resource, body).status == 201
    params = {"lastSurname": "Indexed7", "totalCount": "true", "limit": 10}
    first = client.get("/data/ed-fi/students", params=params, headers=auth)
    assert first.status_code == 200 and first.headers["total-count"] == "100"

    before = store.examined
    r = client.get("/data/ed-fi/students", params=params, headers=auth)
    assert store.examined - before == 10
    page = r.json()
    assert [d["studentUniqueId"] for d in page] == [f"IX{i:05d}" for i in range(7, 500, 50)]

    # A cursor walk over the 100 matches examines each once (plus nothing for the empty end).
    before = store.examined
    seen: list[str] = []
    token = client.get(
        "/data/ed-fi/students/partitions",
        params={"number": 1, "lastSurname": "Indexed7"},
        headers=auth,
    ).json()["pageTokens"][0]
    for _ in range(MAX_REQUESTS):
        r = client.get(
            "/data/ed-fi/students",
            params={"lastSurname": "Indexed7", "pageToken": token, "pageSize": 30},
            headers=auth,
        )
        seen += [d["studentUniqueId"] for d in r.json()]
        if "next-page-token" not in r.headers:
            break
        token = r.headers["next-page-token"]
    assert len(seen) == 100 and store.examined - before <= 2 * 100

    moved = page[0]
    changed = {k: v for k, v in moved.items() if not k.startswith("_")}
    changed["lastSurname"] = "Elsewhere"
    put = client.put(f"/data/ed-fi/students/{moved['id']}", json=changed, headers=auth)
    assert put.status_code == 204, put.text
    r = client.get("/data/ed-fi/students", params=params, headers=auth)
    assert r.headers["total-count"] == "99"
    r = client.get("/data/ed-fi/students", params={"lastSurname": "elsewhere"}, headers=auth)
    assert r.json() == []  # not a descriptor: compared exactly
    r = client.get("/data/ed-fi/students", params={"lastSurname": "Elsewhere"}, headers=auth)
    assert [d["id"] for d in r.json()] == [moved["id"]]
    assert client.delete(f"/data/ed-fi/students/{moved['id']}", headers=auth).status_code == 204
    r = client.get("/data/ed-fi/students", params={"lastSurname": "Elsewhere"}, headers=auth)
    assert r.json() == []
