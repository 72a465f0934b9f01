"""Connection settings for a DMS and its Configuration Service: flags > env > `.env` > defaults.

Every setting is an env var `DMSLOAD_<NAME>` (e.g. `DMSLOAD_DMS_URL`), a line of a `.env` file,
or a CLI flag passed to `load_settings` as an override.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from dmsload.dms.credentials import (
    ClientCredentials,
    CredentialsError,
    load_credentials_file,
    new_key_grace_s,
)

__all__ = [
    "ClientCredentials",
    "ConnectionSettings",
    "SettingsError",
    "explicit_settings",
    "load_settings",
]

ENV_PREFIX = "DMSLOAD_"
#: The CMS admin secret of the DMS docker-compose stack (`.env.example`, contract §4.1).
COMPOSE_CMS_CLIENT_SECRET = "ValidClientSecret1234567890!Abcd"
_SECRET_FIELDS = frozenset({"client_secret", "cms_client_secret"})


class SettingsError(Exception):
    """A setting that is missing or invalid; the message is one line naming it."""


def env_name(field: str) -> str:
    """`DMSLOAD_DMS_URL` for `dms_url`."""
    return f"{ENV_PREFIX}{field.upper()}"


def _check_url(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an http:// or https:// URL with a host")
    _ = parts.port  # ValueError "Port out of range 0-65535" or "Port could not be cast..."
    return value.rstrip("/")


class ConnectionSettings(BaseSettings):
    """Where the DMS and CMS are, and how to authenticate to them."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    dms_url: str = "http://localhost:8080"
    cms_url: str = "http://localhost:8081"
    data_api_url: str | None = None
    """Overrides discovery's `urls.dataManagementApi`."""
    token_url: str | None = None
    """Overrides discovery's `urls.oauth`."""
    client_key: str | None = None
    client_secret: SecretStr | None = None
    credentials_file: Path = Path(".dmsload/credentials.json")
    cms_client_id: str = "DmsConfigurationService"
    cms_client_secret: SecretStr = SecretStr(COMPOSE_CMS_CLIENT_SECRET)
    auth_style: Literal["basic", "form"] = "basic"
    verify_tls: bool = True
    request_timeout_s: float = 60.0
    resources_spec: str | None = None
    """The target's OpenAPI resource specification (a file or URL), when its metadata has none."""
    descriptor_namespace: str = "uri://ed-fi.org"
    """The namespace of the descriptors generated documents refer to (a state's, an extension's)."""
    spec_cache_dir: Path = Path(".dmsload/specs")
    """Where specifications read from targets are kept, per target URL and data model version."""

    @field_validator("dms_url", "cms_url", "data_api_url", "token_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return _check_url(value)

    @field_validator("descriptor_namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if "://" not in value or "#" in value:
            raise ValueError("expected a URI such as uri://ed-fi.org, without '#'")
        return value

    @field_validator("request_timeout_s")
    @classmethod
    def _timeout(cls, value: float) -> float:
        if not value > 0:
            raise ValueError("must be greater than 0")
        return value

    def client_credentials(self) -> ClientCredentials:
        """The DMS client key and secret: from the settings, else from `credentials_file`."""
        return self.resolve_client_credentials()[0]

    def resolve_client_credentials(self, *, warn: bool = True) -> tuple[ClientCredentials, float]:
        """The client credentials and how long a 401 from the token endpoint is retried for
        them (the rest of `setup`'s new-key grace when `credentials_file` was written less
        than 30 s ago; 0 for a key from the settings). Raises SettingsError with one line
        naming the variable or the file; `warn` warns about a credentials file others can read.
        """
        key, secret = self.client_key, self.client_secret
        if key and secret is not None and secret.get_secret_value():
            return ClientCredentials(key, secret), 0.0
        if key or (secret is not None and secret.get_secret_value()):
            given, missing = (
                ("client_key", "client_secret") if key else ("client_secret", "client_key")
            )
            raise SettingsError(f"{env_name(missing)} is not set ({env_name(given)} is)")
        path = self.credentials_file
        try:
            credentials, extra = load_credentials_file(path, warn=warn)
        except CredentialsError as exc:
            if path.exists() or path.is_symlink():
                raise SettingsError(f"credentials file {exc}") from None
            raise SettingsError(
                f"no client credentials: set {env_name('client_key')} and "
                f"{env_name('client_secret')}, or {exc}"
            ) from None
        return credentials, new_key_grace_s(extra)

    def check_client_credentials(self) -> None:
        """Raise SettingsError (one line naming the variable or the file) unless a run can
        get client credentials: DMSLOAD_CLIENT_KEY and DMSLOAD_CLIENT_SECRET both set, or
        neither and a readable `credentials_file` with a key and a secret. Sends nothing.
        Not for `--sandbox`, whose setup writes its own credentials."""
        self.resolve_client_credentials(warn=False)


class _ExplicitSettings(ConnectionSettings):
    """ConnectionSettings from the values given only: no DMSLOAD_* env, no `.env`."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def explicit_settings(**values: Any) -> ConnectionSettings:
    """Settings from `values` and the defaults alone, ignoring the environment and `.env`:
    for a target dmsload itself knows everything about (the `--sandbox`)."""
    try:
        return _ExplicitSettings(**values)
    except ValidationError as exc:
        raise SettingsError(_describe(exc.errors()[0], values)) from None


def _describe(error: Any, values: dict[str, Any], env_file: Path | None = None) -> str:
    loc = error["loc"]
    field = str(loc[0]) if loc else "settings"
    value = "(hidden)" if field in _SECRET_FIELDS else repr(error.get("input"))
    message = str(error["msg"]).removeprefix("Value error, ")
    if field in values:
        source = "flag"
    elif env_name(field) in os.environ:
        source = env_name(field)
    else:
        source = f"{env_name(field)} in {env_file or '.env'}"
    return f"{field} ({source}): {message} (got {value})"


def load_settings(env_file: Path | None = None, **overrides: object) -> ConnectionSettings:
    """Settings from CLI flags (`overrides`; None = not given) over env, `.env` and defaults.

    `env_file` replaces `.env`; it must exist when given. A bad value raises SettingsError.
    """
    if env_file is not None and not env_file.is_file():
        raise SettingsError(f"--env-file: {env_file}: not found")
    given: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    unknown = sorted(set(given) - set(ConnectionSettings.model_fields))
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
    try:
        return ConnectionSettings(_env_file=env_file or ".env", **given)
    except ValidationError as exc:
        raise SettingsError(_describe(exc.errors()[0], given, env_file)) from None
