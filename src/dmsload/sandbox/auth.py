"""OAuth clients and bearer tokens: who may call, with what scope, until when."""

from __future__ import annotations

import base64
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

#: The CMS admin scope that `dmsload setup` asks for.
ADMIN_FULL_ACCESS = "edfi_admin_api/full_access"
ADMIN_SCOPES = (
    ADMIN_FULL_ACCESS,
    "edfi_admin_api/readonly_access",
    "edfi_admin_api/authMetadata_readonly_access",
)


@dataclass
class Client:
    """A client that can obtain tokens: the CMS admin, or an application's key and secret."""

    key: str
    secret: str
    claim_set: str | None = None
    is_admin: bool = False
    data_store_ids: tuple[int, ...] = ()
    education_organization_ids: tuple[int, ...] = ()
    namespace_prefixes: tuple[str, ...] = ()
    application_id: int | None = None
    #: When the key was created (AuthStore clock); None for the preseeded clients.
    created_at: float | None = None


@dataclass(frozen=True)
class Token:
    """An issued bearer token and what it grants."""

    value: str
    client: Client
    scope: str
    expires_at: float
    lifetime: int

    @property
    def is_admin(self) -> bool:
        """True for a CMS admin token (the cms-client role)."""
        return self.client.is_admin


@dataclass
class AuthStore:
    """Clients by key and live tokens by value; expired tokens are refused and forgotten."""

    clock: Callable[[], float] = time.monotonic
    clients: dict[str, Client] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _issued: int = 0

    def add_client(self, client: Client) -> Client:
        """Register (or replace) a client by key."""
        with self._lock:
            self.clients[client.key] = client
        return client

    def authenticate(self, key: str, secret: str) -> Client | None:
        """The client with this key if the secret matches (constant-time compare)."""
        client = self.clients.get(key)
        if client is None or not secrets.compare_digest(client.secret, secret):
            return None
        return client

    def is_new(self, client: Client, delay_s: float) -> bool:
        """True while a key created by the CMS is younger than `delay_s` seconds."""
        created = client.created_at
        return delay_s > 0 and created is not None and self.clock() - created < delay_s

    def reset_secret(self, key: str) -> str | None:
        """Give a client a new secret (the old one stops working); None if the key is unknown."""
        with self._lock:
            client = self.clients.get(key)
            if client is None:
                return None
            client.secret = secrets.token_urlsafe(24)
            return client.secret

    def issue(self, client: Client, lifetime: int, scope: str) -> Token:
        """Mint an opaque bearer token valid for `lifetime` seconds."""
        now = self.clock()
        token = Token(secrets.token_urlsafe(32), client, scope, now + lifetime, lifetime)
        with self._lock:
            self.tokens[token.value] = token
            self._issued += 1
            if self._issued % 1024 == 0:
                for value in [v for v, t in self.tokens.items() if t.expires_at <= now]:
                    del self.tokens[value]
        return token

    def validate(self, value: str) -> Token | None:
        """The live token with this value, or None if unknown or expired."""
        token = self.tokens.get(value)
        if token is None:
            return None
        if token.expires_at <= self.clock():
            with self._lock:
                self.tokens.pop(value, None)
            return None
        return token

    def bearer(self, authorization: str | None) -> Token | None:
        """Validate an `Authorization: Bearer ...` header value."""
        if not authorization or authorization[:7].lower() != "bearer ":
            return None
        return self.validate(authorization[7:].strip())

    def revoke_all(self) -> None:
        """Forget every token (a test reset)."""
        with self._lock:
            self.tokens.clear()


def parse_basic(authorization: str | None) -> tuple[str, str] | None:
    """Decode `Basic base64(urlencode(key):urlencode(secret))`; None when absent or malformed."""
    if not authorization or authorization[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    key, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return urllib.parse.unquote(key), urllib.parse.unquote(secret)


def basic_header(key: str, secret: str) -> str:
    """Build the Basic header value DMS expects (URL-encode, then base64); handy for clients."""
    raw = f"{urllib.parse.quote(key, safe='')}:{urllib.parse.quote(secret, safe='')}"
    return "Basic " + base64.b64encode(raw.encode()).decode()
