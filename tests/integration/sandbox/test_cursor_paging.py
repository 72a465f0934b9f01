"""Contract §7 cursor paging: pageToken/pageSize, Next-Page-Token, /partitions (and §2, §6)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import assert_problem, student

PV = "urn:ed-fi:api:bad-request:parameter-validation-failed"
PV_TITLE = "Parameter Validation Failed"
MAX_REQUESTS = 50


def _seed(client: httpx.Client, auth: dict[str, str], surname: str, count: int) -> list[str]:
    ids = [f"{surname}{i:03d}" for i in range(count)]
    for sid in ids:
        r = client.post(
            "/data/ed-fi/students", json=student(sid, lastSurname=surname), headers=auth
        )
        assert r.status_code == 201, r.text
    return ids


def _walk(
    client: httpx.Client, auth: dict[str, str], token: str, params: dict[str, Any]
) -> tuple[list[str], int]:
    """Follow Next-Page-Token until it is absent; return the ids read and the requests made."""
    seen: list[str] = []
    for request in range(1, MAX_REQUESTS + 1):
        r = client.get("/data/ed-fi/students", params={**params, "pageToken": token}, headers=auth)
        assert r.status_code == 200, r.text
        seen += [d["studentUniqueId"] for d in r.json()]
        if "next-page-token" not in r.headers:
            assert r.json() == []
            return seen, request
        token = r.headers["next-page-token"]
    raise AssertionError("the walk did not end")


def test_s7_sequential_walk_follows_next_page_token(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    """§7 start with limit, continue with pageToken+pageSize; stop when the header is absent."""
    ids = _seed(client, auth, "Walk", 7)
    first = client.get(
        "/data/ed-fi/students", params={"lastSurname": "Walk", "limit": 3}, headers=auth
    )
    assert [d["studentUniqueId"] for d in first.json()] == ids[:3]
    token = first.headers["next-page-token"]
    rest, requests = _walk(client, auth, token, {"lastSurname": "Walk", "pageSize": 3})
    assert rest == ids[3:]
    assert requests == 3  # 3 items, 1 item, then the empty page without a header


def test_s7_no_token_when_nothing_selected(client: httpx.Client, auth: dict[str, str]) -> None:
    """§7 an empty page carries no Next-Page-Token; pageSize=0 selects nothing."""
    r = client.get("/data/ed-fi/students", params={"lastSurname": "Nobody"}, headers=auth)
    assert r.json() == [] and "next-page-token" not in r.headers
    _seed(client, auth, "Zero", 2)
    token = client.get(
        "/data/ed-fi/students", params={"lastSurname": "Zero", "limit": 1}, headers=auth
    ).headers["next-page-token"]
    r = client.get(
        "/data/ed-fi/students",
        params={"lastSurname": "Zero", "pageToken": token, "pageSize": 0},
        headers=auth,
    )
    assert r.status_code == 200 and r.json() == [] and "next-page-token" not in r.headers


@pytest.mark.parametrize(
    "params,error",
    [
        (
            {"pageToken": "TOKEN", "limit": 5},
            "PageToken and PageSize cannot be combined with Limit or Offset.",
        ),
        (
            {"pageSize": 5, "offset": 1},
            "PageToken and PageSize cannot be combined with Limit or Offset.",
        ),
        ({"pageSize": 5}, "PageSize can only be used together with PageToken."),
        (
            {"pageToken": "TOKEN", "pageSize": 501},
            "PageSize must be omitted or set to a numeric value between 0 and 500.",
        ),
        (
            {"pageToken": "TOKEN", "pageSize": "ten"},
            "PageSize must be omitted or set to a numeric value between 0 and 500.",
        ),
        (
            {"pageToken": "not-a-token"},
            "The pageToken is not valid. Restart the walk without it.",
        ),
        (
            {"pageToken": "TOKEN", "totalCount": "true"},
            "TotalCount cannot be combined with PageToken.",
        ),
        (
            {"pageToken": "TOKEN", "maxChangeVersion": 99},
            "The pageToken is not valid. Restart the walk without it.",
        ),
    ],
)
def test_s7_cursor_parameter_validation(
    client: httpx.Client, auth: dict[str, str], params: dict[str, Any], error: str
) -> None:
    """§6/§7 bad cursor parameters: 400 parameter-validation-failed naming the rule."""
    if not _exists(client, auth, "Bad"):
        _seed(client, auth, "Bad", 1)
    token = client.get("/data/ed-fi/students", params={"lastSurname": "Bad"}, headers=auth).headers[
        "next-page-token"
    ]
    params = {k: token if v == "TOKEN" else v for k, v in params.items()}
    r = client.get("/data/ed-fi/students", params=params, headers=auth)
    body = assert_problem(r, 400, PV, PV_TITLE)
    assert body["errors"] == [error]


def _exists(client: httpx.Client, auth: dict[str, str], surname: str) -> bool:
    r = client.get("/data/ed-fi/students", params={"lastSurname": surname}, headers=auth)
    return bool(r.json())


def test_s7_partitions_cover_collection_once(client: httpx.Client, auth: dict[str, str]) -> None:
    """§7 /partitions?number=3: {"pageTokens": [...]}; walking every token reads each item once."""
    ids = _seed(client, auth, "Part", 8)
    r = client.get(
        "/data/ed-fi/students/partitions",
        params={"number": 3, "lastSurname": "Part"},
        headers=auth,
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert "next-page-token" not in r.headers and "total-count" not in r.headers
    tokens = r.json()["pageTokens"]
    assert set(r.json()) == {"pageTokens"} and len(tokens) == 3
    walks = [_walk(client, auth, t, {"lastSurname": "Part", "pageSize": 2})[0] for t in tokens]
    assert all(walks) and [sid for walk in walks for sid in walk] == ids


def test_s7_partitions_default_count_and_fewer(client: httpx.Client, auth: dict[str, str]) -> None:
    """§7 number omitted: DefaultPartitionCount (10); never more tokens than items; none if none."""
    _seed(client, auth, "Many", 12)
    r = client.get("/data/ed-fi/students/partitions", params={"lastSurname": "Many"}, headers=auth)
    assert len(r.json()["pageTokens"]) == 10
    _seed(client, auth, "Few", 2)
    r = client.get(
        "/data/ed-fi/students/partitions",
        params={"lastSurname": "Few", "number": 5},
        headers=auth,
    )
    assert len(r.json()["pageTokens"]) == 2
    r = client.get(
        "/data/ed-fi/students/partitions", params={"lastSurname": "Nobody"}, headers=auth
    )
    assert r.status_code == 200 and r.json() == {"pageTokens": []}


@pytest.mark.parametrize(
    "params,error",
    [
        ({"number": 0}, "Number must be omitted or set to a numeric value between 1 and 200."),
        ({"number": 201}, "Number must be omitted or set to a numeric value between 1 and 200."),
        ({"number": "x"}, "Number must be omitted or set to a numeric value between 1 and 200."),
        ({"limit": 5}, "The parameter 'limit' is not supported on /partitions."),
        ({"pageSize": 5}, "The parameter 'pageSize' is not supported on /partitions."),
    ],
)
def test_s7_partitions_parameter_validation(
    client: httpx.Client, auth: dict[str, str], params: dict[str, Any], error: str
) -> None:
    """§6/§7 number must be 1..200; paging parameters are rejected on /partitions."""
    r = client.get("/data/ed-fi/students/partitions", params=params, headers=auth)
    assert assert_problem(r, 400, PV, PV_TITLE)["errors"] == [error]


def test_s7_partitions_needs_bearer_and_filters_checked(client: httpx.Client) -> None:
    """§2/§3.1 /partitions needs a bearer token; §7 unknown filters are 400 there too."""
    assert client.get("/data/ed-fi/students/partitions").status_code == 401
    token = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("minimalKey", "minimalSecret"),
    ).json()["access_token"]
    r = client.get(
        "/data/ed-fi/students/partitions",
        params={"shoeSize": 1},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_problem(r, 400, "urn:ed-fi:api:bad-request", "Bad Request")
