"""The state of one sandbox: schema, documents, clients, CMS, faults, stats."""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field

from dmsload.sandbox.auth import AuthStore, Client
from dmsload.sandbox.claims import ClaimsPolicy, compile_policy
from dmsload.sandbox.cms import BUILT_IN_CLAIM_SETS, CmsState
from dmsload.sandbox.config import SandboxConfig
from dmsload.sandbox.faults import FaultInjector
from dmsload.sandbox.schema import ApiSchema, load_api_schema
from dmsload.sandbox.stats import Stats
from dmsload.sandbox.store import Store

#: Code values `--seed-descriptors` loads, by descriptor resource name (namespace `uri://ed-fi.org/<name>`).
SEED_DESCRIPTORS: dict[str, tuple[str, ...]] = {
    "GradeLevelDescriptor": (
        "Kindergarten",
        "First grade",
        "Second grade",
        "Third grade",
        "Fourth grade",
        "Fifth grade",
        "Sixth grade",
        "Seventh grade",
        "Eighth grade",
        "Ninth grade",
        "Tenth grade",
        "Eleventh grade",
        "Twelfth grade",
    ),
    "EducationOrganizationCategoryDescriptor": (
        "School",
        "Local Education Agency",
        "State Education Agency",
        "Education Service Center",
        "Other",
    ),
    "StaffClassificationDescriptor": (
        "Teacher",
        "Principal",
        "Assistant Principal",
        "Counselor",
        "Substitute Teacher",
        "Instructional Aide",
        "Superintendent",
        "Other",
    ),
}


@dataclass
class SandboxState:
    """All mutable state of one sandbox app; created per app, never global."""

    config: SandboxConfig
    schema: ApiSchema
    store: Store
    auth: AuthStore
    cms: CmsState
    faults: FaultInjector
    stats: Stats
    control_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    """What `Authorization: Bearer ...` the `/_sandbox/*` control routes require."""
    trace_prefix: str = field(default_factory=lambda: secrets.token_hex(6).upper())
    _trace_counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _claims: ClaimsPolicy | None = None
    _claims_loaded_at: float = 0.0

    @classmethod
    def create(cls, config: SandboxConfig) -> SandboxState:
        """Load the schema (unless given), preseed clients, the data store and descriptors."""
        schema = config.schema or load_api_schema(config.schema_path)
        auth = AuthStore()
        auth.add_client(Client(config.admin_client_id, config.admin_client_secret, is_admin=True))
        auth.add_client(
            Client(
                config.client_key,
                config.client_secret,
                claim_set=config.client_claim_set,
                data_store_ids=(1,),
                namespace_prefixes=("uri://ed-fi.org",),
            )
        )
        state = cls(
            config=config,
            schema=schema,
            store=Store(schema, track_changes=config.track_changes),
            auth=auth,
            cms=CmsState(auth),
            faults=FaultInjector(config.faults),
            stats=Stats(),
        )
        if config.control_token:
            state.control_token = config.control_token
        if config.seed_descriptors:
            state.seed_descriptors()
        state.reload_claim_sets()
        return state

    def claims_policy(self) -> ClaimsPolicy:
        """DMS's cached copy of the claim sets, refreshed once it is `claim_set_cache_s` old."""
        policy = self._claims
        if policy is None or time.monotonic() - self._claims_loaded_at >= (
            self.config.claim_set_cache_s
        ):
            policy = self.reload_claim_sets()
        return policy

    def reload_claim_sets(self) -> ClaimsPolicy:
        """Copy the Configuration Service's claim sets into DMS (`reload-claimsets`)."""
        document, names = self.cms.claims_snapshot()
        policy = compile_policy(document, BUILT_IN_CLAIM_SETS, names, self.schema)
        self._claims, self._claims_loaded_at = policy, time.monotonic()
        return policy

    def next_trace_id(self) -> str:
        """An ASP.NET-style TraceIdentifier, used as `correlationId` when the client sends none."""
        return f"{self.trace_prefix}:{next(self._trace_counter):08X}"

    def seed_descriptors(self) -> int:
        """Insert the SEED_DESCRIPTORS sets the schema has resources for; returns how many."""
        count = 0
        for resource in self.schema.resources.values():
            for code in (
                SEED_DESCRIPTORS.get(resource.resource_name, ()) if resource.is_descriptor else ()
            ):
                body = {
                    "namespace": f"uri://ed-fi.org/{resource.resource_name}",
                    "codeValue": code,
                    "shortDescription": code,
                    "description": code,
                }
                outcome = self.store.upsert(resource, body)
                count += outcome.status == 201
        return count
