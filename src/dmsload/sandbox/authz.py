"""Resource/action authorization of data requests by claim set (contract §5 step 10, §6)."""

from __future__ import annotations

from dmsload.sandbox.auth import Token
from dmsload.sandbox.http import Reply, Request, problem
from dmsload.sandbox.schema import ResourceSchema
from dmsload.sandbox.state import SandboxState

AUTHORIZATION_DETAIL = "Access to the requested data could not be authorized."


def denied(
    state: SandboxState, req: Request, token: Token, resource: ResourceSchema, action: str
) -> Reply | None:
    """Claim-set authorization (§5 step 10): None when the token's claim set grants the action."""
    claim_set = state.claims_policy().find(token.scope)
    if claim_set is None:
        return problem(
            403,
            "authorization",
            AUTHORIZATION_DETAIL,
            req.correlation_id,
            errors=[f"The API client's assigned claim set ('{token.scope}') does not exist."],
        )
    granted = claim_set.actions(resource)
    if action in granted:
        return None
    if not granted:
        # No resource claim matches: DMS answers a bare 403 without errors.
        return problem(403, "authorization", AUTHORIZATION_DETAIL, req.correlation_id)
    return problem(
        403,
        "access-denied-action",
        AUTHORIZATION_DETAIL,
        req.correlation_id,
        errors=[
            f"The API client's assigned claim set (currently '{claim_set.name}') must grant "
            f"permission of the '{action}' action on one of the following resource claims: "
            f"{resource.resource_name}"
        ],
    )
