"""Configuration Service routes: `/connect/token`, `/v3/...`, claims management."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from dmsload.sandbox.auth import ADMIN_FULL_ACCESS, ADMIN_SCOPES, Token, parse_basic
from dmsload.sandbox.cms import CmsError
from dmsload.sandbox.dms_routes import token_lifetime
from dmsload.sandbox.http import TEXT, Reply, Request, json_reply, problem
from dmsload.sandbox.state import SandboxState

CMS_EXACT = frozenset(
    {"/management/upload-claims", "/management/reload-claims", "/management/current-claims"}
)


def is_cms_path(path: str) -> bool:
    """True for a CMS route without the `/config` prefix."""
    return path.startswith(("/connect/", "/v3/")) or path in CMS_EXACT or path == "/v3"


def route_template(method: str, path: str) -> str:
    """The stats key of a CMS request, ids replaced by `{id}`."""
    parts = path.split("/")
    if len(parts) >= 4 and parts[1] == "v3" and parts[3].isdigit():
        parts[3] = "{id}"
    return f"{method} " + "/".join(parts)


async def _json_body(req: Request) -> Any:
    raw = await req.body() or b""
    try:
        return orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        return None


def _error(req: Request, exc: CmsError) -> Reply:
    kind = {400: "data-validation-failed", 404: "not-found", 409: "conflict"}.get(
        exc.status, "bad-request"
    )
    return problem(
        exc.status, kind, exc.detail, req.correlation_id, exc.validation_errors, exc.errors
    )


def _require_admin(state: SandboxState, req: Request, write: bool) -> Token | Reply:
    token = state.auth.bearer(req.header(b"authorization"))
    if token is None:
        return problem(
            401,
            "unauthorized",
            "The caller could not be authenticated.",
            req.correlation_id,
            headers=[(b"www-authenticate", b"Bearer")],
            title="Unauthorized",
        )
    allowed = (ADMIN_FULL_ACCESS,) if write else ADMIN_SCOPES[:2]
    if not token.is_admin or token.scope not in allowed:
        return problem(
            403,
            "forbidden",
            "The caller is not authorized for this action.",
            req.correlation_id,
            title="Forbidden",
        )
    return token


async def connect_token(state: SandboxState, req: Request) -> Reply:
    """`POST /connect/token`: form `client_id`/`client_secret` (or Basic), `grant_type`, `scope`."""
    raw = await req.body() or b""
    form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode("latin-1")).items()}
    credentials = parse_basic(req.header(b"authorization"))
    key, secret = (
        credentials if credentials else (form.get("client_id", ""), form.get("client_secret", ""))
    )
    if form.get("grant_type") != "client_credentials":
        return problem(
            400,
            "bad-request",
            "The specified 'grant_type' is not supported.",
            req.correlation_id,
            errors=["unsupported_grant_type"],
        )
    client = state.auth.authenticate(key, secret)
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
    requested = form.get("scope", "").split()
    if client.is_admin:
        scope = requested[0] if requested else ADMIN_FULL_ACCESS
        if scope not in ADMIN_SCOPES:
            return problem(
                400,
                "bad-request",
                f"The scope '{scope}' is not allowed for this client.",
                req.correlation_id,
                errors=["invalid_scope"],
            )
    else:
        scope = client.claim_set or ""
    lifetime = token_lifetime(state)
    token = state.auth.issue(client, lifetime, scope)
    return json_reply(
        200, {"access_token": token.value, "expires_in": lifetime, "token_type": "Bearer"}
    )


def info(state: SandboxState, req: Request) -> Reply:
    """`GET /` of the Configuration Service."""
    root = req.root()
    return json_reply(
        200,
        {
            "version": "1.0.0",
            "applicationName": "Ed-Fi Alliance DMS Configuration Service (dmsload sandbox)",
            "informationalVersion": "dmsload sandbox",
            "build": "sandbox",
            "urls": {"openApiMetadata": f"{root}/metadata/specifications"},
        },
    )


def cms_health(state: SandboxState, req: Request) -> Reply:
    """`GET /health` of the Configuration Service: plain text."""
    return Reply(200, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()).encode(), TEXT)


def _paged(req: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    params = dict(req.query)
    try:
        offset = max(0, int(params.get("offset", "0")))
        limit = max(0, int(params.get("limit", "25")))
    except ValueError:
        offset, limit = 0, 25
    return items[offset : offset + limit]


async def v3(state: SandboxState, req: Request, path: str) -> Reply:
    """Every `/v3/...` route."""
    write = req.method in ("POST", "PUT", "DELETE")
    token = _require_admin(state, req, write)
    if isinstance(token, Reply):
        return token
    parts = path.split("/")[2:]
    collection = parts[0] if parts else ""
    item = parts[1] if len(parts) > 1 else None
    cms = state.cms
    tables: dict[str, dict[int, dict[str, Any]]] = {
        "vendors": cms.vendors,
        "dataStores": cms.data_stores,
        "applications": cms.applications,
        "claimSets": cms.claim_sets,
    }
    if len(parts) == 3 and collection == "applications" and parts[2] == "reset-credential":
        return _reset_credential(state, req, item or "")
    table = tables.get(collection)
    if table is None or len(parts) > 2:
        return problem(
            404, "not-found", "The specified data could not be found.", req.correlation_id
        )
    if req.method == "GET":
        if item is None:
            return json_reply(200, _paged(req, list(table.values())))
        if not item.isdigit() or int(item) not in table:
            return problem(
                404,
                "not-found",
                f"{collection[:-1]} {item} not found. It may have been recently deleted.",
                req.correlation_id,
            )
        return json_reply(200, table[int(item)])
    if req.method != "POST" or item is not None:
        return Reply(405, headers=[(b"allow", b"GET, POST")])
    body = await _json_body(req)
    if not isinstance(body, dict):
        return problem(
            400,
            "data-validation-failed",
            "Data validation failed. See 'validationErrors' for details.",
            req.correlation_id,
            {"$": ["The request body must be a JSON object."]},
        )
    handlers: dict[str, Callable[[dict[str, Any]], Awaitable[Reply]]] = {}
    root = req.root()

    async def vendors(b: dict[str, Any]) -> Reply:
        vendor_id, created = cms.add_vendor(b)
        return Reply(
            201 if created else 200,
            headers=[(b"location", f"{root}/v3/vendors/{vendor_id}".encode())],
        )

    async def data_stores(b: dict[str, Any]) -> Reply:
        store_id = cms.add_data_store(b)
        return json_reply(
            201,
            {
                "id": store_id,
                "status": 201,
                "title": f"New Data Store {b.get('name')} has been created successfully.",
            },
            headers=[(b"location", f"{root}/v3/dataStores/{store_id}".encode())],
        )

    async def applications(b: dict[str, Any]) -> Reply:
        created = cms.add_application(b)
        return json_reply(
            201,
            created,
            headers=[(b"location", f"{root}/v3/applications/{created['id']}".encode())],
        )

    async def claim_sets(b: dict[str, Any]) -> Reply:
        claim_id = cms.add_claim_set(b)
        return Reply(201, headers=[(b"location", f"{root}/v3/claimSets/{claim_id}".encode())])

    handlers = {
        "vendors": vendors,
        "dataStores": data_stores,
        "applications": applications,
        "claimSets": claim_sets,
    }
    try:
        return await handlers[collection](body)
    except CmsError as exc:
        return _error(req, exc)


def _reset_credential(state: SandboxState, req: Request, item: str) -> Reply:
    """`PUT /v3/applications/{id}/reset-credential`: mapped only when the CMS's
    `AppSettings:EnableApplicationResetEndpoint` is true (`SandboxConfig.application_reset`)."""
    if not state.config.application_reset:
        return problem(
            404, "not-found", "The specified data could not be found.", req.correlation_id
        )
    if req.method != "PUT":
        return Reply(405, headers=[(b"allow", b"PUT")])
    try:
        if not item.isdigit():
            raise CmsError(404, "Application not found")
        return json_reply(200, state.cms.reset_credential(int(item)))
    except CmsError as exc:
        return _error(req, exc)


async def management(state: SandboxState, req: Request, path: str) -> Reply:
    """`/management/upload-claims`, `/management/reload-claims`, `/management/current-claims`."""
    expected = "GET" if path.endswith("current-claims") else "POST"
    if req.method != expected:
        return Reply(405, headers=[(b"allow", expected.encode())])
    token = _require_admin(state, req, write=expected == "POST")
    if isinstance(token, Reply):
        return token
    if path.endswith("current-claims"):
        return json_reply(
            200,
            state.cms.current_claims(),
            headers=[(b"x-reload-id", state.cms.reload_id.encode())],
        )
    if path.endswith("reload-claims"):
        return json_reply(200, {"success": True, "reloadId": state.cms.reload_claims()})
    body = await _json_body(req)
    try:
        reload_id = state.cms.upload_claims(body)
    except CmsError as exc:
        return _error(req, exc)
    return json_reply(200, {"success": True, "reloadId": reload_id, "errors": None})


async def dispatch(state: SandboxState, req: Request) -> Reply:
    """Route one CMS request (path base already removed)."""
    path, method = req.path, req.method
    if path.startswith("/v3/") or path == "/v3":
        return await v3(state, req, path)
    if path in CMS_EXACT:
        if not state.config.claims_loading:
            return problem(
                404, "not-found", "The specified data could not be found.", req.correlation_id
            )
        return await management(state, req, path)
    if path.startswith("/connect/token"):
        if method != "POST":
            return Reply(405, headers=[(b"allow", b"POST")])
        return await connect_token(state, req)
    if path == "/" and method == "GET":
        return info(state, req)
    if path == "/health" and method == "GET":
        return cms_health(state, req)
    return problem(404, "not-found", "The specified data could not be found.", req.correlation_id)
