"""The run manifest: what ran, against what, where and when, with secrets removed."""

from __future__ import annotations

import hashlib
import os
import platform
import re
import socket
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from dmsload import __version__

REDACTED = "***"
_SECRET_NAME = re.compile(r"secret|token|password|passwd|pwd|credential|auth|key", re.IGNORECASE)
_SECRET_FLAGS = ("--client-secret", "--cms-client-secret", "--token", "--password")
_DISCOVERY_FIELDS = ("version", "applicationName", "informationalVersion", "dataModels")


_USERINFO_PASSWORD = re.compile(r"(?P<user>//[^/?#@:\s]*):[^/?#@\s]*@")


def redact_url(text: str) -> str:
    """`http://user:pass@host/...` → `http://user:***@host/...`, also inside a longer
    argument (`-oinfluxdb=http://u:p@host/db`); other text unchanged."""
    if "://" not in text or "@" not in text:
        return text
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if parts is not None and parts.scheme and parts.password is not None:
        netloc = f"{parts.username}:{REDACTED}@{parts.hostname}"
        if parts.port is not None:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return _USERINFO_PASSWORD.sub(rf"\g<user>:{REDACTED}@", text)


def _redact_pair(pair: str) -> str:
    key, sep, value = pair.partition("=")
    if sep and _SECRET_NAME.search(key):
        return f"{key}={REDACTED}"
    if sep:
        return f"{key}={redact_url(value)}"
    return redact_url(pair)


def redact_argv(argv: Sequence[str]) -> list[str]:
    """The command line with secret values replaced: `-e KEY=VALUE` where KEY names a secret,
    the values of secret flags, and passwords in URLs."""
    out: list[str] = []
    hide_next = False
    pair_next = False
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        if pair_next:
            out.append(_redact_pair(arg))
            pair_next = False
            continue
        flag, sep, value = arg.partition("=")
        if flag in _SECRET_FLAGS:
            if sep:
                out.append(f"{flag}={REDACTED}")
            else:
                out.append(arg)
                hide_next = True
            continue
        if arg in ("-e", "--env", "--out", "-o"):
            out.append(arg)
            pair_next = True
            continue
        if flag in ("--env", "--out") and sep:
            out.append(f"{flag}={_redact_pair(value)}")
            continue
        if arg[:2] in ("-e", "-o") and len(arg) > 2:  # Click's attached form: -eKEY=VALUE
            out.append(arg[:2] + _redact_pair(arg[2:]))
            continue
        out.append(redact_url(arg))
    return out


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def file_sha256(path: Path) -> str | None:
    """The file's SHA-256, or None if it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def build_manifest(
    *,
    profile_path: str,
    profile_name: str,
    description: str | None,
    time_scale: float,
    started_at: float,
    ended_at: float,
    run_id: str,
    discovery: Mapping[str, Any] | None,
    data_api_url: str | None,
    argv: Sequence[str] | None = None,
    execution_segment: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """The manifest of one run."""
    target: dict[str, Any] | None = None
    if discovery is not None or data_api_url is not None:
        target = {
            "data_api_url": None if data_api_url is None else redact_url(data_api_url),
            "discovery": {
                key: discovery[key] for key in _DISCOVERY_FIELDS if discovery and key in discovery
            },
        }
    return {
        "dmsload_version": __version__,
        "profile": {
            "path": profile_path,
            "sha256": file_sha256(Path(profile_path)),
            "name": profile_name,
            "description": description,
            "time_scale": time_scale,
        },
        "target": target,
        "host": {
            "hostname": socket.gethostname(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "started_at": _iso(started_at),
        "ended_at": _iso(ended_at),
        "run_id": run_id,
        "argv": redact_argv(sys.argv[1:] if argv is None else argv),
        "execution_segment": None if execution_segment is None else dict(execution_segment),
    }
