"""`--one-descriptor-per-type`: refuse a document that carries several descriptors of one type.

Some Ed-Fi APIs answer 409 to a school with four grade levels: they accept one value of each
descriptor type per document. This option makes the sandbox one of them, so that a profile's
`[documents.<resource>]` overrides can be tested against such a target.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dmsload.sandbox.jsonpath import values_at
from dmsload.sandbox.schema import ResourceSchema


def repeated_descriptor(
    resource: ResourceSchema, body: Mapping[str, Any]
) -> tuple[str, int] | None:
    """(descriptor type, distinct values) of the first type the body holds several of."""
    seen: dict[str, set[str]] = {}
    for descriptor in resource.descriptor_paths:
        values = seen.setdefault(descriptor.resource_name, set())
        for value in values_at(body, descriptor.path):
            if isinstance(value, str):
                values.add(value.lower())
        if len(values) > 1:
            return descriptor.resource_name, len(values)
    return None
