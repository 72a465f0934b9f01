"""The vocabulary of metrics: kinds, value types, tag sets and the metric error."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

TagSet = tuple[tuple[str, str], ...]
"""A sample's tags, sorted by key: hashable, so it can key a series."""

METRIC_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
"""k6's rule for metric names (letters, digits and _, not starting with a digit)."""


class MetricError(ValueError):
    """A metric used in a way its definition does not allow."""


class MetricKind(StrEnum):
    """k6's four metric types."""

    COUNTER = "counter"
    GAUGE = "gauge"
    RATE = "rate"
    TREND = "trend"


class ValueType(StrEnum):
    """What a metric's values measure (k6's `contains`)."""

    DEFAULT = "default"
    TIME = "time"
    DATA = "data"


GROUP_TAG = "group"
"""k6's `group` tag: the group path of a VU's samples, "" for the root group (dmsload's
workloads have no groups), on every sample a VU records, as k6 tags them."""

SETUP_SCENARIO = "setup"
"""The `scenario` tag of the requests workloads send before the load starts (k6's setup())."""


def is_setup(tags: TagSet) -> bool:
    """Whether a series belongs to the pre-load setup requests."""
    return any(key == "scenario" and value == SETUP_SCENARIO for key, value in tags)


def make_tags(tags: Mapping[str, str]) -> TagSet:
    """The canonical, hashable form of a tag mapping."""
    return tuple(sorted((str(key), str(value)) for key, value in tags.items()))


def tags_match(tags: TagSet, wanted: TagSet) -> bool:
    """True when every wanted tag is present in `tags` with the same value."""
    if not wanted:
        return True
    have = dict(tags)
    return all(have.get(key) == value for key, value in wanted)
