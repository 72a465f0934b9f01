"""Documents for any resource of a target's OpenAPI specification.

Required fields only by default (`fill = "all"`: every field). Identity strings and integers
are unique per run, worker, VU and document (from the VU's `DataGenerator`); every other value
is fixed per field name, so that two references that must agree (a CourseOffering's
`schoolReference.schoolId` and `sessionReference.schoolId`) do when they refer to documents
built on one school. Descriptors are full URIs (`uri://ed-fi.org/GradeLevelDescriptor#dmsload`);
references are the reference objects of documents created earlier, given by the caller.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any, Literal

from dmsload.dms.data import DataGenerator, Document
from dmsload.dms.descriptors import ED_FI_NAMESPACE
from dmsload.openapi.model import ApiModel, Prop, Resource, descriptor_path, reference_target

Fill = Literal["required", "all"]
DESCRIPTOR_CODE = "dmsload"
"""The code value of every descriptor a generated document refers to (setup seeds them)."""
SCHOOL_YEAR = 2025
"""The school year of SchoolYearType references (an enumeration, not a resource)."""
_MAX_DEPTH = 6
_START = date(2024, 8, 1)
_END = date(2025, 5, 1)
_END_WORDS = ("end", "exit", "withdraw", "expiration", "completion")


class MissingReference(LookupError):
    """A required reference has no document to refer to (the message names the target)."""


ReferenceLookup = Callable[[str], Mapping[str, Any] | None]
"""The reference object of a document of a resource or abstract name, or None."""


def _stable(name: str, modulo: int) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") % modulo


def fixed_date(name: str) -> str:
    """A date fixed per field name: August–November 2024, or May 2025 for end dates."""
    lower = name.lower()
    if any(word in lower for word in _END_WORDS):
        return (_END + timedelta(days=_stable(name, 28))).isoformat()
    return (_START + timedelta(days=_stable(name, 120))).isoformat()


class DocumentFactory:
    """Builds documents of any resource of an `ApiModel`."""

    def __init__(
        self,
        model: ApiModel,
        *,
        fill: Fill = "required",
        namespace: str = ED_FI_NAMESPACE,
        school_year: int = SCHOOL_YEAR,
    ) -> None:
        self.model = model
        self.fill = fill
        self.namespace = namespace.rstrip("/")
        self.school_year = school_year

    # ---- descriptors -----------------------------------------------------------------------
    def descriptor_uri(self, descriptor_type: str) -> str:
        """`uri://ed-fi.org/GradeLevelDescriptor#dmsload`."""
        return f"{self.namespace}/{descriptor_type}#{DESCRIPTOR_CODE}"

    def descriptor_document(self, descriptor_type: str) -> tuple[str, Document]:
        """(path, body) that creates the descriptor this factory's documents refer to."""
        body = {
            "namespace": f"{self.namespace}/{descriptor_type}",
            "codeValue": DESCRIPTOR_CODE,
            "shortDescription": DESCRIPTOR_CODE,
            "description": f"{DESCRIPTOR_CODE} test value",
        }
        return descriptor_path(self.model.descriptors, descriptor_type), body

    def descriptor_types(self, resource: Resource) -> set[str]:
        """The descriptor types a document of `resource` refers to (references excluded)."""
        found: set[str] = set()
        self._collect(resource.schema, found, 0)
        return found

    def _collect(self, schema: Mapping[str, Any], found: set[str], depth: int) -> None:
        if depth > _MAX_DEPTH:
            return
        for prop in self.model.properties(schema):
            if not self._wanted(prop, depth):
                continue
            if prop.kind == "descriptor":
                found.add(self.model.descriptor_type(prop.name))
            elif (
                prop.kind in ("array", "object")
                and prop.target
                and prop.target in self.model.schemas
            ):
                self._collect(self.model.schemas[prop.target], found, depth + 1)

    # ---- documents -------------------------------------------------------------------------
    def _wanted(self, prop: Prop, depth: int) -> bool:
        return prop.required or (self.fill == "all" and depth < 3)

    def document(
        self, resource: Resource, data: DataGenerator, references: ReferenceLookup
    ) -> Document:
        """A new document of `resource`; raises MissingReference for a required reference."""
        return self._object(resource.schema, data, references, 0, identity=True)

    def _object(
        self,
        schema: Mapping[str, Any],
        data: DataGenerator,
        references: ReferenceLookup,
        depth: int,
        identity: bool = False,
    ) -> Document:
        out: Document = {}
        for prop in self.model.properties(schema):
            if not self._wanted(prop, depth):
                continue
            value = self._value(prop, data, references, depth, identity and prop.is_identity)
            if value is not None:
                out[prop.name] = value
        return out

    def _value(
        self,
        prop: Prop,
        data: DataGenerator,
        references: ReferenceLookup,
        depth: int,
        unique: bool,
    ) -> Any:
        model = self.model
        if prop.kind == "descriptor":
            return self.descriptor_uri(model.descriptor_type(prop.name))
        if prop.kind == "reference":
            target = reference_target(prop.target or "") or ""
            if model.kind_of(target) == "enumeration":
                schema = model.schemas[prop.target or ""]
                return {
                    name: self._scalar(name, field, data, unique=False)
                    for name, field in schema.get("properties", {}).items()
                }
            found = references(target)
            if found is None:
                if prop.required:
                    raise MissingReference(target)
                return None
            return dict(found)
        if prop.kind in ("array", "object"):
            if depth >= _MAX_DEPTH:
                return None
            item_schema = model.schemas.get(prop.target or "")
            if prop.kind == "object":
                if item_schema is None:
                    return None
                return self._object(item_schema, data, references, depth + 1)
            count = max(1, int(prop.schema.get("minItems", 0) or 0))
            if item_schema is not None:
                return [
                    self._object(item_schema, data, references, depth + 1) for _ in range(count)
                ]
            items = prop.schema.get("items", {})
            return [self._scalar(prop.name, items, data, unique=count > 1) for _ in range(count)]
        return self._scalar(prop.name, prop.schema, data, unique)

    def _scalar(
        self, name: str, schema: Mapping[str, Any], data: DataGenerator, unique: bool
    ) -> Any:
        kind = schema.get("type")
        fmt = schema.get("format")
        if kind == "string":
            if fmt == "date":
                return fixed_date(name)
            if fmt == "date-time":
                return f"{fixed_date(name)}T08:00:00Z"
            if fmt == "time":
                return f"{8 + _stable(name, 8):02d}:00:00"
            max_length = int(schema.get("maxLength", 60) or 60)
            min_length = int(schema.get("minLength", 0) or 0)
            text = data.unique_text(max_length) if unique else DESCRIPTOR_CODE[:max_length]
            return text.ljust(min_length, "x")
        if kind == "integer":
            minimum = schema.get("minimum")
            maximum = schema.get("maximum")
            if "schoolyear" in name.lower() and (maximum is None or maximum >= self.school_year):
                return self.school_year
            if unique and maximum is None:
                return data.run.next_school_id()
            low = int(minimum) if minimum is not None else 1
            return low if maximum is None else min(low, int(maximum))
        if kind == "number":
            minimum = schema.get("minimum")
            return minimum if minimum is not None else 1
        if kind == "boolean":
            return False
        return DESCRIPTOR_CODE

    def changed(self, resource: Resource, document: Document) -> Document:
        """A copy with one field that is not part of the identity set to a new value."""
        updated = dict(document)
        for prop in self.model.properties(resource.schema):
            if prop.is_identity or prop.kind != "scalar" or "format" in prop.schema:
                continue
            kind = prop.schema.get("type")
            if kind == "string" and int(prop.schema.get("maxLength", 60) or 60) >= 7:
                current = updated.get(prop.name)
                value = "updated" if current != "updated" else "changed"
                updated[prop.name] = value.ljust(int(prop.schema.get("minLength", 0) or 0), "x")
                return updated
            if kind == "boolean":
                updated[prop.name] = not updated.get(prop.name, False)
                return updated
        return updated
