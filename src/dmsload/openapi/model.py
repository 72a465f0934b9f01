"""The resources of an Ed-Fi OpenAPI specification: identities, references, descriptors, order.

An Ed-Fi resource specification says, per resource: its schema (with `required`), which
properties are its identity (`x-Ed-Fi-isIdentity`), and its references, as `*_Reference`
objects whose fields are the referenced resource's identity, flattened (`schoolReference:
{schoolId}`) and role-named where two would clash (`courseEducationOrganizationId`). It does not
say which descriptor type a role-named descriptor property holds (`entryGradeLevelDescriptor`
is a GradeLevelDescriptor), nor which resources an abstract reference (EducationOrganization)
accepts: both are derived here, the first from the descriptor specification's names, the
second from the abstract's common collections a subclass carries (`EdFi_EducationOrganization_
Address` in School).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from dmsload.openapi.spec import SpecError, ref_name

SKIPPED_PROPERTIES = frozenset({"id", "_ext", "link", "_etag", "_lastModifiedDate"})
"""Properties a client never sends: server-made fields and extensions."""

Kind = Literal["scalar", "descriptor", "reference", "object", "array"]
_WORD = re.compile(r"[A-Z][a-z0-9]*|[a-z][a-z0-9]*")


@dataclass(frozen=True)
class Prop:
    """One property of an object schema, classified."""

    name: str
    schema: Mapping[str, Any]
    required: bool
    kind: Kind
    target: str | None = None
    """The schema name a reference, object or array of objects points to."""

    @property
    def is_identity(self) -> bool:
        """Marked `x-Ed-Fi-isIdentity`."""
        return bool(self.schema.get("x-Ed-Fi-isIdentity"))


@dataclass(frozen=True)
class Leaf:
    """One identity value of a resource: where it is in a document (one or more paths that
    must hold one value), its name in references."""

    paths: tuple[tuple[str, ...], ...]
    name: str

    @property
    def path(self) -> tuple[str, ...]:
        """The first path: where the value is read."""
        return self.paths[0]


@dataclass
class Resource:
    """One resource (a `POST /{project}/{endpoint}` path of the specification)."""

    project: str
    endpoint: str
    name: str
    schema_name: str
    schema: Mapping[str, Any]
    identity: tuple[Leaf, ...] = ()
    superclass: str | None = None

    @property
    def path(self) -> str:
        """`/ed-fi/schools`."""
        return f"/{self.project}/{self.endpoint}"


@dataclass
class Abstract:
    """An abstract resource (EducationOrganization): referenced, never posted."""

    name: str
    fields: tuple[str, ...]
    subclasses: list[str] = field(default_factory=list)


def _base_name(schema_name: str) -> str:
    """`EdFi_School` → `School`; `TPDM_Candidate_Reference` → `Candidate_Reference`."""
    return schema_name.split("_", 1)[1] if "_" in schema_name else schema_name


def reference_target(schema_name: str) -> str | None:
    """`School` for `EdFi_School_Reference`, `SchoolYearType` for `EdFi_SchoolYearTypeReference`."""
    base = _base_name(schema_name)
    if base.endswith("_Reference"):
        return base[: -len("_Reference")]
    if base.endswith("Reference") and "_" not in base:
        return base[: -len("Reference")]
    return None


def capitalize(name: str) -> str:
    """`gradeLevelDescriptor` → `GradeLevelDescriptor`."""
    return name[:1].upper() + name[1:]


class ApiModel:
    """Every resource of a specification, with what generation and validation need."""

    def __init__(
        self,
        spec: Mapping[str, Any],
        descriptors: Mapping[str, str] | None = None,
        source: str = "resources-spec.json",
    ) -> None:
        self.source = source
        self.schemas: Mapping[str, Any] = spec["components"]["schemas"]
        self.descriptors: Mapping[str, str] = dict(descriptors or {})
        """Descriptor names and their paths, from the descriptor specification (may be empty)."""
        self.descriptor_names = frozenset(self.descriptors)
        self.resources: dict[str, Resource] = {}
        self.by_endpoint: dict[str, Resource] = {}
        self.abstracts: dict[str, Abstract] = {}
        self.documents: dict[str, bytes] = {}
        """The specification documents as served, by file name (kept by the sandbox)."""
        self.problems: dict[str, str] = {}
        """Resources that cannot be referenced, with the reason (an unmatched identity)."""
        self._descriptor_cache: dict[str, str] = {}
        self._load_paths(spec)
        self._load_abstracts()
        for resource in self.resources.values():
            self._load_identity(resource)

    # ---- loading ---------------------------------------------------------------------------
    def _load_paths(self, spec: Mapping[str, Any]) -> None:
        for path, item in spec["paths"].items():
            parts = path.strip("/").split("/")
            if len(parts) != 2 or not isinstance(item, dict) or "post" not in item:
                continue
            try:
                body = item["post"]["requestBody"]["content"]["application/json"]["schema"]
            except (KeyError, TypeError):
                raise SpecError(
                    f"{self.source}: paths.{path}.post has no JSON request body"
                ) from None
            schema_name = ref_name(body)
            if schema_name is None or schema_name not in self.schemas:
                raise SpecError(f"{self.source}: paths.{path}.post: unknown body schema")
            name = _base_name(schema_name)
            if name in self.resources:
                raise SpecError(f"{self.source}: two resources are named {name!r}")
            resource = Resource(parts[0], parts[1], name, schema_name, self.schemas[schema_name])
            self.resources[name] = resource
            self.by_endpoint[parts[1].lower()] = resource
            self.by_endpoint[f"{parts[0]}/{parts[1]}".lower()] = resource

    def _load_abstracts(self) -> None:
        for schema_name, schema in self.schemas.items():
            target = reference_target(schema_name)
            if target is None or target in self.resources:
                continue
            fields = tuple(schema.get("properties", {}))
            if not any(p.get("x-Ed-Fi-isIdentity") for p in schema.get("properties", {}).values()):
                continue  # an enumeration (SchoolYearTypeReference): plain values
            self.abstracts[target] = Abstract(target, fields)
        for abstract in self.abstracts.values():
            prefix = f"_{abstract.name}_"
            for resource in self.resources.values():
                names = (ref_name(p) or "" for p in resource.schema.get("properties", {}).values())
                if any(
                    prefix in f"_{_base_name(n)}"
                    for n in names
                    if n and reference_target(n) is None
                ):
                    abstract.subclasses.append(resource.name)
                    resource.superclass = abstract.name
            abstract.subclasses.sort(key=lambda n: (n != "School", n))

    def _load_identity(self, resource: Resource) -> None:
        leaves: list[tuple[tuple[str, ...], str, frozenset[str]]] = []  # (path, name, role names)
        for prop in self.properties(resource.schema):
            if not prop.is_identity:
                continue
            if prop.kind == "reference" and prop.target is not None:
                stem = prop.name[: -len("Reference")] if prop.name.endswith("Reference") else ""
                entity = reference_target(prop.target) or ""
                role = stem[: -len(entity)] if stem.lower().endswith(entity.lower()) else stem
                for name in self.schemas[prop.target].get("properties", {}):
                    roles = {f"{stem}{capitalize(name)}", f"{role}{capitalize(name)}"} - {name}
                    leaves.append(((prop.name, name), name, frozenset(roles)))
            else:
                leaves.append(((prop.name,), prop.name, frozenset()))
        reference = self.schemas.get(f"{resource.schema_name}_Reference")
        names = list(reference.get("properties", {})) if reference else [n for _, n, _ in leaves]
        names = list(dict.fromkeys(names))
        matched: dict[str, list[tuple[str, ...]]] = {}
        free = list(leaves)
        for name in names:  # role-named first: `peerEducationOrganizationId`
            found = [leaf for leaf in free if name in leaf[2]]
            if len(found) == 1:
                matched[name] = [found[0][0]]
                free.remove(found[0])
        for name in names:  # then by name; one name on several paths is one unified value
            if name in matched:
                continue
            found = [leaf for leaf in free if leaf[1] == name]
            if found:
                matched[name] = [leaf[0] for leaf in found]
                free = [leaf for leaf in free if leaf not in found]
        rest = [n for n in names if n not in matched]
        if len(rest) == 1 and len(free) == 1:
            matched[rest[0]] = [free[0][0]]
            rest, free = [], []
        if rest or free:
            self.problems[resource.name] = (
                f"its reference fields {rest} do not match its identity "
                f"{['.'.join(leaf[0]) for leaf in free]}"
            )
        resource.identity = tuple(Leaf(tuple(matched[n]), n) for n in names if n in matched)

    # ---- queries ---------------------------------------------------------------------------
    def find(self, endpoint: str) -> Resource | None:
        """The resource served at `endpoint` (`schools` or `ed-fi/schools`), any case."""
        return self.by_endpoint.get(endpoint.strip("/").lower())

    def properties(self, schema: Mapping[str, Any]) -> Iterator[Prop]:
        """The properties of an object schema a client may send, classified."""
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            if name in SKIPPED_PROPERTIES or not isinstance(prop, dict):
                continue
            target = ref_name(prop)
            if prop.get("type") == "array":
                yield Prop(name, prop, name in required, "array", target)
            elif target is not None and reference_target(target) is not None:
                yield Prop(name, prop, name in required, "reference", target)
            elif target is not None:
                yield Prop(name, prop, name in required, "object", target)
            elif name.endswith("Descriptor") and prop.get("type") == "string":
                yield Prop(name, prop, name in required, "descriptor")
            else:
                yield Prop(name, prop, name in required, "scalar")

    def descriptor_type(self, property_name: str) -> str:
        """`GradeLevelDescriptor` for `entryGradeLevelDescriptor`: the longest word-suffix of the
        property that names a descriptor of the descriptor specification."""
        cached = self._descriptor_cache.get(property_name)
        if cached is not None:
            return cached
        words = _WORD.findall(capitalize(property_name))
        found = capitalize(property_name)
        for start in range(len(words)):
            candidate = "".join(words[start:])
            if candidate in self.descriptor_names:
                found = candidate
                break
        self._descriptor_cache[property_name] = found
        return found

    def kind_of(self, target: str) -> Literal["resource", "abstract", "enumeration"]:
        """What a reference target is: a resource, an abstract resource, or an enumeration."""
        if target in self.resources:
            return "resource"
        if target in self.abstracts:
            return "abstract"
        return "enumeration"

    def concrete(self, target: str) -> list[Resource]:
        """The resources a reference to `target` may resolve to (its subclasses if abstract)."""
        if target in self.resources:
            return [self.resources[target]]
        abstract = self.abstracts.get(target)
        return [self.resources[n] for n in abstract.subclasses] if abstract else []

    def reference_object(
        self, target: str, resource: Resource, document: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The `*_Reference` object that refers to `document` (a `resource`) as a `target`."""
        values: dict[str, Any] = {}
        for leaf in resource.identity:
            value: Any = document
            for key in leaf.path:
                value = value.get(key) if isinstance(value, dict) else None
            values[leaf.name] = value
        if target == resource.name:
            return values
        abstract = self.abstracts[target]
        if set(abstract.fields) <= set(values):
            return {name: values[name] for name in abstract.fields}
        if len(abstract.fields) == 1 and len(values) == 1:
            return {abstract.fields[0]: next(iter(values.values()))}
        raise SpecError(f"{resource.name} cannot stand for {target}: identities differ")

    def references(
        self, schema: Mapping[str, Any], required_only: bool, _depth: int = 0
    ) -> Iterator[Prop]:
        """Every resource or abstract reference in a schema, nested collections included."""
        if _depth > 8:
            return
        for prop in self.properties(schema):
            if required_only and not prop.required:
                continue
            if prop.kind == "reference" and prop.target is not None:
                target = reference_target(prop.target)
                if target is not None and self.kind_of(target) != "enumeration":
                    yield prop
            elif prop.kind in ("array", "object") and prop.target and prop.target in self.schemas:
                yield from self.references(self.schemas[prop.target], required_only, _depth + 1)

    def dependencies(self, resource: Resource, required_only: bool = True) -> list[str]:
        """The resource names `resource` needs first (an abstract's first subclass)."""
        out: list[str] = []
        for prop in self.references(resource.schema, required_only):
            target = reference_target(prop.target or "")
            concrete = self.concrete(target or "")
            if concrete and concrete[0].name != resource.name and concrete[0].name not in out:
                out.append(concrete[0].name)
        return out

    def load_order(self, required_only: bool = True) -> list[Resource]:
        """Every resource, each after those it references (ties by path)."""
        order: list[Resource] = []
        done: set[str] = set()
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in done or name in visiting:
                return
            visiting.add(name)
            for dep in self.dependencies(self.resources[name], required_only):
                visit(dep)
            visiting.discard(name)
            done.add(name)
            order.append(self.resources[name])

        for resource in sorted(self.resources.values(), key=lambda r: r.path):
            visit(resource.name)
        return order

    def depth(self, required_only: bool = True) -> dict[str, int]:
        """Each resource's depth in the reference graph (1: references nothing)."""
        depth: dict[str, int] = {}
        for resource in self.load_order(required_only):
            deps = self.dependencies(resource, required_only)
            depth[resource.name] = 1 + max((depth.get(d, 0) for d in deps), default=0)
        return depth


def descriptor_paths(spec: Mapping[str, Any]) -> dict[str, str]:
    """Descriptor names of a descriptor specification and their paths
    (`GradeLevelDescriptor` → `ed-fi/gradeLevelDescriptors`)."""
    paths: dict[str, str] = {}
    for path, item in spec.get("paths", {}).items():
        parts = path.strip("/").split("/")
        if len(parts) == 2 and isinstance(item, dict) and "post" in item:
            endpoint = parts[1]
            name = capitalize(endpoint[:-1] if endpoint.endswith("s") else endpoint)
            paths[name] = f"{parts[0]}/{endpoint}"
    return paths


def descriptor_path(descriptors: Mapping[str, str], name: str) -> str:
    """Where descriptors of type `name` are posted (`ed-fi/gradeLevelDescriptors` by default)."""
    return descriptors.get(name) or f"ed-fi/{name[:1].lower()}{name[1:]}s"
