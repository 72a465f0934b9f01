"""The target's OpenAPI specifications: found from its metadata, or named, and cached.

DMS links `/metadata/specifications` from discovery (`urls.openApiMetadata`); that list names
`resources-spec.json` and `descriptors-spec.json`. `resources_spec` (`--resources-spec FILE|URL`,
`DMSLOAD_RESOURCES_SPEC`) replaces the search, for targets whose metadata has none or lists one
that answers 404. A specification read from a target is cached under `spec_cache_dir`, per target
URL and data model versions, so that later runs read it from disk.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import orjson

from dmsload.dms.discovery import Endpoints
from dmsload.dms.errors import DmsError, problem_detail, transport_error
from dmsload.openapi.model import ApiModel, descriptor_paths
from dmsload.openapi.spec import SpecError, parse_spec, read_spec
from dmsload.settings import ConnectionSettings

RESOURCES = "resources-spec.json"
DESCRIPTORS = "descriptors-spec.json"
_HINT = "name one with --resources-spec FILE|URL (DMSLOAD_RESOURCES_SPEC)"


def _cache_key(endpoints: Endpoints) -> str:
    models = endpoints.document.get("dataModels") or []
    versions = ",".join(
        f"{m.get('name')}={m.get('version')}" for m in models if isinstance(m, dict)
    )
    text = f"{endpoints.dms_url}|{versions}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


async def _get(client: httpx.AsyncClient, url: str) -> httpx.Response:
    try:
        return await client.get(url, headers={"accept": "application/json"})
    except httpx.HTTPError as exc:
        raise DmsError(transport_error(url, exc)) from None


async def _listed(client: httpx.AsyncClient, endpoints: Endpoints) -> dict[str, str]:
    """File name → URL of the specifications the target's metadata lists."""
    urls = endpoints.document.get("urls") or {}
    base = urls.get("openApiMetadata") if isinstance(urls, dict) else None
    base = str(base or f"{endpoints.dms_url}/metadata/specifications").rstrip("/")
    found = {RESOURCES: f"{base}/{RESOURCES}", DESCRIPTORS: f"{base}/{DESCRIPTORS}"}
    response = await _get(client, base)
    if response.status_code != 200:
        return found
    try:
        listed = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return found
    for entry in listed if isinstance(listed, list) else []:
        uri = entry.get("endpointUri") if isinstance(entry, dict) else None
        if isinstance(uri, str) and uri.rstrip("/").endswith(
            ("resources-spec.json", "descriptors-spec.json")
        ):
            found[uri.rstrip("/").rsplit("/", 1)[-1]] = uri
    return found


async def _fetch(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await _get(client, url)
    if response.status_code != 200:
        raise DmsError(
            f"GET {url} answered {response.status_code}: {problem_detail(response)}; {_HINT}"
        )
    try:
        return parse_spec(response.content, url)
    except SpecError as exc:
        raise DmsError(f"{exc}; {_HINT}") from None


async def _named(client: httpx.AsyncClient, source: str) -> dict[str, Any]:
    if source.startswith(("http://", "https://")):
        return await _fetch(client, source)
    try:
        return read_spec(source)
    except SpecError as exc:
        raise DmsError(f"--resources-spec {exc}") from None


def _read_cache(path: Path) -> dict[str, Any] | None:
    try:
        return parse_spec(path.read_bytes(), str(path))
    except (OSError, SpecError):
        return None


def _write_cache(path: Path, spec: Mapping[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(gzip.compress(orjson.dumps(spec), mtime=0))
        temporary.replace(path)
    except OSError:
        pass  # a cache that cannot be written only costs a download next time


async def load_model(
    settings: ConnectionSettings, client: httpx.AsyncClient, endpoints: Endpoints
) -> ApiModel:
    """The target's resources: the named specification, else the cached or served one."""
    descriptors: dict[str, Any] | None = None
    if settings.resources_spec:
        spec = await _named(client, settings.resources_spec)
        source = settings.resources_spec
        sibling = Path(settings.resources_spec).parent / DESCRIPTORS
        if not settings.resources_spec.startswith(("http://", "https://")):
            for candidate in (sibling, sibling.with_name(DESCRIPTORS + ".gz")):
                if candidate.is_file():
                    descriptors = _read_cache(candidate)
                    break
    else:
        folder = settings.spec_cache_dir / _cache_key(endpoints)
        cached = _read_cache(folder / f"{RESOURCES}.gz")
        if cached is not None:
            spec, source = cached, str(folder / f"{RESOURCES}.gz")
            descriptors = _read_cache(folder / f"{DESCRIPTORS}.gz")
        else:
            listed = await _listed(client, endpoints)
            source = listed[RESOURCES]
            spec = await _fetch(client, source)
            _write_cache(folder / f"{RESOURCES}.gz", spec)
            try:
                descriptors = await _fetch(client, listed[DESCRIPTORS])
            except DmsError:
                descriptors = None  # descriptor types are then the property names
            else:
                _write_cache(folder / f"{DESCRIPTORS}.gz", descriptors)
    try:
        return ApiModel(spec, descriptor_paths(descriptors or {}), source=source)
    except SpecError as exc:
        raise DmsError(str(exc)) from None


async def load_dependency_order(client: httpx.AsyncClient, endpoints: Endpoints) -> dict[str, int]:
    """`/ed-fi/schools` → its `order` in `GET /metadata/dependencies` (lower case); empty when
    the target does not answer with that list."""
    try:
        response = await _get(client, endpoints.dependencies_url)
    except DmsError:
        return {}
    if response.status_code != 200:
        return {}
    try:
        listed = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    order: dict[str, int] = {}
    for entry in listed if isinstance(listed, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("order"), int):
            order[str(entry.get("resource", "")).lower()] = entry["order"]
    return order
