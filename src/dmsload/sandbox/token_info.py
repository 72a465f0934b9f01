"""`POST /oauth/token_info`: what a bearer token grants (contract §2, discovery `urls.tokenInfo`).

The caller authenticates with `Authorization: Bearer` and names the token to describe in the
body: form `token=...` or JSON `{"token": "..."}`. A live token gets 200 with the ODS/API-style
fields (`active, client_id, exp, namespace_prefixes, education_organizations,
assigned_profiles, claim_set, resources, services`); an unknown or expired one gets 200
`{"active": false}`; a missing `token` gets 400.
"""

from __future__ import annotations

import time
from typing import Any

from dmsload.sandbox.auth import Token
from dmsload.sandbox.claims import ACTIONS
from dmsload.sandbox.http import (
    Reply,
    Request,
    body_field,
    invalid_token,
    json_reply,
    problem,
)
from dmsload.sandbox.state import SandboxState


async def token_info(state: SandboxState, req: Request) -> Reply:
    """Describe the token named in the body; the caller needs a live bearer token itself."""
    if state.auth.bearer(req.header(b"authorization")) is None:
        return invalid_token(req)
    value = _requested_token(req, await req.body() or b"")
    if not value:
        return problem(
            400,
            "bad-request",
            "The request could not be processed. See 'errors' for details.",
            req.correlation_id,
            errors=["The 'token' parameter is required."],
        )
    token = state.auth.validate(value)
    if token is None:
        return json_reply(200, {"active": False})
    return json_reply(200, describe(state, token))


def _requested_token(req: Request, raw: bytes) -> str | None:
    value = body_field(req.header(b"content-type"), raw, "token")
    return value.strip() if value is not None else None


def describe(state: SandboxState, token: Token) -> dict[str, Any]:
    """The token-info body of a live token."""
    client = token.client
    remaining = token.expires_at - state.auth.clock()
    return {
        "active": True,
        "client_id": client.key,
        "exp": int(time.time() + remaining),
        "namespace_prefixes": list(client.namespace_prefixes),
        "education_organizations": [
            _education_organization(state, edorg) for edorg in client.education_organization_ids
        ],
        "assigned_profiles": [],
        "claim_set": {"name": token.scope},
        "resources": _resources(state, token.scope),
        "services": [],
    }


def _education_organization(state: SandboxState, edorg_id: int) -> dict[str, Any]:
    """The id from the token, with name and type when the document exists (a School here)."""
    doc = state.store.find_by_key("EducationOrganization", (edorg_id,))
    return {
        "education_organization_id": edorg_id,
        "name_of_institution": doc.body.get("nameOfInstitution") if doc else None,
        "type": f"edfi.{doc.resource.resource_name}" if doc else None,
        "local_education_agency_id": None,
        "education_service_center_id": None,
    }


def _resources(state: SandboxState, claim_set_name: str) -> list[dict[str, Any]]:
    """Every resource the claim set grants something on, with its actions in CRUD order."""
    claim_set = state.claims_policy().find(claim_set_name)
    if claim_set is None:
        return []
    out = []
    for resource in state.schema.resources.values():
        granted = claim_set.actions(resource)
        if granted:
            out.append(
                {"resource": resource.path, "operations": [a for a in ACTIONS if a in granted]}
            )
    return out
