"""`dmsload setup`: prepare a DMS for load tests in ten idempotent steps, one line each."""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from dmsload.dms.auth import AuthError, TokenProvider
from dmsload.dms.cms import CmsClient, application_credentials
from dmsload.dms.credentials import (
    NEW_KEY_GRACE_S,
    WRITTEN_AT,
    ClientCredentials,
    CredentialsError,
    check_credentials_location,
    load_credentials_file,
    write_credentials,
)
from dmsload.dms.data import SEEDED_SCHOOL_BASE
from dmsload.dms.discovery import Endpoints, discover
from dmsload.dms.errors import DmsError, problem_detail, transport_error
from dmsload.dms.resources import REQUIRED_RESOURCES, resource_path
from dmsload.dms.seed import (
    descriptor_documents,
    seeded_schools,
    upsert_documents,
)
from dmsload.http.retry import RetryNotice, retrying_client
from dmsload.settings import ConnectionSettings, SettingsError

FALLBACK_CLAIM_SET = "E2E-NoFurtherAuthRequiredClaimSet"
TOTAL_STEPS = 10
_WIDTH = 46


class SetupUsageError(Exception):
    """Bad input to setup (an unreadable claimset file): exit 2, one line naming it."""


@dataclass(frozen=True)
class Claimset:
    """A claims document to upload and the claim set name the application uses."""

    path: Path
    name: str
    claims: dict[str, Any]


def default_claimset_path() -> Path:
    """`config/performance-test-claimset.json`, from the working directory or the checkout."""
    local = Path("config/performance-test-claimset.json")
    if local.exists():
        return local
    checkout = Path(__file__).resolve().parents[3] / local
    return checkout if checkout.exists() else local


def load_claimset(path: Path) -> Claimset:
    """Read a claimset file (`{"claims": {claimSets, claimsHierarchy}}` or the inner object)."""
    try:
        document = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise SetupUsageError(f"--claimset {path}: cannot read: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise SetupUsageError(f"--claimset {path}: not valid JSON ({exc})") from None
    claims = document.get("claims", document) if isinstance(document, dict) else None
    sets = claims.get("claimSets") if isinstance(claims, dict) else None
    names = [s.get("claimSetName") for s in sets or [] if isinstance(s, dict)]
    if not isinstance(claims, dict) or not names or not isinstance(names[0], str):
        raise SetupUsageError(
            f"--claimset {path}: claims.claimSets[0].claimSetName: missing (got {sets!r:.60})"
        )
    return Claimset(path, names[0], claims)


@dataclass(frozen=True)
class SetupOptions:
    """What `dmsload setup` creates: names, the claimset file, how many schools to seed."""

    claimset: Path | None = None
    """None: `config/performance-test-claimset.json`."""
    vendor: str = "dmsload"
    application: str = "dmsload performance tests"
    seed_schools: int = 0
    namespace_prefixes: str = "uri://ed-fi.org"
    education_organization_ids: tuple[int, ...] = ()
    data_store_connection_string: str | None = None
    """Used only when the CMS has no data store at all."""
    no_cms: bool = False
    """Skip the Configuration Service: the client key and secret are given."""


@dataclass(frozen=True)
class SetupResult:
    """How setup ended; `credentials` and `endpoints` are set when it succeeded."""

    ok: bool
    failed_step: str | None = None
    credentials: ClientCredentials | None = None
    endpoints: Endpoints | None = None


class StepFailed(Exception):
    """A step that cannot succeed; the message is the reason after `FAIL`."""


def step_line(number: int, label: str, outcome: str, total: int = TOTAL_STEPS) -> str:
    """`[ 4/10] upload claimset X ........ ok (...)`."""
    dots = "." * max(3, _WIDTH - len(label))
    return f"[{number:2d}/{total}] {label} {dots} {outcome}"


@dataclass
class _Setup:
    settings: ConnectionSettings
    options: SetupOptions
    client: httpx.AsyncClient
    cms: CmsClient
    claimset: Claimset | None = None
    claimset_error: str | None = None
    vendor_id: int = 0
    data_store_id: int = 0
    claim_set_name: str = FALLBACK_CLAIM_SET
    uploaded: bool = False
    reloaded: bool = True
    application: dict[str, Any] = field(default_factory=dict)
    credentials: ClientCredentials | None = None
    endpoints: Endpoints | None = None
    tokens: TokenProvider | None = None

    async def discovered(self) -> Endpoints:
        if self.endpoints is None:
            self.endpoints = await discover(self.settings, self.client)
        return self.endpoints

    def provider(self, credentials: ClientCredentials, grace_s: float) -> TokenProvider:
        assert self.endpoints is not None
        return TokenProvider(
            self.endpoints.token_url,
            credentials,
            client=self.client,
            auth_style=self.settings.auth_style,
            new_key_grace_s=grace_s,
        )

    # ---- the steps -------------------------------------------------------------------------
    async def cms_token(self) -> str:
        settings = self.settings
        await self.cms.login(ClientCredentials(settings.cms_client_id, settings.cms_client_secret))
        return f"ok (client {settings.cms_client_id})"

    async def vendor(self) -> str:
        company = self.options.vendor
        for vendor in await self.cms.list_all("vendors"):
            if vendor.get("company") == company and isinstance(vendor.get("id"), int):
                self.vendor_id = vendor["id"]
                return f"ok (reused vendor {self.vendor_id})"
        self.vendor_id, _ = await self.cms.create(
            "vendors",
            {
                "company": company,
                "contactName": "dmsload",
                "contactEmailAddress": "dmsload@example.com",
                "namespacePrefixes": self.options.namespace_prefixes,
            },
        )
        return f"ok (created vendor {self.vendor_id})"

    async def data_store(self) -> str:
        stores = [s for s in await self.cms.list_all("dataStores") if isinstance(s.get("id"), int)]
        if stores:
            self.data_store_id = stores[0]["id"]
            return f"ok (data store {self.data_store_id} {stores[0].get('name', '')!r})"
        connection = self.options.data_store_connection_string
        if not connection:
            raise StepFailed(
                "the CMS has no data store; register one (configure-local-data-store.ps1) "
                "or pass --data-store-connection-string"
            )
        self.data_store_id, _ = await self.cms.create(
            "dataStores",
            {"dataStoreType": "postgresql", "name": "dmsload", "connectionString": connection},
        )
        return f"ok (created data store {self.data_store_id})"

    async def upload_claimset(self) -> str:
        if self.claimset is None:
            raise StepFailed(self.claimset_error or "no claimset")
        claimset = self.claimset
        current = await self.cms.current_claims()
        if current is not None and current == claimset.claims:
            self.claim_set_name, self.uploaded = claimset.name, True
            return "ok (already current on the CMS)"
        if not await self.cms.upload_claims(claimset.claims):
            self.claim_set_name = FALLBACK_CLAIM_SET
            return (
                "ok (claims loading is disabled on the CMS (404): "
                f"using the built-in {FALLBACK_CLAIM_SET})"
            )
        self.claim_set_name, self.uploaded = claimset.name, True
        count = len(claimset.claims.get("claimSets") or [])
        return f"ok (replaced the CMS claims with {count} claim set{'s' * (count != 1)})"

    async def application_step(self) -> str:
        name = self.options.application
        apps = [
            a
            for a in await self.cms.list_all("applications")
            if a.get("vendorId") == self.vendor_id and isinstance(a.get("id"), int)
        ]
        stored = self._stored_credentials()
        if stored is not None:
            credentials, extra = stored
            saved = next((a for a in apps if a["id"] == extra.get("application_id")), None)
            if saved is not None and await self._key_works(credentials):
                self.application, self.credentials = saved, credentials
                note = ""
                if saved.get("claimSetName") != self.claim_set_name:
                    note = f"; it keeps claim set {saved.get('claimSetName')}"
                return f"ok (reused application {saved['id']}{note})"
        named = next((a for a in apps if a.get("applicationName") == name), None)
        if named is not None:
            reset = await self.cms.reset_credential(named["id"])
            if reset is not None:
                self.application, self.credentials = named, reset
                return f"ok (reset the credentials of application {named['id']})"
            taken = {a.get("applicationName") for a in apps}
            name = next(f"{name} ({n})" for n in range(2, 10_000) if f"{name} ({n})" not in taken)
        app_id, document = await self.cms.create(
            "applications",
            {
                "applicationName": name,
                "vendorId": self.vendor_id,
                "claimSetName": self.claim_set_name,
                "educationOrganizationIds": list(self.options.education_organization_ids),
                "dataStoreIds": [self.data_store_id],
                "profileIds": [],
            },
        )
        self.credentials = application_credentials(document)
        self.application = {"id": app_id, "applicationName": name}
        if named is not None:
            return (
                f"ok (created application {app_id} {name!r}: the saved credentials of "
                f"{named['applicationName']!r} are missing and the CMS cannot reset them)"
            )
        return f"ok (created application {app_id})"

    def _stored_credentials(self) -> tuple[ClientCredentials, dict[str, Any]] | None:
        try:
            return load_credentials_file(self.settings.credentials_file)
        except CredentialsError:
            return None

    async def _key_works(self, credentials: ClientCredentials) -> bool:
        await self.discovered()
        try:
            await self.provider(credentials, grace_s=0).token()
        except AuthError as exc:
            if exc.status == 0:
                raise
            return False
        return True

    async def save_credentials(self) -> str:
        assert self.credentials is not None
        path = self.settings.credentials_file
        try:
            check_credentials_location(path)
            write_credentials(
                path,
                self.credentials,
                {
                    "dms_url": self.settings.dms_url,
                    "cms_url": self.settings.cms_url,
                    "vendor_id": self.vendor_id,
                    "application_id": self.application.get("id"),
                    "application_name": self.application.get("applicationName"),
                    "claim_set": self.application.get("claimSetName", self.claim_set_name),
                    WRITTEN_AT: datetime.datetime.now(datetime.UTC).isoformat(
                        timespec="milliseconds"
                    ),
                },
            )
        except CredentialsError as exc:
            raise StepFailed(f"cannot write {path}: {exc}") from None
        except OSError as exc:  # a race with the check, a full disk, ...
            reason = exc.strerror or str(exc) or "an operating-system error"
            where = exc.filename and Path(exc.filename)
            named = f" ({where})" if where and where in path.parents else ""
            raise StepFailed(f"cannot write {path}: {reason}{named}") from None
        await self.discovered()
        self.tokens = self.provider(self.credentials, grace_s=NEW_KEY_GRACE_S)
        await self.tokens.token()
        return f"ok ({path}, mode 0600; the key gets a token)"

    async def reload_claimsets(self) -> str:
        if not self.uploaded:
            return "ok (skipped: no claimset was uploaded)"
        url = f"{self.settings.dms_url}/management/reload-claimsets"
        try:
            response = await self.client.post(url)
        except httpx.HTTPError as exc:
            raise StepFailed(transport_error(url, exc)) from None
        if response.status_code == 404:
            self.reloaded = False
            return (
                "warn (not enabled on this DMS (404): it picks the change up within its 600 s "
                "claim-set cache; DMS_ENABLE_CLAIMSET_RELOAD=true avoids the wait)"
            )
        if response.status_code != 200:
            raise StepFailed(
                f"POST {url} answered {response.status_code}: {problem_detail(response)}"
            )
        return "ok"

    async def verify_resources(self) -> str:
        endpoints = await self.discovered()
        url = endpoints.dependencies_url
        try:
            response = await self.client.get(url, headers={"accept": "application/json"})
        except httpx.HTTPError as exc:
            raise StepFailed(transport_error(url, exc)) from None
        if response.status_code != 200:
            raise StepFailed(
                f"GET {url} answered {response.status_code}: {problem_detail(response)}"
            )
        try:
            listed = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            listed = None
        if not isinstance(listed, list):
            raise StepFailed(f"GET {url} did not answer a JSON array")
        served = {str(i.get("resource", "")).lower() for i in listed if isinstance(i, dict)}
        missing = [
            resource_path(r) for r in REQUIRED_RESOURCES if resource_path(r).lower() not in served
        ]
        if missing:
            raise StepFailed(
                f"not served by this DMS: {', '.join(missing)} (DMS v8 loads its schema at "
                "startup; restart it with a schema that has them)"
            )
        models = endpoints.document.get("dataModels") or []
        named = ", ".join(
            f"{m.get('name')} {m.get('version')}" for m in models if isinstance(m, dict)
        )
        return f"ok ({len(REQUIRED_RESOURCES)} resources served; {named or 'no dataModels'})"

    async def _upsert(self, documents: list[tuple[str, dict[str, Any]]]) -> tuple[int, int]:
        assert self.tokens is not None and self.endpoints is not None
        try:
            counts = await upsert_documents(
                self.client, self.endpoints.data_api_url, self.tokens, documents
            )
        except DmsError as exc:
            hint = ""
            if " 403" in str(exc) and not self.reloaded:
                hint = " (the DMS has not reloaded its claim sets yet: see step 7)"
            raise StepFailed(f"{exc}{hint}") from None
        return counts.created, counts.existing

    async def seed_descriptors(self) -> str:
        created, existing = await self._upsert(
            descriptor_documents(self.settings.descriptor_namespace)
        )
        return f"ok ({created} created, {existing} existing)"

    async def seed_schools(self) -> str:
        count = self.options.seed_schools
        if count <= 0:
            return "ok (skipped: --seed-schools 0)"
        created, existing = await self._upsert(
            seeded_schools(count, self.settings.descriptor_namespace)
        )
        last = SEEDED_SCHOOL_BASE + count - 1
        return f"ok ({created} created, {existing} existing: schoolId {SEEDED_SCHOOL_BASE}..{last})"

    async def client_token(self) -> str:
        """Without a CMS: the given client key must get a token."""
        try:
            credentials, _ = self.settings.resolve_client_credentials()
        except SettingsError as exc:
            raise StepFailed(str(exc)) from None
        await self.discovered()
        self.credentials = credentials
        self.tokens = self.provider(credentials, grace_s=0)
        try:
            await self.tokens.token()
        except AuthError as exc:
            raise StepFailed(str(exc)) from None
        return f"ok (client {credentials.key}; no CMS steps: the key is given)"

    def plan(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        if self.options.no_cms:
            return [
                ("get a token for the client key", self.client_token),
                ("verify resources served", self.verify_resources),
                ("seed descriptors", self.seed_descriptors),
                (f"seed {self.options.seed_schools} schools", self.seed_schools),
            ]
        claimset = self.claimset.name if self.claimset else str(self.options.claimset or "")
        return [
            ("get CMS admin token", self.cms_token),
            (f"vendor {self.options.vendor!r}", self.vendor),
            ("data store", self.data_store),
            (f"upload claimset {claimset}", self.upload_claimset),
            (f"application {self.options.application!r}", self.application_step),
            ("save credentials", self.save_credentials),
            ("reload DMS claim sets", self.reload_claimsets),
            ("verify resources served", self.verify_resources),
            ("seed descriptors", self.seed_descriptors),
            (f"seed {self.options.seed_schools} schools", self.seed_schools),
        ]


async def run_setup(
    settings: ConnectionSettings,
    options: SetupOptions,
    echo: Callable[[str], None],
    notice: RetryNotice | None = None,
) -> SetupResult:
    """Run the ten steps, echoing one line each; stop at the first failure. Transient
    failures are retried (SETUP_RETRY); `notice` is told each retry (`-v`)."""
    async with retrying_client(
        verify=settings.verify_tls, timeout=settings.request_timeout_s, notice=notice
    ) as client:
        setup = _Setup(settings, options, client, CmsClient(settings.cms_url, client))
        try:
            setup.claimset = load_claimset(options.claimset or default_claimset_path())
        except SetupUsageError as exc:
            setup.claimset_error = str(exc)
        plan = setup.plan()
        if options.no_cms:
            echo(
                "no CMS admin client: skipping the Configuration Service steps (vendor, "
                "claimset, application, credentials); using the given client key"
            )
        try:
            for number, (label, step) in enumerate(plan, 1):
                try:
                    outcome = await step()
                except (DmsError, StepFailed) as exc:
                    echo(step_line(number, label, f"FAIL {exc}", len(plan)))
                    failed = f"[{number}/{len(plan)}] {label}"
                    echo(f"setup failed at step {failed}")
                    return SetupResult(False, failed, setup.credentials, setup.endpoints)
                echo(step_line(number, label, outcome, len(plan)))
        finally:
            if setup.tokens is not None:
                await setup.tokens.aclose()
        if options.no_cms:
            echo("setup ok; runs use the client key from the settings (DMSLOAD_CLIENT_KEY)")
        else:
            echo(f"setup ok; client credentials saved to {settings.credentials_file}")
        return SetupResult(True, None, setup.credentials, setup.endpoints)
