"""A small client for the DMS Configuration Service (CMS): the calls `dmsload setup` makes."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from dmsload.dms.auth import parse_token, request_token
from dmsload.dms.credentials import ClientCredentials
from dmsload.dms.errors import DmsError, problem_detail, transport_error

ADMIN_SCOPE = "edfi_admin_api/full_access"
_PAGE = 100


class CmsError(DmsError):
    """A CMS request that failed; `status` is the HTTP status (0: no response)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class CmsClient:
    """The Configuration Service at `base_url` (e.g. `http://localhost:8081`), as its admin."""

    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client
        self._token: str | None = None

    async def login(self, credentials: ClientCredentials) -> None:
        """Get an admin token from `/connect/token` (form fields, full-access scope)."""
        url = f"{self.base_url}/connect/token"
        try:
            response = await request_token(self._client, url, credentials, "form", ADMIN_SCOPE)
        except httpx.HTTPError as exc:
            raise CmsError(transport_error(url, exc)) from None
        self._token = parse_token(url, response).value

    async def request(
        self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)
    ) -> httpx.Response:
        """Send one request; CmsError unless the status is in `ok`."""
        url = f"{self.base_url}{path}"
        headers = {"accept": "application/json"}
        if self._token is not None:
            headers["authorization"] = f"Bearer {self._token}"
        content = None
        if body is not None:
            content = orjson.dumps(body)
            headers["content-type"] = "application/json"
        try:
            response = await self._client.request(method, url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise CmsError(transport_error(url, exc)) from None
        if response.status_code not in ok:
            raise CmsError(
                f"{method} {url} answered {response.status_code}: {problem_detail(response)}",
                response.status_code,
            )
        return response

    async def list_all(self, collection: str) -> list[dict[str, Any]]:
        """Every item of `/v3/{collection}`, page by page."""
        items: list[dict[str, Any]] = []
        while True:
            response = await self.request(
                "GET", f"/v3/{collection}?offset={len(items)}&limit={_PAGE}"
            )
            page = _json(response)
            if not isinstance(page, list):
                raise CmsError(f"GET /v3/{collection} did not answer a JSON array")
            items.extend(item for item in page if isinstance(item, dict))
            if len(page) < _PAGE:
                return items

    async def create(self, collection: str, body: dict[str, Any]) -> tuple[int, Any]:
        """POST to `/v3/{collection}`; returns the new id (from `Location` or the body) and body."""
        response = await self.request("POST", f"/v3/{collection}", body, ok=(200, 201))
        document = _json(response) if response.content else None
        if isinstance(document, dict) and isinstance(document.get("id"), int):
            return int(document["id"]), document
        tail = response.headers.get("location", "").rstrip("/").rsplit("/", 1)[-1]
        if not tail.isdigit():
            raise CmsError(f"POST /v3/{collection} answered without an id or a Location")
        return int(tail), document

    async def reset_credential(self, application_id: int) -> ClientCredentials | None:
        """A new secret for an application (the CMS keeps its key); None where the CMS does
        not offer it (`EnableApplicationResetEndpoint` off: 404)."""
        try:
            response = await self.request(
                "PUT", f"/v3/applications/{application_id}/reset-credential"
            )
        except CmsError as exc:
            if exc.status in (404, 405):
                return None
            raise
        return _key_secret(_json(response), "PUT reset-credential")

    async def current_claims(self) -> dict[str, Any] | None:
        """`GET /management/current-claims`; None when claims loading is disabled (404)."""
        try:
            response = await self.request("GET", "/management/current-claims")
        except CmsError as exc:
            if exc.status == 404:
                return None
            raise
        document = _json(response)
        return document if isinstance(document, dict) else None

    async def upload_claims(self, claims: dict[str, Any]) -> bool:
        """Upload `{"claims": claims}`; False when claims loading is disabled (404)."""
        try:
            await self.request("POST", "/management/upload-claims", {"claims": claims})
        except CmsError as exc:
            if exc.status == 404:
                return False
            raise
        return True


def _json(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise CmsError(
            f"{response.request.method} {response.request.url} answered invalid JSON"
        ) from None


def _key_secret(document: Any, what: str) -> ClientCredentials:
    if (
        not isinstance(document, dict)
        or not isinstance(document.get("key"), str)
        or not isinstance(document.get("secret"), str)
    ):
        raise CmsError(f"{what} answered without a key and secret")
    return ClientCredentials.of(document["key"], document["secret"])


def application_credentials(document: Any) -> ClientCredentials:
    """The key and secret of a `POST /v3/applications` answer."""
    return _key_secret(document, "POST /v3/applications")
