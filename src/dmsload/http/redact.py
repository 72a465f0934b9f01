"""Secrets out of text that may be logged: token and secret values in JSON, forms, headers."""

from __future__ import annotations

import re

_SECRET_KEYS = (
    r"access_token|refresh_token|id_token|client_secret|secret|token|password|"
    r"accessToken|clientSecret"
)
# an unterminated value (a body cut short) is masked to the end
_JSON_VALUE = re.compile(rf'("(?:{_SECRET_KEYS})"\s*:\s*)"(?:[^"\\]|\\.)*"?', re.IGNORECASE)
_FORM_VALUE = re.compile(rf"\b((?:{_SECRET_KEYS})=)[^&\s\"',;]+", re.IGNORECASE)
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*)*")
MASK = "***"


def redact(text: str) -> str:
    """`text` with the values of tokens, secrets and credentials replaced by `***`."""
    text = _JSON_VALUE.sub(rf'\1"{MASK}"', text)
    text = _FORM_VALUE.sub(rf"\1{MASK}", text)
    text = _AUTH_SCHEME.sub(rf"\1 {MASK}", text)
    return _JWT.sub(MASK, text)


def body_excerpt(body: bytes, limit: int = 200) -> str:
    """The first `limit` characters of a response body on one line, secrets redacted."""
    if not body:
        return ""
    text = body[: limit * 4].decode("utf-8", "replace")
    return redact(" ".join(text.split()))[:limit]
