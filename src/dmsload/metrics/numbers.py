"""Numbers as k6 writes them: a whole number is an integer (`268`, not `268.0`).

k6 writes JSON from Go and JavaScript, where a whole float prints without a fraction; a strict
reader (a Go struct field of type `int`) rejects `268.0`. Every export and stream goes through
these helpers.
"""

from __future__ import annotations

from typing import Any

_EXACT = 2**53
"""Beyond this a float no longer holds every integer: such values stay floats."""


def k6_number(value: float) -> int | float:
    """`value` as an int when it is whole (and finite), else unchanged."""
    if value.__class__ is float and value.is_integer() and -_EXACT < value < _EXACT:
        return int(value)
    return value


def k6_numbers(document: Any) -> Any:
    """A copy of a JSON document whose whole floats are ints (dicts and lists walked)."""
    if isinstance(document, float):
        return k6_number(document)
    if isinstance(document, dict):
        return {key: k6_numbers(value) for key, value in document.items()}
    if isinstance(document, list | tuple):
        return [k6_numbers(value) for value in document]
    return document


def k6_text(value: float) -> str:
    """A sample value as text (CSV): whole numbers without a fraction, others exactly."""
    number = k6_number(value)
    return str(number) if number.__class__ is int else repr(number)
