"""DMS discovery (`GET /`): the data API, token and dependencies URLs, unless overridden."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from dmsload.dms.errors import DmsError, problem_detail, transport_error
from dmsload.settings import ConnectionSettings


@dataclass(frozen=True)
class Endpoints:
    """Where a DMS serves data, tokens and its dependency list, and its discovery document."""

    dms_url: str
    data_api_url: str
    token_url: str
    dependencies_url: str
    document: dict[str, Any]
    """The whole discovery JSON (the run manifest records `version` and `dataModels`)."""


def _url(urls: dict[str, Any], name: str) -> str | None:
    value = urls.get(name)
    return value.rstrip("/") if isinstance(value, str) and value.strip() else None


async def discover(settings: ConnectionSettings, client: httpx.AsyncClient) -> Endpoints:
    """Read `GET {dms_url}/`; settings' `data_api_url`/`token_url` override what it says."""
    root = settings.dms_url
    url = f"{root}/"
    try:
        response = await client.get(url, headers={"accept": "application/json"})
    except httpx.HTTPError as exc:
        raise DmsError(transport_error(url, exc)) from None
    if response.status_code != 200:
        raise DmsError(
            f"DMS discovery {url} answered {response.status_code}: {problem_detail(response)}"
        )
    try:
        document = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        document = None
    urls = document.get("urls") if isinstance(document, dict) else None
    if not isinstance(document, dict) or not isinstance(urls, dict):
        raise DmsError(f"{url} is not a DMS discovery document (no 'urls' object)")
    data_api = settings.data_api_url or _url(urls, "dataManagementApi")
    token = settings.token_url or _url(urls, "oauth")
    if data_api is None or token is None:
        missing = "urls.dataManagementApi" if data_api is None else "urls.oauth"
        raise DmsError(f"{url} is not a DMS discovery document (no {missing})")
    dependencies = _url(urls, "dependencies") or f"{root}/metadata/dependencies"
    return Endpoints(root, data_api, token, dependencies, document)
