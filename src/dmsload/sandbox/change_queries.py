"""Change queries: `availableChangeVersions`, and `/deletes` and `/keyChanges` of a resource
(`[]` as DMS answers today, or the tracked changes when the sandbox keeps them)."""

from __future__ import annotations

import orjson

from dmsload.sandbox import paging
from dmsload.sandbox.auth import Token
from dmsload.sandbox.authz import denied
from dmsload.sandbox.http import JSON, Reply, Request, json_reply, problem
from dmsload.sandbox.schema import ResourceSchema
from dmsload.sandbox.state import SandboxState

AVAILABLE_CHANGE_VERSIONS = "/changeQueries/v1/availableChangeVersions"
_VERSION_PARAMS = {"minchangeversion": "minChangeVersion", "maxchangeversion": "maxChangeVersion"}


def available_change_versions(state: SandboxState, req: Request) -> Reply:
    """`GET /changeQueries/v1/availableChangeVersions`: the window a sync client may read."""
    return json_reply(
        200, {"oldestChangeVersion": 0, "newestChangeVersion": state.store.newest_change_version}
    )


def _failure(req: Request, errors: list[str]) -> Reply:
    return problem(
        400,
        "parameter-validation-failed",
        "Parameters supplied to the request were invalid.",
        req.correlation_id,
        errors=errors,
    )


def tracked_changes(
    state: SandboxState, req: Request, token: Token, resource: ResourceSchema, kind: str
) -> Reply:
    """`GET /data/{ns}/{endpoint}/deletes` or `/keyChanges`, with min/maxChangeVersion,
    offset/limit and totalCount; `[]` unless the sandbox tracks changes."""
    refusal = denied(state, req, token, resource, "ReadChanges")
    if refusal is not None:
        return refusal
    bounds: dict[str, int] = {}
    errors: list[str] = []
    for name, value in req.query:
        key = name.lower()
        if key in _VERSION_PARAMS:
            version = paging.parse_int(value)
            if version is None or version < 0:
                errors.append(f"{name} must be a numeric value greater than or equal to 0.")
            else:
                bounds[key] = version
        elif name not in ("offset", "limit", "totalCount"):
            errors.append(f"The parameter '{name}' is not supported on /{kind}.")
    parsed = paging.parse_collection(req.query, state.config.max_page_size)
    if isinstance(parsed, list):
        errors.extend(parsed)
    if errors or isinstance(parsed, list):
        return _failure(req, errors)
    if not state.store.track_changes:
        return Reply(200, b"[]", JSON)
    low, high = bounds.get("minchangeversion"), bounds.get("maxchangeversion")
    log = state.store.changes
    if kind == "deletes":
        items = [c.delete_json() for c in log.deletes(resource.endpoint, low, high)]
    else:
        items = [c.key_change_json() for c in log.key_changes(resource.endpoint, low, high)]
    page = items[parsed.offset : parsed.offset + parsed.limit]
    headers = [(b"total-count", str(len(items)).encode())] if parsed.total else []
    return Reply(200, orjson.dumps(page), JSON, headers)
