"""The documents `dmsload setup` seeds (descriptors, schools), and a bounded concurrent POST."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import orjson

from dmsload.dms import descriptors
from dmsload.dms.auth import TokenProvider
from dmsload.dms.data import school_document, seeded_school_id
from dmsload.dms.errors import DmsError, problem_detail, transport_error
from dmsload.dms.resources import SCHOOLS, resource_path


def seeded_schools(
    count: int, namespace: str = descriptors.ED_FI_NAMESPACE
) -> list[tuple[str, dict[str, Any]]]:
    """(endpoint, body) for the first `count` seeded schools."""
    return [
        (SCHOOLS, school_document(seeded_school_id(i), namespace=namespace))
        for i in range(max(0, count))
    ]


def descriptor_documents(
    namespace: str = descriptors.ED_FI_NAMESPACE,
) -> list[tuple[str, dict[str, Any]]]:
    """(endpoint, body) for every descriptor the generators reference."""
    return [(d.endpoint, dict(d.document(namespace))) for d in descriptors.ALL_DESCRIPTORS]


@dataclass
class UpsertCounts:
    """How many POSTs created a document (201) and how many found it existing (200)."""

    created: int = 0
    existing: int = 0


async def _post(
    client: httpx.AsyncClient, url: str, body: bytes, tokens: TokenProvider
) -> httpx.Response:
    token = await tokens.token()
    for attempt in (1, 2):
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DmsError(transport_error(url, exc)) from None
        if response.status_code != 401 or attempt == 2:
            return response
        token = await tokens.refresh_after_rejection(token)
    raise AssertionError("unreachable")


async def upsert_documents(
    client: httpx.AsyncClient,
    data_api_url: str,
    tokens: TokenProvider,
    documents: Sequence[tuple[str, dict[str, Any]]],
    concurrency: int = 16,
) -> UpsertCounts:
    """POST each (endpoint, body) under `data_api_url/ed-fi/`, `concurrency` at a time.

    201 counts as created and 200 as existing (DMS POST is an upsert); any other answer raises
    DmsError naming the first failing request, after the others finished.
    """
    counts = UpsertCounts()
    failures: list[str] = []
    limiter = anyio.Semaphore(concurrency)

    async def one(endpoint: str, body: dict[str, Any]) -> None:
        url = f"{data_api_url}{resource_path(endpoint)}"
        async with limiter:
            try:
                response = await _post(client, url, orjson.dumps(body), tokens)
            except DmsError as exc:
                failures.append(str(exc))
                return
        if response.status_code == 201:
            counts.created += 1
        elif response.status_code == 200:
            counts.existing += 1
        else:
            failures.append(
                f"POST {url} answered {response.status_code}: {problem_detail(response)}"
            )

    async with anyio.create_task_group() as group:
        for endpoint, body in documents:
            group.start_soon(one, endpoint, body)
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise DmsError(failures[0] + more)
    return counts
