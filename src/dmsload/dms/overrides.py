"""`[documents.<resource>]`: set, replace or remove fields of the documents workloads generate.

```toml
[documents.schools]
set = { gradeLevels = [{ gradeLevelDescriptor = "${GRADE_LEVEL}" }] }
remove = ["addresses"]
```
A key is a field name or a dotted path into nested objects (`"birthData.birthCity"`). The
profile checks the shape when it loads; the resource and field names are checked against the
target's specification when the run connects, before any load is sent.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dmsload.openapi.model import ApiModel


class DocumentOverrides(BaseModel):
    """The changes to every generated document of one resource."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    set: dict[str, Any] = Field(default_factory=dict)
    """Fields to set (added, or replacing the generated value)."""
    remove: list[str] = Field(default_factory=list)
    """Fields to leave out."""

    @model_validator(mode="after")
    def _disjoint(self) -> DocumentOverrides:
        both = sorted(set(self.set) & set(self.remove))
        if both:
            raise ValueError(f"{both[0]!r} is both set and removed")
        for key in [*self.set, *self.remove]:
            if not key or any(not part for part in key.split(".")):
                raise ValueError(f"{key!r} is not a field name or a dotted path")
        return self

    def apply(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of `document` with the fields set and removed."""
        out = copy.deepcopy(dict(document))
        for key in self.remove:
            *parents, last = key.split(".")
            target: Any = out
            for part in parents:
                target = target.get(part) if isinstance(target, dict) else None
            if isinstance(target, dict):
                target.pop(last, None)
        for key, value in self.set.items():
            *parents, last = key.split(".")
            target = out
            for part in parents:
                child = target.get(part)
                if not isinstance(child, dict):
                    child = target[part] = {}
                target = child
            target[last] = copy.deepcopy(value)
        return out


class Overrides:
    """Every resource's overrides, found by endpoint name in any case."""

    def __init__(self, by_resource: Mapping[str, DocumentOverrides] | None = None) -> None:
        self.by_resource = dict(by_resource or {})
        self._lower = {name.lower().split("/")[-1]: o for name, o in self.by_resource.items()}

    def __bool__(self) -> bool:
        return bool(self.by_resource)

    def apply(self, endpoint: str, document: Mapping[str, Any]) -> dict[str, Any]:
        """The document with its resource's overrides applied (a copy of itself when it has
        none)."""
        if not self._lower:
            return dict(document)
        found = self._lower.get(endpoint.lower().split("/")[-1])
        return found.apply(document) if found is not None else dict(document)

    def problems(self, model: ApiModel) -> list[str]:
        """`documents.X...: ...` for each resource or field the specification does not know."""
        out: list[str] = []
        for name, overrides in self.by_resource.items():
            resource = model.find(name)
            if resource is None:
                out.append(f"documents.{name}: {model.source} has no resource {name!r}")
                continue
            for kind, keys in (("set", list(overrides.set)), ("remove", overrides.remove)):
                for key in keys:
                    if not _known(model, resource.schema, key.split(".")):
                        out.append(
                            f"documents.{name}.{kind}: {resource.endpoint} has no field {key!r}"
                        )
        return out


def _known(model: ApiModel, schema: Mapping[str, Any], parts: list[str]) -> bool:
    props = {p.name: p for p in model.properties(schema)}
    prop = props.get(parts[0])
    if prop is None:
        return False
    if len(parts) == 1:
        return True
    nested = model.schemas.get(prop.target or "")
    return nested is not None and _known(model, nested, parts[1:])
