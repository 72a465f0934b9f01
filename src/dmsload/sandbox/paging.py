"""Paging parameters of GET-many and `/partitions`, and the opaque cursor tokens (contract §7).

Traditional paging is `limit`/`offset`/`totalCount`; cursor paging is `pageToken`/`pageSize`
with `Next-Page-Token` response headers, and the two cannot be mixed. A token names a position
in insert order (the sequence number of the last document returned), plus, for a partition,
the last position of that partition; it also records whether the walk had a
`maxChangeVersion`, since DMS refuses a token replayed with that bound added or dropped.
Parameter names are case-sensitive.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

#: Parameters that steer paging of a GET-many request (not filters).
COLLECTION_PARAMS = frozenset({"limit", "offset", "totalCount", "pageToken", "pageSize"})
#: The `/partitions` range of `number` (fixed in DMS, not configurable).
MAX_PARTITIONS = 200
INVALID_TOKEN = "The pageToken is not valid. Restart the walk without it."


@dataclass(frozen=True)
class Cursor:
    """A position: after sequence number `after`, up to `end` (inclusive; None: no end)."""

    after: int
    end: int | None
    bounded: bool

    def encode(self) -> str:
        """The opaque token text (URL-safe base64 without padding)."""
        raw = orjson.dumps([1, self.after, self.end, self.bounded])
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(text: str) -> Cursor | None:
    """The cursor a token names, or None when it is not one this server issued."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        version, after, end, bounded = orjson.loads(raw)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        return None
    valid = (
        version == 1
        and type(after) is int
        and after >= 0
        and (end is None or (type(end) is int and end >= after))
        and type(bounded) is bool
    )
    return Cursor(after, end, bounded) if valid else None


@dataclass(frozen=True)
class Paging:
    """Validated paging of one GET-many request."""

    limit: int
    offset: int = 0
    total: bool = False
    cursor: Cursor | None = None


def parse_int(text: str) -> int | None:
    """An integer parameter (surrounding blanks allowed), or None."""
    try:
        return int(text.strip())
    except ValueError:
        return None


def parse_bool(text: str) -> bool | None:
    """`true`/`false` in any case (surrounding blanks allowed), or None."""
    low = text.strip().lower()
    return True if low == "true" else False if low == "false" else None


def parse_collection(params: Sequence[tuple[str, str]], max_page: int) -> Paging | list[str]:
    """The paging of a GET-many request, or the parameter-validation errors."""
    given = {name: value for name, value in params if name in COLLECTION_PARAMS}
    errors: list[str] = []
    limit, offset, total = max_page, 0, False
    if "offset" in given:
        parsed = parse_int(given["offset"])
        if parsed is None or parsed < 0:
            errors.append("Offset must be a numeric value greater than or equal to 0.")
        else:
            offset = parsed
    if "limit" in given:
        parsed = parse_int(given["limit"])
        if parsed is None or not 0 <= parsed <= max_page:
            errors.append(
                f"Limit must be omitted or set to a numeric value between 0 and {max_page}."
            )
        else:
            limit = parsed
    if "totalCount" in given:
        flag = parse_bool(given["totalCount"])
        if flag is None:
            errors.append("TotalCount must be a boolean value.")
        else:
            total = flag
    if "pageToken" not in given and "pageSize" not in given:
        return errors or Paging(limit, offset, total)
    return errors or _cursor_paging(given, max_page, total)


def _cursor_paging(given: dict[str, str], max_page: int, total: bool) -> Paging | list[str]:
    if "limit" in given or "offset" in given:
        return ["PageToken and PageSize cannot be combined with Limit or Offset."]
    if "pageToken" not in given:
        return ["PageSize can only be used together with PageToken."]
    size = max_page
    if "pageSize" in given:
        parsed = parse_int(given["pageSize"])
        if parsed is None or not 0 <= parsed <= max_page:
            return [f"PageSize must be omitted or set to a numeric value between 0 and {max_page}."]
        size = parsed
    cursor = decode_cursor(given["pageToken"])
    if cursor is None:
        return [INVALID_TOKEN]
    if total:
        return ["TotalCount cannot be combined with PageToken."]
    return Paging(size, cursor=cursor)


def parse_partitions(params: Sequence[tuple[str, str]], default: int) -> int | list[str]:
    """The `number` of a `/partitions` request, or the parameter-validation errors."""
    rejected = sorted({name for name, _ in params if name in COLLECTION_PARAMS})
    if rejected:
        return [f"The parameter '{name}' is not supported on /partitions." for name in rejected]
    values = [value for name, value in params if name == "number"]
    if not values:
        return default
    number = parse_int(values[-1])
    if number is None or not 1 <= number <= MAX_PARTITIONS:
        return [f"Number must be omitted or set to a numeric value between 1 and {MAX_PARTITIONS}."]
    return number
