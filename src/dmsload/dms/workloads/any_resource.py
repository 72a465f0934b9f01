"""Documents of any resource of the target's specification, with the parents they reference.

A VU keeps one document of each resource it had to create as a parent (its *pool*), and every
new document refers to those: so the values two references must share (one school behind a
CourseOffering's session and its school reference) agree. A resource whose identity has no
value of its own that is unique (a string or an open integer), e.g. a StudentSchoolAssociation
(student, school, entry date), gets fresh parents for its identity references instead, so that
each document is new; those are deleted with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dmsload.dms.documents import DocumentFactory, MissingReference
from dmsload.openapi.model import ApiModel, Resource, reference_target

if TYPE_CHECKING:
    from dmsload.dms.data import Document


def endpoint_of(resource: Resource) -> str:
    """The endpoint as workloads name it: `schools`, or `tpdm/candidates` outside `ed-fi`."""
    return (
        resource.endpoint
        if resource.project == "ed-fi"
        else f"{resource.project}/{resource.endpoint}"
    )


def missing_chain(
    model: ApiModel, resource: Resource, _seen: frozenset[str] = frozenset()
) -> list[str] | None:
    """Why documents of `resource` cannot be built: the chain to what is missing, or None."""
    if resource.name in model.problems:
        return [f"{resource.name} ({model.problems[resource.name]})"]
    for prop in model.references(resource.schema, required_only=True):
        target = reference_target(prop.target or "") or ""
        concrete = model.concrete(target)
        if not concrete:
            return [resource.name, f"{target} (no resource of the specification is one)"]
        if concrete[0].name in _seen or concrete[0].name == resource.name:
            continue
        chain = missing_chain(model, concrete[0], _seen | {resource.name})
        if chain is not None:
            return [resource.name, *chain]
    return None


def has_unique_value(model: ApiModel, resource: Resource) -> bool:
    """Whether the resource's identity holds a value of its own that is generated unique."""
    for prop in model.properties(resource.schema):
        if not prop.is_identity or prop.kind != "scalar":
            continue
        kind = prop.schema.get("type")
        if kind == "string" and "format" not in prop.schema:
            return True
        if kind == "integer" and prop.schema.get("maximum") is None:
            return True
    return False


def fresh_parents(model: ApiModel, resource: Resource) -> list[Resource]:
    """The parents a new document of `resource` needs of its own to be new: for a resource
    whose identity has no unique value, its identity references that do have one."""
    if has_unique_value(model, resource):
        return []
    out: list[Resource] = []
    for prop in model.properties(resource.schema):
        if prop.kind != "reference" or not prop.is_identity:
            continue
        concrete = model.concrete(reference_target(prop.target or "") or "")
        if concrete and concrete[0] not in out and has_unique_value(model, concrete[0]):
            out.append(concrete[0])
    return out


def identity_filter(resource: Resource, document: Mapping[str, Any]) -> tuple[str, Any] | None:
    """(query parameter, value) of the first identity value, to find the document by."""
    for leaf in resource.identity:
        value: Any = document
        for key in leaf.path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str | int) and not isinstance(value, bool):
            return leaf.name, value
    return None


def reference_for(
    model: ApiModel, target: str, pool: Mapping[str, tuple[Resource, Document]]
) -> dict[str, Any] | None:
    """The reference object of the pooled document that stands for `target`, if any."""
    for concrete in model.concrete(target):
        entry = pool.get(concrete.name)
        if entry is not None:
            return model.reference_object(target, entry[0], entry[1])
    return None


def parents_needed(model: ApiModel, resource: Resource) -> list[Resource]:
    """The resources a document of `resource` refers to (required references; abstracts as
    their first subclass)."""
    return [model.resources[name] for name in model.dependencies(resource)]


def build(
    factory: DocumentFactory,
    resource: Resource,
    data: Any,
    pool: Mapping[str, tuple[Resource, Document]],
    local: Mapping[str, tuple[Resource, Document]] | None = None,
) -> Document:
    """A document of `resource` whose references are the `local` parents, else the pool's."""
    model = factory.model

    def lookup(target: str) -> dict[str, Any] | None:
        if local:
            found = reference_for(model, target, local)
            if found is not None:
                return found
        return reference_for(model, target, pool)

    return factory.document(resource, data, lookup)


__all__ = [
    "MissingReference",
    "build",
    "endpoint_of",
    "fresh_parents",
    "has_unique_value",
    "identity_filter",
    "missing_chain",
    "parents_needed",
    "reference_for",
]
