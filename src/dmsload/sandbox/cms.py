"""Configuration Service state: vendors, data stores, applications and claim sets."""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from dmsload.sandbox.auth import AuthStore, Client

#: Claim sets a DMS Configuration Service ships with (`Claims/Standards/ds52/Claims.json`).
BUILT_IN_CLAIM_SETS = (
    "AB Connect",
    "ApplicationSandbox",
    "Assessment Vendor",
    "Assessment Read",
    "BootstrapDescriptorsandEdOrgs",
    "District Hosted SIS Vendor",
    "E2E-NameSpaceBasedClaimSet",
    "E2E-NoFurtherAuthRequiredClaimSet",
    "E2E-RelationshipsWithEdOrgsOnlyClaimSet",
    "Ed-Fi Sandbox",
    "EdFiSandbox",
    "Education Preparation Program",
    "Finance Vendor",
    "SISVendor",
    "SeedLoader",
)


class CmsError(Exception):
    """A CMS request that cannot be honoured; carries the status and the problem details."""

    def __init__(
        self,
        status: int,
        detail: str,
        validation_errors: dict[str, list[str]] | None = None,
        errors: list[str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.validation_errors = validation_errors or {}
        self.errors = errors or []


def _text(
    body: dict[str, Any], name: str, problems: dict[str, list[str]], required: bool = True
) -> str:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.setdefault(f"$.{name}", []).append(
                f"'{name[0].upper()}{name[1:]}' must not be empty."
            )
        return ""
    if not isinstance(value, str):
        problems.setdefault(f"$.{name}", []).append(f"'{name}' must be a string.")
        return ""
    return value


def _ints(body: dict[str, Any], name: str, problems: dict[str, list[str]]) -> list[int]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        problems.setdefault(f"$.{name}", []).append(f"'{name}' must be an array of integers.")
        return []
    return list(value)


@dataclass
class CmsState:
    """Everything the sandbox's Configuration Service remembers."""

    auth: AuthStore
    vendors: dict[int, dict[str, Any]] = field(default_factory=dict)
    data_stores: dict[int, dict[str, Any]] = field(default_factory=dict)
    applications: dict[int, dict[str, Any]] = field(default_factory=dict)
    claim_sets: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: The client key of each application, by application id.
    application_keys: dict[int, str] = field(default_factory=dict)
    uploaded_claims: dict[str, Any] | None = None
    reload_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for name in BUILT_IN_CLAIM_SETS:
            self._add_claim_set(name, system=True)
        self.add_data_store(
            {
                "dataStoreType": "postgresql",
                "name": "Sandbox Data Store",
                "connectionString": (
                    "host=sandbox;port=5432;username=sandbox;database=edfi_datamanagementservice;"
                ),
            }
        )

    # ---- vendors ---------------------------------------------------------------------------
    def add_vendor(self, body: dict[str, Any]) -> tuple[int, bool]:
        """Create a vendor, or find the one with the same company; returns (id, created)."""
        problems: dict[str, list[str]] = {}
        company = _text(body, "company", problems)
        contact = _text(body, "contactName", problems, required=False)
        email = _text(body, "contactEmailAddress", problems, required=False)
        prefixes = _text(body, "namespacePrefixes", problems)
        if problems:
            raise CmsError(
                400, "Data validation failed. See 'validationErrors' for details.", problems
            )
        with self._lock:
            for vendor in self.vendors.values():
                if vendor["company"] == company:
                    return vendor["id"], False
            vendor_id = len(self.vendors) + 1
            self.vendors[vendor_id] = {
                "id": vendor_id,
                "company": company,
                "contactName": contact,
                "contactEmailAddress": email,
                "namespacePrefixes": prefixes,
            }
            return vendor_id, True

    # ---- data stores -------------------------------------------------------------------------
    def add_data_store(self, body: dict[str, Any]) -> int:
        """Register a data store (a DMS instance); returns its id."""
        problems: dict[str, list[str]] = {}
        kind = _text(body, "dataStoreType", problems)
        name = _text(body, "name", problems)
        connection = _text(body, "connectionString", problems, required=False)
        if problems:
            raise CmsError(
                400, "Data validation failed. See 'validationErrors' for details.", problems
            )
        with self._lock:
            store_id = len(self.data_stores) + 1
            self.data_stores[store_id] = {
                "id": store_id,
                "dataStoreType": kind,
                "name": name,
                "connectionString": connection,
                "dataStoreContexts": [],
                "dataStoreDerivatives": [],
            }
            return store_id

    # ---- applications ------------------------------------------------------------------------
    def add_application(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create an application and its client credentials; returns `{id, key, secret}`."""
        problems: dict[str, list[str]] = {}
        name = _text(body, "applicationName", problems)
        claim_set = _text(body, "claimSetName", problems)
        vendor_id = body.get("vendorId")
        if not isinstance(vendor_id, int) or isinstance(vendor_id, bool):
            problems.setdefault("$.vendorId", []).append("'Vendor Id' must not be empty.")
        edorgs = _ints(body, "educationOrganizationIds", problems)
        stores = _ints(body, "dataStoreIds", problems)
        profiles = _ints(body, "profileIds", problems)
        if not stores and "$.dataStoreIds" not in problems:
            problems["$.dataStoreIds"] = ["'Data Store Ids' must not be empty."]
        if problems:
            raise CmsError(
                400, "Data validation failed. See 'validationErrors' for details.", problems
            )
        with self._lock:
            if vendor_id not in self.vendors:
                raise CmsError(
                    409, f"Reference 'Vendor' does not exist. Vendor {vendor_id} not found."
                )
            unknown = [s for s in stores if s not in self.data_stores]
            if unknown:
                raise CmsError(
                    409, f"Reference 'DataStore' does not exist. Data stores {unknown} not found."
                )
            if profiles:
                raise CmsError(
                    409, f"Reference 'Profile' does not exist. Profiles {profiles} not found."
                )
            app_id = len(self.applications) + 1
            key = secrets.token_hex(16)
            secret = secrets.token_urlsafe(24)
            vendor = self.vendors[vendor_id]
            self.applications[app_id] = {
                "id": app_id,
                "applicationName": name,
                "vendorId": vendor_id,
                "claimSetName": claim_set,
                "educationOrganizationIds": edorgs,
                "dataStoreIds": stores,
                "profileIds": profiles,
            }
            self.application_keys[app_id] = key
        self.auth.add_client(
            Client(
                key=key,
                secret=secret,
                claim_set=claim_set,
                data_store_ids=tuple(stores),
                education_organization_ids=tuple(edorgs),
                namespace_prefixes=tuple(p.strip() for p in vendor["namespacePrefixes"].split(",")),
                application_id=app_id,
                created_at=self.auth.clock(),
            )
        )
        return {"id": app_id, "key": key, "secret": secret}

    def reset_credential(self, app_id: int) -> dict[str, Any]:
        """`PUT /v3/applications/{id}/reset-credential`: a new secret for the application's key.

        As the CMS does (`ApplicationModule.ResetCredential`), the key stays and only the
        secret changes: the old secret stops working, tokens already issued stay valid.
        """
        with self._lock:
            key = self.application_keys.get(app_id)
        secret = self.auth.reset_secret(key) if key is not None else None
        if key is None or secret is None:
            raise CmsError(404, "Application not found")
        return {"id": app_id, "key": key, "secret": secret}

    # ---- claim sets --------------------------------------------------------------------------
    def _add_claim_set(self, name: str, system: bool) -> int:
        for existing in self.claim_sets.values():
            if existing["name"] == name:
                return int(existing["id"])
        claim_id = len(self.claim_sets) + 1
        self.claim_sets[claim_id] = {"id": claim_id, "name": name, "isSystemReserved": system}
        return claim_id

    def add_claim_set(self, body: dict[str, Any]) -> int:
        """`POST /v3/claimSets` with `{"name"}`; 400 when the name is taken."""
        problems: dict[str, list[str]] = {}
        name = _text(body, "name", problems)
        if problems:
            raise CmsError(
                400, "Data validation failed. See 'validationErrors' for details.", problems
            )
        with self._lock:
            if any(c["name"] == name for c in self.claim_sets.values()):
                raise CmsError(
                    400,
                    "Data validation failed. See 'validationErrors' for details.",
                    {
                        "$.name": [
                            "A claim set with this name already exists in the database. "
                            "Please enter a unique name."
                        ]
                    },
                )
            return self._add_claim_set(name, system=False)

    def upload_claims(self, body: Any) -> str:
        """`POST /management/upload-claims` with `{"claims": {claimSets, claimsHierarchy}}`."""
        problems: dict[str, list[str]] = {}
        claims = body.get("claims") if isinstance(body, dict) else None
        if not isinstance(claims, dict):
            problems["$.claims"] = ['The request body must be wrapped as {"claims": {...}}.']
        else:
            sets = claims.get("claimSets")
            hierarchy = claims.get("claimsHierarchy")
            if not isinstance(sets, list):
                problems["$.claims.claimSets"] = ["claimSets is required and must be an array."]
            else:
                for index, item in enumerate(sets):
                    if (
                        not isinstance(item, dict)
                        or not isinstance(item.get("claimSetName"), str)
                        or not item["claimSetName"].strip()
                    ):
                        problems.setdefault(f"$.claims.claimSets[{index}].claimSetName", []).append(
                            "claimSetName is required."
                        )
            if not isinstance(hierarchy, list):
                problems["$.claims.claimsHierarchy"] = [
                    "claimsHierarchy is required and must be an array."
                ]
        if problems:
            raise CmsError(
                400, "Data validation failed. See 'validationErrors' for details.", problems
            )
        assert isinstance(claims, dict)
        with self._lock:
            # An upload replaces the whole claims document, built-in claim sets included
            # (docs/CLAIMS-LOADING-GUIDE.md: "completely replaces the current claims").
            self.claim_sets = {}
            for item in claims["claimSets"]:
                self._add_claim_set(item["claimSetName"], system=bool(item.get("isSystemReserved")))
            self.uploaded_claims = claims
            self.reload_id = str(uuid.uuid4())
            return self.reload_id

    def reload_claims(self) -> str:
        """`POST /management/reload-claims`: back to the built-in claims, uploads forgotten."""
        with self._lock:
            self.uploaded_claims = None
            self.claim_sets = {}
            for name in BUILT_IN_CLAIM_SETS:
                self._add_claim_set(name, system=True)
            self.reload_id = str(uuid.uuid4())
            return self.reload_id

    def claims_snapshot(self) -> tuple[dict[str, Any] | None, list[str]]:
        """The uploaded claims document (None: the built-in claims) and every claim set name."""
        with self._lock:
            return self.uploaded_claims, [c["name"] for c in self.claim_sets.values()]

    def current_claims(self) -> dict[str, Any]:
        """`GET /management/current-claims`: the uploaded document, or the built-in claim sets."""
        if self.uploaded_claims is not None:
            return self.uploaded_claims
        return {
            "claimSets": [
                {"claimSetName": c["name"], "isSystemReserved": c["isSystemReserved"]}
                for c in self.claim_sets.values()
            ],
            "claimsHierarchy": [],
        }
