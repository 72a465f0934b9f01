"""Claim-set authorization: the resources and actions a claim set grants (contract §3.1, §4.3).

A token carries its application's claim set name as `scope`. DMS loads the claim sets from the
Configuration Service, caches them (`ClaimSetsCacheExpirationSeconds`, 600 s) and refreshes them
on `POST /management/reload-claimsets`; each data request must then find a resource claim for
its resource (`http://ed-fi.org/identity/claims/ed-fi/student`) granting its action
(POST Create, GET Read, PUT Update, DELETE Delete, `/deletes` and `/keyChanges` ReadChanges).

The sandbox has no copy of the CMS's embedded Claims.json, so the built-in claim sets grant
every action on every resource until an upload replaces them. An uploaded claims document
(`{"claimSets": [...], "claimsHierarchy": [...]}`) is compiled here: a claim set's actions on a
hierarchy node apply to that node and every claim beneath it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dmsload.sandbox.schema import ApiSchema, ResourceSchema

ACTIONS = ("Create", "Read", "Update", "Delete", "ReadChanges")
ALL_ACTIONS = frozenset(ACTIONS)
CLAIM_PREFIX = "http://ed-fi.org/identity/claims/"


def resource_claim_uri(resource: ResourceSchema) -> str:
    """The resource claim DMS matches a request against, e.g. `.../claims/ed-fi/student`."""
    name = resource.resource_name
    return f"{CLAIM_PREFIX}{resource.project_endpoint}/{name[:1].lower()}{name[1:]}"


@dataclass(frozen=True)
class ClaimSetGrants:
    """What one claim set may do: everything, or actions per resource endpoint."""

    name: str
    full_access: bool = False
    by_endpoint: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def actions(self, resource: ResourceSchema) -> frozenset[str]:
        """The actions granted on a resource (empty when no claim matches it)."""
        if self.full_access:
            return ALL_ACTIONS
        return self.by_endpoint.get(resource.endpoint, frozenset())


@dataclass(frozen=True)
class ClaimsPolicy:
    """Every known claim set by name: the snapshot DMS authorizes data requests against."""

    claim_sets: Mapping[str, ClaimSetGrants]

    def find(self, name: str) -> ClaimSetGrants | None:
        """The claim set with this name, or None when the Configuration Service has none."""
        return self.claim_sets.get(name)


def compile_policy(
    document: Mapping[str, Any] | None,
    built_in: Iterable[str],
    other_names: Iterable[str],
    schema: ApiSchema,
) -> ClaimsPolicy:
    """Build the policy from an uploaded claims document, or from the built-in claim sets.

    `other_names` are claim sets created through `POST /v3/claimSets`: they exist, with no
    resource claims, unless the document grants them something.
    """
    sets: dict[str, ClaimSetGrants] = {name: ClaimSetGrants(name) for name in other_names}
    if document is None:
        for name in built_in:
            sets[name] = ClaimSetGrants(name, full_access=True)
        return ClaimsPolicy(sets)
    by_uri = {resource_claim_uri(r): r.endpoint for r in schema.resources.values()}
    grants: dict[str, dict[str, set[str]]] = {}
    for node in document.get("claimsHierarchy") or []:
        _walk(node, {}, by_uri, grants)
    for entry in document.get("claimSets") or []:
        name = entry["claimSetName"]
        endpoints = grants.get(name, {})
        sets[name] = ClaimSetGrants(
            name, by_endpoint={e: frozenset(a) for e, a in endpoints.items()}
        )
    return ClaimsPolicy(sets)


def _walk(
    node: Mapping[str, Any],
    inherited: Mapping[str, frozenset[str]],
    by_uri: Mapping[str, str],
    grants: dict[str, dict[str, set[str]]],
) -> None:
    """Apply a node's claim-set actions (plus its ancestors') to the node and its children."""
    own = dict(inherited)
    for entry in node.get("claimSets") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        actions = frozenset(
            a["name"] for a in entry.get("actions") or [] if isinstance(a, dict) and "name" in a
        )
        own[entry["name"]] = own.get(entry["name"], frozenset()) | actions
    endpoint = by_uri.get(str(node.get("name", "")))
    if endpoint is not None:
        for claim_set, actions in own.items():
            grants.setdefault(claim_set, {}).setdefault(endpoint, set()).update(actions)
    for child in node.get("claims") or []:
        if isinstance(child, dict):
            _walk(child, own, by_uri, grants)
