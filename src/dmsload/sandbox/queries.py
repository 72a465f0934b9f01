"""GET-many and `/partitions` of a collection: filters, paging, cursors (contract §7)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from dmsload.sandbox import paging
from dmsload.sandbox.auth import Token
from dmsload.sandbox.authz import denied
from dmsload.sandbox.http import JSON, Reply, Request, json_reply, problem
from dmsload.sandbox.query_index import normalize_date_time
from dmsload.sandbox.schema import QueryField, ResourceSchema
from dmsload.sandbox.state import SandboxState
from dmsload.sandbox.store import Document, Filter

CHANGE_VERSION_PARAMS = frozenset({"minchangeversion", "maxchangeversion"})
VALIDATION_DETAIL = "Data validation failed. See 'validationErrors' for details."


@dataclass
class Selection:
    """What a request selects, paging aside: typed filters and a change-version window."""

    filters: list[Filter] = field(default_factory=list)
    min_version: int | None = None
    max_version: int | None = None


def _parameter_failure(req: Request, errors: list[str]) -> Reply:
    return problem(
        400,
        "parameter-validation-failed",
        "Parameters supplied to the request were invalid.",
        req.correlation_id,
        errors=errors,
    )


def _normalize_date(value: str) -> str | None:
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return None


def _typed_filter(value: str, kind: str) -> tuple[bool, Any]:
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            return False, None
        return math.isfinite(number), number
    if kind == "boolean":
        parsed = paging.parse_bool(value)
        return parsed is not None, parsed
    if kind == "date":
        normalized = _normalize_date(value)
        return normalized is not None, normalized
    if kind == "date-time":
        normalized = normalize_date_time(value)
        return normalized is not None, normalized
    if kind == "time":
        try:
            time.strptime(value, "%H:%M:%S")
        except ValueError:
            return False, None
        return True, value
    return True, value


def _selection(
    req: Request,
    resource: ResourceSchema,
    skip: frozenset[str],
    reference_filters: bool = True,
) -> Selection | Reply:
    """Parse filters and minChangeVersion/maxChangeVersion; `skip` names paging parameters;
    without `reference_filters`, a field inside a reference (`schoolId` of an association)
    is not a filter, as on some Ed-Fi APIs."""
    selection = Selection()
    invalid: dict[str, list[str]] = {}
    descriptor_texts = {d.text for d in resource.descriptor_paths}
    for name, value in req.query:
        if name in skip:
            continue
        low = name.lower()
        if low in CHANGE_VERSION_PARAMS:
            version = paging.parse_int(value)
            if version is None or version < 0:
                return _parameter_failure(
                    req, [f"{name} must be a numeric value greater than or equal to 0."]
                )
            if low == "minchangeversion":
                selection.min_version = version
            else:
                selection.max_version = version
            continue
        query_field = resource.query_fields.get(low)
        if query_field is not None and not reference_filters and _in_reference(query_field):
            query_field = None
        if query_field is None:
            return problem(
                400,
                "bad-request",
                "The request could not be processed. See 'errors' for details.",
                req.correlation_id,
                errors=[f"The query field '{name}' is not valid for this resource."],
            )
        ok, typed = _typed_filter(value, query_field.type)
        if not ok:
            invalid.setdefault(query_field.path_texts[0], []).append(
                f"The value '{value}' is not valid for {name}."
            )
            continue
        lower = any(p in descriptor_texts for p in query_field.path_texts)
        value_ = typed.lower() if lower and isinstance(typed, str) else typed
        selection.filters.append(Filter(query_field, value_, lower))
    if invalid:
        return problem(
            400,
            "data-validation-failed",
            VALIDATION_DETAIL,
            req.correlation_id,
            validation_errors=invalid,
        )
    return selection


def _in_reference(field: QueryField) -> bool:
    return all(len(p) > 1 and str(p[0]).endswith("Reference") for p in field.paths)


def _readable_selection(
    state: SandboxState, req: Request, token: Token, resource: ResourceSchema, skip: frozenset[str]
) -> Selection | Reply:
    """The query's selection once the token may Read the resource; else the 400 or 403 reply."""
    selection = _selection(req, resource, skip, state.config.reference_filters)
    if isinstance(selection, Reply):
        return selection
    refusal = denied(state, req, token, resource, "Read")
    return selection if refusal is None else refusal


def get_many(state: SandboxState, req: Request, token: Token, resource: ResourceSchema) -> Reply:
    """`GET /data/{ns}/{endpoint}`: traditional or cursor paging, then Next-Page-Token."""
    parsed = paging.parse_collection(req.query, state.config.max_page_size)
    if isinstance(parsed, list):
        return _parameter_failure(req, parsed)
    selection = _readable_selection(state, req, token, resource, paging.COLLECTION_PARAMS)
    if isinstance(selection, Reply):
        return selection
    bounded = selection.max_version is not None
    cursor = parsed.cursor
    headers: list[tuple[bytes, bytes]] = []
    if cursor is not None:
        if cursor.bounded != bounded:
            return _parameter_failure(req, [paging.INVALID_TOKEN])
        docs = state.store.cursor_page(
            resource,
            selection.filters,
            cursor.after,
            cursor.end,
            parsed.limit,
            selection.min_version,
            selection.max_version,
        )
        end = cursor.end
    else:
        docs, count = state.store.query(
            resource,
            selection.filters,
            parsed.offset,
            parsed.limit,
            selection.min_version,
            selection.max_version,
            want_total=parsed.total,
        )
        end = None
        if parsed.total:
            headers.append((b"total-count", str(count).encode()))
    if docs:
        following = paging.Cursor(docs[-1].seq, end, bounded).encode()
        headers.append((b"next-page-token", following.encode()))
    return Reply(200, _array(state, docs), JSON, headers)


def _array(state: SandboxState, docs: list[Document]) -> bytes:
    render = state.store.render
    return b"[" + b",".join(render(d) for d in docs) + b"]"


def partitions(state: SandboxState, req: Request, token: Token, resource: ResourceSchema) -> Reply:
    """`GET /data/{ns}/{endpoint}/partitions?number=N`: `{"pageTokens": [...]}`."""
    number = paging.parse_partitions(req.query, state.config.default_partition_count)
    if isinstance(number, list):
        return _parameter_failure(req, number)
    selection = _readable_selection(state, req, token, resource, frozenset({"number"}))
    if isinstance(selection, Reply):
        return selection
    bounded = selection.max_version is not None
    bounds = state.store.partition_bounds(
        resource, selection.filters, number, selection.min_version, selection.max_version
    )
    tokens = [paging.Cursor(after, end, bounded).encode() for after, end in bounds]
    return json_reply(200, {"pageTokens": tokens})
