"""DMS routes: discovery, health, metadata, `/oauth/token`, `/data/...`, reload-claimsets."""

from __future__ import annotations

import re
from typing import Any

import orjson

from dmsload.sandbox import change_queries, queries
from dmsload.sandbox.auth import Token, parse_basic
from dmsload.sandbox.authz import denied
from dmsload.sandbox.descriptor_limit import repeated_descriptor
from dmsload.sandbox.http import (
    JSON,
    Reply,
    Request,
    body_field,
    invalid_token,
    json_reply,
    problem,
)
from dmsload.sandbox.schema import ResourceSchema
from dmsload.sandbox.state import SandboxState
from dmsload.sandbox.store import WriteOutcome

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DATA_METHODS = frozenset({"GET", "POST", "PUT", "DELETE"})
ALLOW_DATA = [(b"allow", b"DELETE, GET, POST, PUT")]
NOT_FOUND_DETAIL = "The specified data could not be found."
VALIDATION_DETAIL = "Data validation failed. See 'validationErrors' for details."
CHANGE_VERSION_PARAMS = frozenset({"minchangeversion", "maxchangeversion"})
VERSION = "1.0.0"


def _location(req: Request, resource: ResourceSchema, doc_id: str) -> tuple[bytes, bytes]:
    return (b"location", f"{req.root()}/data{resource.path}/{doc_id}".encode())


def _etag(value: str) -> tuple[bytes, bytes]:
    return (b"etag", f'"{value}"'.encode())


def not_found(req: Request) -> Reply:
    """The DMS fallback 404 (problem body)."""
    return problem(404, "not-found", NOT_FOUND_DETAIL, req.correlation_id)


# ---- discovery, health, metadata -------------------------------------------------------------
def discovery(state: SandboxState, req: Request) -> Reply:
    """`GET /`: the discovery document; URLs carry the path base only if the request used it."""
    root = req.root()
    schema = state.schema
    return json_reply(
        200,
        {
            "version": VERSION,
            "applicationName": "Ed-Fi Alliance Data Management Service (dmsload sandbox)",
            "informationalVersion": "dmsload sandbox: an in-memory test target, not a DMS",
            "dataModels": [
                {
                    "name": "Ed-Fi" if schema.project_name == "EdFi" else schema.project_name,
                    "version": schema.project_version,
                    "informationalVersion": (
                        f"The {schema.project_name} {schema.project_version} data model"
                    ),
                }
            ],
            "urls": {
                "dependencies": f"{root}/metadata/dependencies",
                "openApiMetadata": f"{root}/metadata/specifications",
                "oauth": f"{root}/oauth/token",
                "tokenInfo": f"{root}/oauth/token_info",
                "dataManagementApi": f"{root}/data",
                "changeQueries": f"{root}/changeQueries/v1/",
                "xsdMetadata": f"{root}/metadata/xsd",
            },
        },
    )


def health(state: SandboxState, req: Request) -> Reply:
    """`GET /health`: `{status, results}` like DMS's health-check module."""
    return json_reply(
        200,
        {
            "status": "Healthy",
            "results": [
                {
                    "name": "ApplicationHealthCheck",
                    "status": "Healthy",
                    "description": "Application is up and running",
                },
                {
                    "name": "DbHealthCheck",
                    "status": "Healthy",
                    "description": "In-memory store (sandbox)",
                },
            ],
        },
    )


def metadata(state: SandboxState, req: Request) -> Reply:
    """`GET /metadata`: links to the metadata documents."""
    root = req.root()
    return json_reply(
        200,
        {
            "dependencies": f"{root}/metadata/dependencies",
            "specifications": f"{root}/metadata/specifications",
            "xsdMetadata": f"{root}/metadata/xsd",
        },
    )


def dependencies(state: SandboxState, req: Request) -> Reply:
    """`GET /metadata/dependencies`: resources in load order."""
    return json_reply(
        200,
        [
            {"resource": resource.path, "order": order, "operations": ["Create", "Update"]}
            for resource, order in state.schema.load_order()
        ],
    )


def specifications(state: SandboxState, req: Request) -> Reply:
    """`GET /metadata/specifications`: the OpenAPI documents served (with `--schema` a spec)."""
    root = f"{req.root()}/metadata/specifications"
    return json_reply(
        200,
        [
            {"name": name.split("-")[0].capitalize(), "endpointUri": f"{root}/{name}", "prefix": ""}
            for name in state.schema.specifications
        ],
    )


def _specification(state: SandboxState, req: Request, name: str) -> Reply:
    content = state.schema.specifications.get(name)
    if content is None:
        return not_found(req)
    return Reply(200, content, JSON)


def resources_spec(state: SandboxState, req: Request) -> Reply:
    """`GET /metadata/specifications/resources-spec.json` (404 unless served from one)."""
    return _specification(state, req, "resources-spec.json")


def descriptors_spec(state: SandboxState, req: Request) -> Reply:
    """`GET /metadata/specifications/descriptors-spec.json` (404 unless served from one)."""
    return _specification(state, req, "descriptors-spec.json")


def reload_claimsets(state: SandboxState, req: Request) -> Reply:
    """`POST /management/reload-claimsets` (enabled, as in `.env.e2e`)."""
    state.reload_claim_sets()
    return json_reply(200, {"message": "Claimsets reloaded successfully"})


# ---- token -----------------------------------------------------------------------------------
def token_lifetime(state: SandboxState) -> int:
    """The lifetime of tokens issued now: the fault override, else the configured one."""
    override = state.faults.settings.token_lifetime_s
    return override if override is not None else state.config.token_lifetime_s


async def oauth_token(state: SandboxState, req: Request) -> Reply:
    """`POST /oauth/token`: HTTP Basic `key:secret` plus `grant_type=client_credentials`."""
    raw = await req.body() or b""
    grant = _grant_type(req, raw)
    credentials = parse_basic(req.header(b"authorization"))
    if credentials is None:
        return problem(400, "bad-request", "Malformed Authorization header", req.correlation_id)
    if grant != "client_credentials":
        return problem(400, "bad-request", "Unsupported grant type", req.correlation_id)
    client = state.auth.authenticate(*credentials)
    if client is None or state.auth.is_new(client, state.faults.settings.new_key_delay_s):
        return problem(
            401,
            "unauthorized",
            "The specified client credentials are invalid.",
            req.correlation_id,
            title="invalid_client",
            headers=[
                (b"www-authenticate", b'Basic realm="dmsload-sandbox", error="invalid_client"')
            ],
        )
    lifetime = token_lifetime(state)
    scope = "edfi_admin_api/full_access" if client.is_admin else (client.claim_set or "")
    token = state.auth.issue(client, lifetime, scope)
    return json_reply(
        200,
        {"access_token": token.value, "expires_in": lifetime, "token_type": "Bearer"},
        headers=[(b"cache-control", b"no-store")],
    )


def _grant_type(req: Request, raw: bytes) -> str | None:
    return body_field(req.header(b"content-type"), raw, "grant_type")


# ---- data ------------------------------------------------------------------------------------
def split_data_path(
    state: SandboxState, rest: str
) -> tuple[ResourceSchema | None, str | None, bool]:
    """Parse `/{ns}/{endpoint}[/{id}]` into (resource, id part, well-formed)."""
    parts = rest.split("/")
    if len(parts) < 3 or len(parts) > 4 or parts[0] != "":
        return None, None, False
    resource = state.schema.find_in(parts[1], parts[2])
    doc_id = parts[3] if len(parts) == 4 else None
    return resource, doc_id, resource is not None


def data_route_template(state: SandboxState, method: str, rest: str) -> str:
    """The stats key of a data request, e.g. `GET /data/ed-fi/students/{id}`."""
    resource, doc_id, ok = split_data_path(state, rest)
    if not ok or resource is None:
        return f"{method} /data/{{unknown}}"
    if doc_id in ("partitions", "deletes", "keyChanges"):
        return f"{method} /data{resource.path}/{doc_id}"
    return f"{method} /data{resource.path}" + ("/{id}" if doc_id is not None else "")


async def data(state: SandboxState, req: Request, rest: str) -> Reply:
    """Everything under `/data`: authentication, path, then the per-method handler."""
    method = req.method
    if method not in DATA_METHODS:
        return problem(
            405,
            "method-not-allowed",
            "The request construction was invalid.",
            req.correlation_id,
            errors=[f"Method {method} is not allowed."],
            headers=ALLOW_DATA,
        )
    token = state.auth.bearer(req.header(b"authorization"))
    if token is None:
        return invalid_token(req)
    if not token.client.data_store_ids:
        return problem(
            403,
            "authorization",
            "No database instances are authorized for this client",
            req.correlation_id,
            errors=["No database instances are authorized for this client"],
        )
    resource, doc_id, ok = split_data_path(state, rest)
    if not ok or resource is None:
        return not_found(req)
    if doc_id == "partitions" and method == "GET":
        return queries.partitions(state, req, token, resource)
    if doc_id is not None and doc_id in ("deletes", "keyChanges") and method == "GET":
        return change_queries.tracked_changes(state, req, token, resource, doc_id)
    if doc_id is not None and not UUID_RE.match(doc_id):
        if method == "POST":
            return _post_with_id(req)
        return problem(
            400,
            "bad-request",
            "The request could not be processed. See 'validationErrors' for details.",
            req.correlation_id,
            validation_errors={"$.id": [f"The value '{doc_id}' is not valid."]},
        )
    if method == "GET":
        if doc_id is None:
            return queries.get_many(state, req, token, resource)
        return denied(state, req, token, resource, "Read") or _get_one(state, req, resource, doc_id)
    if method == "DELETE":
        if doc_id is None:
            return _method_not_allowed(req)
        refusal = denied(state, req, token, resource, "Delete")
        if refusal is not None:
            return refusal
        outcome = state.store.delete(resource, doc_id, req.header(b"if-match"))
        if outcome.status == 204:
            return Reply(204)
        if outcome.status == 404:
            return Reply(404)
        return _failure(req, outcome)
    if method == "POST":
        if doc_id is not None:
            return _post_with_id(req)
        return await _post(state, req, token, resource)
    if doc_id is None:
        return _method_not_allowed(req)
    return await _put(state, req, token, resource, doc_id)


def _method_not_allowed(req: Request) -> Reply:
    return problem(
        405,
        "method-not-allowed",
        "The request construction was invalid.",
        req.correlation_id,
        errors=[f"Method {req.method} is not allowed on this path."],
        headers=ALLOW_DATA,
    )


def _post_with_id(req: Request) -> Reply:
    return _method_not_allowed(req)


def _failure(req: Request, outcome: WriteOutcome) -> Reply:
    assert outcome.problem is not None
    return problem(
        outcome.status,
        outcome.problem,
        outcome.detail,
        req.correlation_id,
        validation_errors=outcome.validation_errors,
        errors=outcome.errors,
    )


def _get_one(state: SandboxState, req: Request, resource: ResourceSchema, doc_id: str) -> Reply:
    doc = state.store.get(resource, doc_id)
    if doc is None:
        return Reply(404)
    etag = _etag(doc.etag)
    if_none_match = req.header(b"if-none-match")
    if if_none_match is not None and any(
        t.strip().removeprefix("W/").strip('"') in (doc.etag, "*") for t in if_none_match.split(",")
    ):
        return Reply(304, headers=[etag])
    return Reply(200, state.store.render(doc), JSON, [etag])


def _content_type_ok(value: str | None) -> bool:
    if value is None or not value.strip():
        return True
    media = value.split(";")[0].strip().lower()
    return media in ("application/json", "text/json") or media.startswith("application/vnd.ed-fi.")


async def _read_document(req: Request, resource: ResourceSchema) -> dict[str, Any] | Reply:
    """Check the content type and parse the JSON object body, or return the failure."""
    if not _content_type_ok(req.header(b"content-type")):
        message = "The value specified in the 'Content-Type' header is not supported by this host."
        return problem(415, "unsupported-media-type", message, req.correlation_id, errors=[message])
    raw = await req.body()
    if not raw.strip():
        return problem(
            400,
            "data-validation-failed",
            "A non-empty request body is required.",
            req.correlation_id,
        )
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return problem(
            400,
            "data-validation-failed",
            VALIDATION_DETAIL,
            req.correlation_id,
            validation_errors={"$": [f"The request body is not valid JSON: {exc}"]},
        )
    if not isinstance(parsed, dict):
        return problem(
            400,
            "data-validation-failed",
            VALIDATION_DETAIL,
            req.correlation_id,
            validation_errors={"$": ["The request body must be a JSON object."]},
        )
    return parsed


def _validate(
    req: Request, resource: ResourceSchema, body: dict[str, Any], one_per_type: bool = False
) -> dict[str, Any] | Reply:
    pruned = resource.prune(body)
    repeated = repeated_descriptor(resource, pruned) if one_per_type else None
    if repeated is not None:
        return problem(
            409,
            "data-conflict",
            f"The document carries {repeated[1]} {repeated[0]} values; this target accepts one "
            "descriptor of each type per document.",
            req.correlation_id,
        )
    errors = resource.validation_errors(pruned) or resource.duplicate_item_errors(pruned)
    if errors:
        return problem(
            400,
            "data-validation-failed",
            VALIDATION_DETAIL,
            req.correlation_id,
            validation_errors=errors,
        )
    return pruned


async def _post(state: SandboxState, req: Request, token: Token, resource: ResourceSchema) -> Reply:
    parsed = await _read_document(req, resource)
    if isinstance(parsed, Reply):
        return parsed
    if any(key.lower() == "id" for key in parsed):
        message = (
            "Resource identifiers cannot be assigned by the client. "
            "The 'id' property should not be included in the request body."
        )
        return problem(
            400,
            "data-validation-failed",
            "The request data was constructed incorrectly.",
            req.correlation_id,
            errors=[message],
        )
    body = _validate(req, resource, parsed, state.config.one_descriptor_per_type)
    if isinstance(body, Reply):
        return body
    refusal = denied(state, req, token, resource, "Create")
    if refusal is not None:
        return refusal
    outcome = state.store.upsert(
        resource, body, req.header(b"if-match"), req.header(b"if-none-match")
    )
    if outcome.document is None or outcome.status not in (200, 201):
        return _failure(req, outcome)
    doc = outcome.document
    return Reply(outcome.status, headers=[_location(req, resource, doc.id), _etag(doc.etag)])


async def _put(
    state: SandboxState, req: Request, token: Token, resource: ResourceSchema, doc_id: str
) -> Reply:
    parsed = await _read_document(req, resource)
    if isinstance(parsed, Reply):
        return parsed
    body_id = parsed.get("id")
    if body_id != doc_id:
        return problem(
            400,
            "bad-request",
            "The request could not be processed. See 'errors' for details.",
            req.correlation_id,
            errors=["Request body id must match the id in the url."],
        )
    body = _validate(req, resource, parsed, state.config.one_descriptor_per_type)
    if isinstance(body, Reply):
        return body
    refusal = denied(state, req, token, resource, "Update")
    if refusal is not None:
        return refusal
    outcome = state.store.replace(resource, doc_id, body, req.header(b"if-match"))
    if outcome.status != 204 or outcome.document is None:
        return _failure(req, outcome)
    doc = outcome.document
    return Reply(204, headers=[_etag(doc.etag), _location(req, resource, doc.id)])
