"""One run's connection to a DMS: discovery, the shared token, and the run's data identity.

Created lazily, once per run, by the first DMS workload that asks for it (in the run's event
loop, before the load starts), and closed when the run ends. Workloads that do not talk to a
DMS (the generic `http` workload) never create it, so they need no credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import httpx

from dmsload.dms.data import RunData
from dmsload.dms.overrides import Overrides
from dmsload.dms.resources import PROJECT_NAMESPACE
from dmsload.http.retry import RetryNotice, retrying_client
from dmsload.metrics import Metric, MetricKind, Registry, ValueType, make_tags
from dmsload.metrics.kinds import SETUP_SCENARIO

if TYPE_CHECKING:
    from dmsload.dms.auth import TokenProvider
    from dmsload.dms.discovery import Endpoints
    from dmsload.openapi.model import ApiModel
    from dmsload.settings import ConnectionSettings

AUTH_TOKEN_DURATION = "auth_token_duration"
AUTH_TOKEN_REQUESTS = "auth_token_requests"
MAX_BLOCK_PROBES = 50
TOKEN_SCENARIO: ContextVar[str] = ContextVar("dmsload_token_scenario", default=SETUP_SCENARIO)
"""The scenario of the task asking for a token (set per VU request): the `scenario` tag of the
`auth_token_*` samples. A background refresh inherits it from the request that started it; the
first token, fetched before the load starts, is `setup`'s."""


class TokenSource(Protocol):
    """The shared bearer token (`dmsload.dms.auth.TokenProvider`)."""

    async def token(self) -> str:
        """The current token, fetched or refreshed when needed."""
        ...

    async def refresh_after_rejection(self, rejected: str) -> str:
        """A 401 `invalid_token` came back for `rejected`: a fresh token (single-flight)."""
        ...


@dataclass
class DmsSession:
    """What every DMS workload of a run shares."""

    data_api_url: str
    tokens: TokenSource
    run: RunData
    discovery: Mapping[str, Any] = field(default_factory=dict)
    notice: RetryNotice | None = None
    """Told about each retry of a seeding request and each failed one (`-v`)."""
    _urls: dict[tuple[str, str | None], str] = field(default_factory=dict, repr=False)

    def url(self, endpoint: str, doc_id: str | None = None) -> str:
        """`{dataApi}/ed-fi/{endpoint}[/{id}]` (`endpoint` may name its project: `tpdm/x`)."""
        key = (endpoint, doc_id)
        url = self._urls.get(key)
        if url is None:
            path = endpoint if "/" in endpoint else f"{PROJECT_NAMESPACE}/{endpoint}"
            url = f"{self.data_api_url.rstrip('/')}/{path}"
            if doc_id is not None:
                url = f"{url}/{doc_id}"
            else:
                self._urls[key] = url  # ids are unbounded; resource URLs are not
        return url


class DmsConnector:
    """Creates the run's `DmsSession` on first use (single-flight) and closes it at the end."""

    def __init__(
        self,
        registry: Registry,
        run: RunData,
        settings: ConnectionSettings | None = None,
        notice: RetryNotice | None = None,
        overrides: Overrides | None = None,
    ) -> None:
        self.registry = registry
        self._notice = notice
        self.overrides = overrides or Overrides()
        """The profile's `[documents.<resource>]` changes to generated documents."""
        self.run = run
        self._settings = settings
        self._session: DmsSession | None = None
        self._lock: anyio.Lock | None = None
        self._client: httpx.AsyncClient | None = None
        self._tokens: TokenProvider | None = None
        self._endpoints: Endpoints | None = None
        self._model: ApiModel | None = None
        self._model_lock: anyio.Lock | None = None
        self._token_duration: Metric = registry.define(
            AUTH_TOKEN_DURATION, MetricKind.TREND, ValueType.TIME
        )
        self._token_requests: Metric = registry.define(AUTH_TOKEN_REQUESTS, MetricKind.COUNTER)

    @property
    def started(self) -> DmsSession | None:
        """The session, if one was created."""
        return self._session

    def _record_token_request(self, duration_ms: float, status: int) -> None:
        tags = make_tags({"status": str(status), "scenario": TOKEN_SCENARIO.get()})
        self.registry.add(self._token_duration, duration_ms, tags)
        self.registry.add(self._token_requests, 1.0, tags)

    async def session(self) -> DmsSession:
        """The run's session: discovery and the first token on the first call."""
        if self._session is not None:
            return self._session
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            if self._session is None:
                self._session = await self._connect()
                if self.overrides:
                    await self._check_overrides()
        return self._session

    async def _check_overrides(self) -> None:
        """Name the `[documents]` resources and fields the target's specification lacks."""
        from dmsload.dms.errors import DmsError
        from dmsload.dms.resources import DATA_RESOURCES

        try:
            model = await self.model()
        except DmsError:  # no specification: only the built-in resources can be checked
            unknown = [n for n in self.overrides.by_resource if n not in DATA_RESOURCES]
            if unknown:
                raise DmsError(
                    f"documents.{unknown[0]}: not a resource dmsload knows, and the target "
                    "serves no specification to look it up in (--resources-spec)"
                ) from None
            return
        problems = self.overrides.problems(model)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise DmsError(f"profile {problems[0]}{more}")

    async def _connect(self) -> DmsSession:
        from dmsload.dms.auth import AuthError, TokenProvider
        from dmsload.dms.credentials import stale_credentials_hint
        from dmsload.dms.discovery import discover
        from dmsload.settings import load_settings

        settings = self._settings = self._settings or load_settings()
        self.run.descriptor_namespace = settings.descriptor_namespace
        # A 401 for a key `setup` wrote moments ago is retried for the rest of its 30 s;
        # any other 401 (a wrong secret) fails the run at once.
        credentials, new_key_grace_s = settings.resolve_client_credentials()
        # a file `setup` wrote for another DMS (or long ago) is no new key of this one
        hint = None
        if not settings.client_key:
            hint = stale_credentials_hint(settings.credentials_file, settings.dms_url)
            if hint is not None:
                new_key_grace_s = 0.0
        self._client = retrying_client(
            verify=settings.verify_tls, timeout=settings.request_timeout_s, notice=self._notice
        )
        endpoints = await discover(settings, self._client)
        self._endpoints = endpoints
        tokens = TokenProvider(
            endpoints.token_url,
            credentials,
            client=self._client,
            auth_style=settings.auth_style,
            on_token_request=self._record_token_request,
            new_key_grace_s=new_key_grace_s,
        )
        self._tokens = tokens
        try:
            await tokens.token()  # fail before the load starts, not in every VU
        except AuthError as exc:
            if hint is None or exc.status not in (400, 401):
                raise
            raise AuthError(f"{exc}; {hint}", exc.status) from None
        if not self.run.pinned:
            await self._claim_school_block(endpoints.data_api_url, tokens)
        return DmsSession(
            data_api_url=endpoints.data_api_url,
            tokens=tokens,
            run=self.run,
            discovery=endpoints.document,
            notice=self._notice,
        )

    async def model(self) -> ApiModel:
        """The target's resources from its OpenAPI specification (read once per run)."""
        if self._model is not None:
            return self._model
        if self._session is None and self._endpoints is None:
            await self.session()
        if self._model_lock is None:
            self._model_lock = anyio.Lock()
        async with self._model_lock:
            if self._model is None:
                from dmsload.dms.specification import load_model

                assert self._client is not None and self._endpoints is not None
                assert self._settings is not None
                self._model = await load_model(self._settings, self._client, self._endpoints)
        return self._model

    async def dependency_order(self) -> dict[str, int]:
        """The target's `GET /metadata/dependencies` order by resource path (lower case)."""
        from dmsload.dms.specification import load_dependency_order

        await self.session()
        assert self._client is not None and self._endpoints is not None
        return await load_dependency_order(self._client, self._endpoints)

    @property
    def descriptor_namespace(self) -> str:
        """The namespace of generated descriptor values (`uri://ed-fi.org`), once connected."""
        return self._settings.descriptor_namespace if self._settings else "uri://ed-fi.org"

    async def _claim_school_block(self, data_api_url: str, tokens: TokenSource) -> None:
        """Skip schoolId blocks whose first id the target already holds, so that this run
        never reuses an earlier run's block (one GET, not in `http_reqs`, like discovery)."""
        assert self._client is not None
        url = f"{data_api_url.rstrip('/')}/{PROJECT_NAMESPACE}/schools"
        for _ in range(MAX_BLOCK_PROBES):
            headers = {"Authorization": f"Bearer {await tokens.token()}"}
            params = {"schoolId": str(self.run.school_block)}
            try:
                response = await self._client.get(url, params=params, headers=headers)
            except httpx.HTTPError:
                return
            if response.status_code != 200 or response.content.strip() in (b"", b"[]"):
                return
            self.run.skip_school_block()

    async def aclose(self) -> None:
        """Stop a background token refresh and close the token client."""
        if self._tokens is not None:
            await self._tokens.aclose()
            self._tokens = None
        if self._client is not None:
            with anyio.CancelScope(shield=True):
                await self._client.aclose()
            self._client = None
