"""An exception that reaches the user, in the user's words: its message, never its class name."""

from __future__ import annotations

from pathlib import Path
from traceback import extract_tb

from dmsload.http.reasons import is_transport_error, transport_reason

_BUGS = (
    ArithmeticError,
    AssertionError,
    AttributeError,
    LookupError,
    NameError,
    NotImplementedError,
    RecursionError,
    TypeError,
)
"""Builtin errors that only a defect in dmsload raises: their message alone means little."""


def describe_exception(exc: BaseException) -> str:
    """What went wrong, in one line: the message of dmsload's own errors, the transport's
    reason for an HTTP failure, or `internal error at FILE:LINE: ...` for a bug."""
    if is_transport_error(exc):
        return transport_reason(exc)
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    if isinstance(exc, _BUGS) or not text:
        detail = f": {text}" if text else ""
        return f"internal error{location(exc)}{detail} (a dmsload bug; please report it)"
    return text


def location(exc: BaseException) -> str:
    """` at file.py:LINE` where the exception was raised, or '' when unknown."""
    frames = extract_tb(exc.__traceback__)
    if not frames:
        return ""
    return f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}"
