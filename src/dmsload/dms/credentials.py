"""The client credentials file `dmsload setup` writes: JSON, mode 0600, written atomically."""

from __future__ import annotations

import datetime
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import SecretStr

_log = logging.getLogger("dmsload")


WRITTEN_AT = "written_at"
"""The field of the credentials file that says when `setup` wrote it (ISO 8601, UTC)."""
NEW_KEY_GRACE_S = 30.0
"""How long a key may be refused by the token endpoint after its application was created
(contract §13.9): `setup` retries that long, and so does a run that starts within that time
of the file's `written_at`."""


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


def _missing_directories(directory: Path) -> list[Path]:
    """`directory` and its ancestors that do not exist yet, outermost first."""
    missing: list[Path] = []
    while not (directory.exists() or directory.is_symlink()) and directory != directory.parent:
        missing.append(directory)
        directory = directory.parent
    return missing[::-1]


def check_credentials_location(path: Path) -> None:
    """Raise CredentialsError (the reason, one line) unless `write_credentials(path)` can
    create its directory and the file: checked before anything is created on a server."""
    if path.is_dir():
        raise CredentialsError("is a directory")
    directory = path.parent
    missing = _missing_directories(directory)
    existing = missing[0].parent if missing else directory
    if not existing.is_dir():  # `a/file/creds.json`: a regular file (or a dangling link)
        raise CredentialsError(
            f"cannot create directory {directory}: {existing} is not a directory"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        what = f"cannot create directory {missing[0]}" if missing else "cannot write the file"
        raise CredentialsError(f"{what}: {existing} is not writable")


def _make_private_directories(directory: Path) -> None:
    """Create the missing directories of `directory` with mode 0700 (whatever the umask);
    a directory that exists already keeps its mode."""
    for missing in _missing_directories(directory):
        try:
            missing.mkdir(mode=0o700)
        except FileExistsError:
            if missing.is_dir():
                continue  # created meanwhile by someone else: not ours to chmod
            raise
        os.chmod(missing, 0o700)


def write_credentials(
    path: Path, credentials: ClientCredentials, extra: dict[str, Any] | None = None
) -> None:
    """Write `{key, secret, **extra}` to `path` with mode 0600. Directories created for it are
    0700; an existing directory keeps its mode. Raises OSError when it cannot.

    The file is created 0600 under a temporary name and renamed over `path`, so no reader ever
    sees a partial file or one with looser permissions.
    """
    _make_private_directories(path.parent)
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


def load_credentials_file(
    path: Path, *, warn: bool = True
) -> tuple[ClientCredentials, dict[str, Any]]:
    """The credentials in `path` and the other fields `setup` stored beside them; `warn`
    logs a warning when other users may read the file."""
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
    if warn and mode & (stat.S_IRWXG | stat.S_IRWXO):
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


def new_key_grace_s(
    extra: dict[str, Any], now: datetime.datetime | None = None, grace_s: float = NEW_KEY_GRACE_S
) -> float:
    """What is left of the new-key grace for credentials whose file says `written_at` (the
    `extra` fields of `load_credentials_file`): `grace_s` minus the file's age, or 0 when the
    file is older than that, has no (valid) `written_at`, or says it was written in the future."""
    value = extra.get(WRITTEN_AT)
    if not isinstance(value, str):
        return 0.0
    try:
        written = datetime.datetime.fromisoformat(value)
    except ValueError:
        return 0.0
    if written.tzinfo is None:
        written = written.replace(tzinfo=datetime.UTC)
    age = ((now or datetime.datetime.now(datetime.UTC)) - written).total_seconds()
    if age < -1.0:  # `written_at` has whole seconds; a clock that disagrees more: no grace
        return 0.0
    return max(0.0, grace_s - max(age, 0.0))


STALE_AFTER_S = 24 * 3600.0
"""A credentials file older than this may hold a key that was since removed or reset."""


def _age_text(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    return f"{seconds / 3600:.0f} hours"


def stale_credentials_hint(
    path: Path,
    dms_url: str,
    now: datetime.datetime | None = None,
    stale_after_s: float = STALE_AFTER_S,
) -> str | None:
    """Why the key in `path` may be refused, when the file says so: it was written for
    another `dms_url`, or more than `stale_after_s` ago. None when the file looks current
    (or cannot be read)."""
    try:
        _, extra = load_credentials_file(path, warn=False)
    except CredentialsError:
        return None
    written_for = extra.get("dms_url")
    if isinstance(written_for, str) and written_for.rstrip("/") != dms_url.rstrip("/"):
        return (
            f"{path} was written by `dmsload setup` for {written_for}, not {dms_url}: "
            "run `dmsload setup` against this DMS"
        )
    value = extra.get(WRITTEN_AT)
    if not isinstance(value, str):
        return None
    try:
        written = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if written.tzinfo is None:
        written = written.replace(tzinfo=datetime.UTC)
    age = ((now or datetime.datetime.now(datetime.UTC)) - written).total_seconds()
    if age <= stale_after_s:
        return None
    return (
        f"{path} was written {_age_text(age)} ago ({value}); the key may have been removed "
        "or reset since: run `dmsload setup` to refresh it"
    )
