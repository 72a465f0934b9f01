"""The client credentials file `dmsload setup` writes: JSON, mode 0600, written atomically."""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import SecretStr

_log = logging.getLogger("dmsload")


class CredentialsError(Exception):
    """A credentials file that is missing, unreadable or not the shape `setup` writes."""


@dataclass(frozen=True)
class ClientCredentials:
    """A DMS client key and secret; the secret never shows in repr or str."""

    key: str
    secret: SecretStr

    @classmethod
    def of(cls, key: str, secret: str) -> ClientCredentials:
        """Credentials from a plain key and secret."""
        return cls(key, SecretStr(secret))


def write_credentials(
    path: Path, credentials: ClientCredentials, extra: dict[str, Any] | None = None
) -> None:
    """Write `{key, secret, **extra}` to `path` with mode 0600 (parent directory 0700).

    The file is created 0600 under a temporary name and renamed over `path`, so no reader ever
    sees a partial file or one with looser permissions.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    document = {
        **(extra or {}),
        "key": credentials.key,
        "secret": credentials.secret.get_secret_value(),
    }
    data = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)  # O_CREAT's mode does not apply to a leftover temp file
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def load_credentials_file(path: Path) -> tuple[ClientCredentials, dict[str, Any]]:
    """The credentials in `path` and the other fields `setup` stored beside them."""
    try:
        raw = path.read_bytes()
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise CredentialsError(f"{path}: not found (run `dmsload setup` to create it)") from None
    except OSError as exc:
        raise CredentialsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CredentialsError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise CredentialsError(f"{path}: expected a JSON object with 'key' and 'secret'")
    missing = [
        f for f in ("key", "secret") if not isinstance(document.get(f), str) or not document[f]
    ]
    if missing:
        raise CredentialsError(f"{path}: missing or empty field(s): {', '.join(missing)}")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        _log.warning(
            "%s: mode %o lets other users read the client secret; chmod 600 it",
            path,
            stat.S_IMODE(mode),
        )
    key, secret = document.pop("key"), document.pop("secret")
    return ClientCredentials.of(key, secret), document


def read_credentials(path: Path) -> ClientCredentials:
    """The key and secret stored in `path`; raises CredentialsError with one line."""
    return load_credentials_file(path)[0]
