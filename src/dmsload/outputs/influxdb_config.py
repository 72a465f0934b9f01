"""The influxdb output's configuration: the `--out influxdb=URL` argument and the
`DMSLOAD_INFLUXDB_*` (or k6's `K6_INFLUXDB_*`) environment, checked into one `InfluxConfig`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from dmsload.durations import DurationError, parse_duration_ns
from dmsload.manifest import redact_url
from dmsload.outputs.base import OutputError
from dmsload.outputs.line_protocol import FieldKind, parse_tags_as_fields

DEFAULT_DATABASE = "dmsload"
DEFAULT_TAGS_AS_FIELDS = "vu:int,iter:int,url"
"""k6's default (`internal/output/influxdb/config.go`)."""
DEFAULT_PUSH_INTERVAL = "1s"
MIN_PUSH_INTERVAL_NS = 10_000_000


@dataclass(frozen=True)
class InfluxConfig:
    """Where and how to write, from the `--out` argument and the environment."""

    addr: str
    """`scheme://host:port`, without credentials or path."""
    database: str = DEFAULT_DATABASE
    organization: str | None = None
    bucket: str | None = None
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tags_as_fields: Mapping[str, FieldKind] = field(
        default_factory=lambda: parse_tags_as_fields("default", DEFAULT_TAGS_AS_FIELDS)
    )
    push_interval_s: float = 1.0
    insecure: bool = False

    @property
    def v2(self) -> bool:
        """Whether this is InfluxDB 2.x (a bucket was given)."""
        return self.bucket is not None

    @property
    def write_url(self) -> str:
        """The write endpoint."""
        return f"{self.addr}/api/v2/write" if self.v2 else f"{self.addr}/write"

    @property
    def write_params(self) -> dict[str, str]:
        """The write endpoint's query parameters."""
        if self.v2:
            assert self.organization is not None and self.bucket is not None
            return {"org": self.organization, "bucket": self.bucket, "precision": "ns"}
        return {"db": self.database, "precision": "ns"}

    def secrets(self) -> list[str]:
        """What must never be shown."""
        return [s for s in (self.token, self.password) if s]


def safe_label(target: str) -> str:
    """The target with any password in its URL replaced by `***`."""
    try:
        return redact_url(target)
    except ValueError:  # e.g. a bad port
        return re.sub(r"//([^/@:]*):[^/@]*@", r"//\1:***@", target)


def _env(environ: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """(variable, value) of `DMSLOAD_INFLUXDB_<name>`, else of k6's `K6_INFLUXDB_<name>`."""
    for variable in (f"DMSLOAD_INFLUXDB_{name}", f"K6_INFLUXDB_{name}"):
        value = environ.get(variable, "").strip()
        if value:
            return variable, value
    return None


def _require(environ: Mapping[str, str], name: str, because: str) -> str:
    found = _env(environ, name)
    if found is None:
        raise OutputError(
            f"{because} needs DMSLOAD_INFLUXDB_{name} too (or K6_INFLUXDB_{name}): it is not set"
        )
    return found[1]


def _flag(environ: Mapping[str, str], name: str) -> bool:
    found = _env(environ, name)
    if found is None:
        return False
    variable, value = found
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise OutputError(f"{variable}={value}: use true or false")


def parse_config(target: str, environ: Mapping[str, str]) -> InfluxConfig:
    """The configuration of `--out influxdb=TARGET`; OutputError (one line) if bad."""
    shown = f"--out influxdb={safe_label(target)}"
    example = "e.g. influxdb=http://127.0.0.1:8086/dmsload"
    try:
        parts = urlsplit(target)
        _port = parts.port  # a bad port raises here
    except ValueError as exc:
        raise OutputError(f"{shown}: not a URL ({exc}); {example}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutputError(f"{shown}: the URL must start with http:// or https://; {example}")
    if parts.query or parts.fragment:
        raise OutputError(f"{shown}: the URL takes no query or fragment; {example}")
    host = parts.netloc.rpartition("@")[2]
    addr = f"{parts.scheme}://{host}"
    database = unquote(parts.path.strip("/"))
    if "/" in database:
        raise OutputError(f"{shown}: the URL path is one database name; {example}")
    url_user = unquote(parts.username) if parts.username else None
    url_password = unquote(parts.password) if parts.password is not None else None

    push_interval_s = 1.0
    found = _env(environ, "PUSH_INTERVAL")
    if found is not None:
        variable, value = found
        try:
            interval_ns = parse_duration_ns(value)
        except DurationError:
            raise OutputError(
                f"{variable}={value}: not a duration; use e.g. 1s, 500ms or 5s"
            ) from None
        if interval_ns < MIN_PUSH_INTERVAL_NS:
            raise OutputError(f"{variable}={value}: must be at least 10ms")
        push_interval_s = interval_ns / 1e9

    tags_as_fields = parse_tags_as_fields("default", DEFAULT_TAGS_AS_FIELDS)
    for variable in ("DMSLOAD_INFLUXDB_TAGS_AS_FIELDS", "K6_INFLUXDB_TAGS_AS_FIELDS"):
        if variable in environ:
            tags_as_fields = parse_tags_as_fields(variable, environ[variable])
            break

    insecure = _flag(environ, "INSECURE")
    bucket = _env(environ, "BUCKET")
    if bucket is not None:
        variable, bucket_name = bucket
        because = f"{variable}={bucket_name} (InfluxDB v2)"
        organization = _require(environ, "ORGANIZATION", because)
        token = _require(environ, "TOKEN", because)
        if database:
            raise OutputError(
                f"{shown}: with {variable} set (InfluxDB v2) the URL names no database; "
                f"drop /{database}"
            )
        if url_user is not None:
            raise OutputError(
                f"{shown}: InfluxDB v2 authenticates with DMSLOAD_INFLUXDB_TOKEN, "
                "not a user in the URL"
            )
        return InfluxConfig(
            addr=addr,
            organization=organization,
            bucket=bucket_name,
            token=token,
            tags_as_fields=tags_as_fields,
            push_interval_s=push_interval_s,
            insecure=insecure,
        )

    username, password = url_user, url_password
    if username is None:
        user = _env(environ, "USERNAME")
        secret = _env(environ, "PASSWORD")
        username = user[1] if user else None
        password = secret[1] if secret else None
        if password is not None and username is None:
            assert secret is not None
            raise OutputError(
                f"{secret[0]} is set but DMSLOAD_INFLUXDB_USERNAME is not: basic auth needs both"
            )
    return InfluxConfig(
        addr=addr,
        database=database or DEFAULT_DATABASE,
        username=username,
        password=password,
        tags_as_fields=tags_as_fields,
        push_interval_s=push_interval_s,
        insecure=insecure,
    )
