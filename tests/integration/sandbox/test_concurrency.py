"""§5 POST upsert under concurrency: one natural key, 200 simultaneous POSTs, one document."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from dmsload.sandbox.auth import basic_header
from dmsload.sandbox.testing import running_sandbox_async

from .conftest import student


async def _fire() -> None:
    async with running_sandbox_async() as sb:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=sb.base_url, limits=limits, timeout=30) as c:
            token = (
                await c.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    headers={"Authorization": basic_header("minimalKey", "minimalSecret")},
                )
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            body = student("SAME-KEY")
            gate = asyncio.Event()

            async def one() -> httpx.Response:
                await gate.wait()
                return await c.post("/data/ed-fi/students", json=body, headers=headers)

            tasks = [asyncio.create_task(one()) for _ in range(200)]
            await asyncio.sleep(0.05)
            gate.set()
            responses = await asyncio.gather(*tasks)
        statuses = Counter(r.status_code for r in responses)
        assert statuses == Counter({201: 1, 200: 199})
        assert len({r.headers["location"] for r in responses}) == 1
        resource = sb.state.schema.find("students")
        assert resource is not None
        assert sb.state.store.count(resource) == 1
        assert sb.state.stats.count("POST /data/ed-fi/students", 201) == 1
        assert sb.state.stats.count("POST /data/ed-fi/students", 200) == 199


def test_s5_200_simultaneous_upserts_one_document() -> None:
    """§5 POST upsert: 200 simultaneous POSTs of one natural key → one 201, 199 × 200, one doc."""
    asyncio.run(_fire())
