"""Errors talking to a DMS or its Configuration Service: one line, never a secret."""

from __future__ import annotations

import httpx
import orjson

from dmsload.http.reasons import transport_reason


class DmsError(Exception):
    """A DMS or CMS request that failed; the message is one line for the user."""


def problem_detail(response: httpx.Response) -> str:
    """The most useful one-line reason in an error response (problem details or OAuth error)."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        text = response.text.strip().splitlines()
        return text[0][:200] if text else response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:200]
    parts = [
        str(body[name])
        for name in ("detail", "error_description", "error", "title")
        if isinstance(body.get(name), str) and body[name]
    ]
    reason = parts[0] if parts else response.reason_phrase
    errors = body.get("validationErrors")
    if isinstance(errors, dict) and errors:
        reason += " " + "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in errors.items())
    return reason


def transport_error(url: str, exc: httpx.HTTPError) -> str:
    """`cannot reach http://x/: connection refused`, in words (no exception class names)."""
    return f"cannot reach {url}: {transport_reason(exc)}"
