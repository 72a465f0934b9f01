"""Load an ApiSchema.json and compile what the sandbox enforces: validators, keys, references."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

import orjson

from dmsload.openapi.spec import SpecError, is_openapi
from dmsload.sandbox.jsonpath import Path, compile_path, first_value, has_array, values_at
from dmsload.sandbox.uniqueness import UniquenessConstraint, compile_constraints, duplicate_errors

if TYPE_CHECKING:  # the sandbox extra's jsonschema: imported when a schema is loaded, so that
    # the dmsload command runs without the extra
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

#: A natural key: one normalized value per identity path, in `identityJsonPaths` order.
IdentityKey = tuple[Any, ...]

QUERY_TYPES = frozenset({"string", "number", "boolean", "date", "date-time", "time"})


class SchemaError(ValueError):
    """An ApiSchema.json that the sandbox cannot use; the message names the file and the key."""


@dataclass(frozen=True)
class QueryField:
    """One `queryFieldMapping` entry: a filter name, the document paths it matches, their type."""

    name: str
    paths: tuple[Path, ...]
    path_texts: tuple[str, ...]
    type: str


@dataclass(frozen=True)
class DescriptorPath:
    """A descriptor-valued path of a resource (`isDescriptor: true` in documentPathsMapping)."""

    text: str
    path: Path
    resource_name: str
    in_identity: bool


@dataclass(frozen=True)
class DocumentReference:
    """A reference to another document, e.g. `studentReference` → Student (documentPathsMapping).

    `fields` lists the reference object's property names in the order of the *target's*
    identityJsonPaths, so the values read from a reference form the target's IdentityKey.
    """

    name: str
    resource_name: str
    object_text: str
    object_path: Path
    fields: tuple[str, ...]
    field_types: tuple[str, ...]
    in_identity: bool
    lower: tuple[bool, ...] = ()
    """Per field: a descriptor URI of the target's identity, compared in lower case."""

    def keys_in(self, doc: Mapping[str, Any]) -> Iterator[IdentityKey]:
        """Yield the target IdentityKey of every instance of this reference in a document."""
        lower = self.lower or (False,) * len(self.fields)
        for obj in values_at(doc, self.object_path):
            if isinstance(obj, dict):
                yield tuple(
                    normalize_identity_value(obj.get(f), lower=d)
                    for f, d in zip(self.fields, lower, strict=True)
                )


@dataclass
class ResourceSchema:
    """What the sandbox needs of one `resourceSchemas` entry, compiled once at startup."""

    endpoint: str
    resource_name: str
    project_endpoint: str
    is_descriptor: bool
    is_subclass: bool
    superclass_resource_name: str | None
    allow_identity_updates: bool
    identity_texts: tuple[str, ...]
    identity_paths: tuple[Path, ...]
    identity_is_descriptor: tuple[bool, ...]
    insert_schema: dict[str, Any]
    validator: Draft202012Validator
    descriptor_paths: tuple[DescriptorPath, ...]
    references: tuple[DocumentReference, ...] = ()
    query_fields: dict[str, QueryField] = field(default_factory=dict)
    uniqueness: tuple[UniquenessConstraint, ...] = ()

    @property
    def path(self) -> str:
        """The data path of this resource, e.g. `/ed-fi/students`."""
        return f"/{self.project_endpoint}/{self.endpoint}"

    def identity_of(self, doc: Mapping[str, Any]) -> IdentityKey:
        """The natural key of a (validated) document of this resource."""
        if self.is_descriptor:
            return (descriptor_uri(doc),)
        return tuple(
            normalize_identity_value(first_value(doc, p), lower=d)
            for p, d in zip(self.identity_paths, self.identity_is_descriptor, strict=True)
        )

    def prune(self, body: dict[str, Any]) -> dict[str, Any]:
        """Drop properties the insert schema does not know and coerce numeric/boolean strings.

        DMS silently drops unknown or miscased properties instead of rejecting them
        (docs/DATA-STRICTNESS.md), and coerces `"100"`/`"true"` strings to the schema's type.
        """
        pruned = _prune(body, self.insert_schema)
        assert isinstance(pruned, dict)
        return pruned

    def validation_errors(self, body: Mapping[str, Any]) -> dict[str, list[str]]:
        """Validate a pruned body against `jsonSchemaForInsert`; map errors to DMS-style paths."""
        errors: dict[str, list[str]] = {}
        for error in self.validator.iter_errors(body):
            for key, message in _describe(error):
                bucket = errors.setdefault(key, [])
                if message not in bucket:
                    bucket.append(message)
        return errors

    def duplicate_item_errors(self, body: Mapping[str, Any]) -> dict[str, list[str]]:
        """`arrayUniquenessConstraints` failures of a validated body, keyed by array path."""
        return duplicate_errors(self.uniqueness, body) if self.uniqueness else {}


def descriptor_uri(doc: Mapping[str, Any]) -> str:
    """The lower-cased `namespace#codeValue` URI that identifies a descriptor document."""
    return f"{doc.get('namespace', '')}#{doc.get('codeValue', '')}".lower()


def normalize_identity_value(value: Any, lower: bool = False) -> Any:
    """Make identity values comparable: integral floats become ints, descriptor URIs lower case."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if lower and isinstance(value, str):
        return value.lower()
    if isinstance(value, list | dict):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return value


_INT_RE = re.compile(r"^[+-]?\d+$")
_NUM_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _coerce(value: str, schema_type: Any) -> Any:
    if schema_type == "boolean":
        low = value.strip().lower()
        if low in ("true", "false"):
            return low == "true"
    elif schema_type == "integer" and _INT_RE.match(value.strip()):
        return int(value)
    elif schema_type == "number" and _NUM_RE.match(value.strip()):
        number = float(value)
        return int(number) if number.is_integer() and "." not in value else number
    return value


def _prune(value: Any, schema: Mapping[str, Any]) -> Any:
    schema_type = schema.get("type")
    if isinstance(value, dict):
        if schema_type != "object":
            return value
        props: Mapping[str, Any] = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            return {k: _prune(v, props[k]) for k, v in value.items() if k in props}
        return {k: _prune(v, props[k]) if k in props else v for k, v in value.items()}
    if isinstance(value, list):
        items = schema.get("items")
        if schema_type == "array" and isinstance(items, dict):
            return [_prune(v, items) for v in value]
        return value
    if isinstance(value, str) and schema_type in ("integer", "number", "boolean"):
        return _coerce(value, schema_type)
    return value


def _path_text(parts: Iterator[str | int] | Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _describe(error: ValidationError) -> Iterator[tuple[str, str]]:
    """Turn one jsonschema error into (`$.path`, message) pairs in the DMS style."""
    if error.validator == "required" and isinstance(error.instance, dict):
        base = _path_text(error.absolute_path)
        required: list[str] = list(error.validator_value)  # type: ignore[arg-type]
        for name in required:
            if name not in error.instance:
                yield (f"{base}.{name}" if base != "$" else f"$.{name}"), f"{name} is required."
        return
    key = _path_text(error.absolute_path)
    name = next((str(p) for p in reversed(error.absolute_path) if isinstance(p, str)), "$")
    if (
        error.validator in ("minLength", "pattern")
        and isinstance(error.instance, str)
        and not error.instance.strip()
    ):
        yield key, f"{name} is required and should not be left empty."
        return
    yield key, f"{name} {error.message}"


def derive_query_fields(
    document_paths_mapping: Mapping[str, Any],
) -> dict[str, list[dict[str, str]]]:
    """Build a `queryFieldMapping` from documentPathsMapping, as MetaEd does for a resource.

    Scalars and descriptors are queryable by their last path segment; document references are
    flattened into their identity fields (`schoolId` → `$.schoolReference.schoolId`). Paths inside
    arrays are not queryable. `id` is always a query field.
    """
    out: dict[str, list[dict[str, str]]] = {}

    def add(path_text: str, type_: str) -> None:
        path = compile_path(path_text)
        if has_array(path) or not path:
            return
        name = str(path[-1])
        entry = {"path": path_text, "type": type_}
        if entry not in out.setdefault(name, []):
            out[name].append(entry)

    for entry in document_paths_mapping.values():
        if not entry.get("isReference"):
            add(entry["path"], entry.get("type", "string"))
        elif entry.get("isDescriptor"):
            add(entry["path"], "string")
        else:
            for rjp in entry.get("referenceJsonPaths", []):
                add(rjp["referenceJsonPath"], rjp.get("type", "string"))
    out["id"] = [{"path": "$.id", "type": "string"}]
    return out


@dataclass
class ApiSchema:
    """One loaded ApiSchema.json project: its resources indexed every way the server needs."""

    project_name: str
    project_version: str
    project_endpoint: str
    resources: dict[str, ResourceSchema]
    by_lower_endpoint: dict[str, ResourceSchema]
    by_resource_name: dict[str, ResourceSchema]
    abstract_identity: dict[str, tuple[str, ...]]
    subclasses: dict[str, list[ResourceSchema]]
    specifications: dict[str, bytes] = field(default_factory=dict)
    """The OpenAPI documents it was built from, by file name (served under /metadata)."""

    def find(self, endpoint: str) -> ResourceSchema | None:
        """The resource for an endpoint name, matched case-insensitively as DMS does."""
        return self.by_lower_endpoint.get(endpoint.lower())

    def find_in(self, project_endpoint: str, endpoint: str) -> ResourceSchema | None:
        """The resource served at `/{project_endpoint}/{endpoint}` (both case-insensitive)."""
        resource = self.by_lower_endpoint.get(endpoint.lower())
        if resource is None or resource.project_endpoint.lower() != project_endpoint.lower():
            return None
        return resource

    def concrete(self, resource_name: str) -> list[ResourceSchema]:
        """The concrete resources a reference to `resource_name` may resolve to."""
        if resource_name in self.by_resource_name:
            return [self.by_resource_name[resource_name]]
        return list(self.subclasses.get(resource_name, []))

    def load_order(self) -> list[tuple[ResourceSchema, int]]:
        """Resources with their `/metadata/dependencies` order: descriptors 1, then by depth."""
        memo: dict[str, int] = {}

        def order(res: ResourceSchema, seen: frozenset[str]) -> int:
            if res.resource_name in memo:
                return memo[res.resource_name]
            if res.is_descriptor:
                value = 1
            else:
                parents = [0]
                for ref in res.references:
                    for target in self.concrete(ref.resource_name):
                        if target.resource_name not in seen:
                            parents.append(order(target, seen | {res.resource_name}))
                if res.descriptor_paths:
                    parents.append(1)
                value = max(parents) + 1
            memo[res.resource_name] = value
            return value

        ranked = [(r, order(r, frozenset({r.resource_name}))) for r in self.resources.values()]
        ranked.sort(key=lambda pair: (pair[1], pair[0].path))
        return ranked


def _require(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise SchemaError(f"{where}: missing required key {key!r}")
    return obj[key]


def _compile_resource(
    endpoint: str, raw: Mapping[str, Any], project_endpoint: str, where: str, check: bool = True
) -> tuple[ResourceSchema, dict[str, Any]]:
    for key in (
        "resourceName",
        "isDescriptor",
        "isSchoolYearEnumeration",
        "isSubclass",
        "allowIdentityUpdates",
        "identityJsonPaths",
        "jsonSchemaForInsert",
        "documentPathsMapping",
        "equalityConstraints",
    ):
        _require(raw, key, where)
    insert_schema = raw["jsonSchemaForInsert"]
    from jsonschema import Draft202012Validator  # the extra, when needed (see above)

    try:
        if check:
            Draft202012Validator.check_schema(insert_schema)
    except Exception as exc:
        raise SchemaError(f"{where}.jsonSchemaForInsert: invalid JSON Schema: {exc}") from exc
    validator = Draft202012Validator(
        insert_schema, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    dpm: Mapping[str, Any] = raw["documentPathsMapping"]
    descriptor_paths: list[DescriptorPath] = []
    identity_texts = tuple(raw["identityJsonPaths"])
    for name, entry in dpm.items():
        if entry.get("isReference") and entry.get("isDescriptor"):
            text = _require(entry, "path", f"{where}.documentPathsMapping.{name}")
            descriptor_paths.append(
                DescriptorPath(
                    text=text,
                    path=compile_path(text),
                    resource_name=_require(entry, "resourceName", f"{where}.{name}"),
                    in_identity=text in identity_texts,
                )
            )
    descriptor_texts = {d.text for d in descriptor_paths}
    resource = ResourceSchema(
        endpoint=endpoint,
        resource_name=raw["resourceName"],
        project_endpoint=project_endpoint,
        is_descriptor=bool(raw["isDescriptor"]),
        is_subclass=bool(raw["isSubclass"]),
        superclass_resource_name=raw.get("superclassResourceName") if raw["isSubclass"] else None,
        allow_identity_updates=bool(raw["allowIdentityUpdates"]),
        identity_texts=identity_texts,
        identity_paths=tuple(compile_path(p) for p in identity_texts),
        identity_is_descriptor=tuple(p in descriptor_texts for p in identity_texts),
        insert_schema=insert_schema,
        validator=validator,
        descriptor_paths=tuple(descriptor_paths),
    )
    try:
        resource.uniqueness = compile_constraints(raw.get("arrayUniquenessConstraints"), where)
    except ValueError as exc:
        raise SchemaError(str(exc)) from exc
    mapping = raw.get("queryFieldMapping") or derive_query_fields(dpm)
    for qname, paths in mapping.items():
        if not paths:
            continue
        qtype = paths[0].get("type", "string")
        if qtype not in QUERY_TYPES:
            raise SchemaError(f"{where}.queryFieldMapping.{qname}: unknown type {qtype!r}")
        resource.query_fields[qname.lower()] = QueryField(
            name=qname,
            paths=tuple(compile_path(p["path"]) for p in paths),
            path_texts=tuple(p["path"] for p in paths),
            type=qtype,
        )
    return resource, dict(dpm)


def _compile_references(
    resource: ResourceSchema,
    dpm: Mapping[str, Any],
    identity_of: Mapping[str, tuple[str, ...]],
    where: str,
    descriptor_identity: Mapping[str, frozenset[str]] | None = None,
) -> None:
    descriptor_identity = descriptor_identity or {}
    refs: list[DocumentReference] = []
    for name, entry in dpm.items():
        if not entry.get("isReference") or entry.get("isDescriptor"):
            continue
        target = _require(entry, "resourceName", f"{where}.documentPathsMapping.{name}")
        rjps = _require(entry, "referenceJsonPaths", f"{where}.documentPathsMapping.{name}")
        if target not in identity_of:
            raise SchemaError(
                f"{where}.documentPathsMapping.{name}: references {target!r}, which is neither a "
                "resource nor an abstract resource of this schema"
            )
        by_identity: dict[str, tuple[str, str]] = {}
        object_path: Path | None = None
        for rjp in rjps:
            path = compile_path(rjp["referenceJsonPath"])
            if object_path is None:
                object_path = path[:-1]
            elif object_path != path[:-1]:
                raise SchemaError(f"{where}.{name}: reference paths do not share one object")
            by_identity[rjp["identityJsonPath"]] = (str(path[-1]), rjp.get("type", "string"))
        missing = [p for p in identity_of[target] if p not in by_identity]
        if missing or object_path is None:
            raise SchemaError(
                f"{where}.{name}: reference lacks identity paths {missing} of {target}"
            )
        ordered = [by_identity[p] for p in identity_of[target]]
        descriptors = descriptor_identity.get(target, frozenset())
        object_text = "$" + "".join("[*]" if s is None else f".{s}" for s in object_path)
        refs.append(
            DocumentReference(
                name=name,
                resource_name=target,
                object_text=object_text,
                object_path=object_path,
                fields=tuple(f for f, _ in ordered),
                field_types=tuple(t for _, t in ordered),
                in_identity=bool(entry.get("isPartOfIdentity")),
                lower=tuple(p in descriptors for p in identity_of[target]),
            )
        )
    resource.references = tuple(refs)


def parse_api_schema(
    doc: Mapping[str, Any], source: str = "ApiSchema.json", check_schemas: bool = True
) -> ApiSchema:
    """Compile a parsed ApiSchema.json document (`{"projectSchema": {...}}`); `check_schemas`
    False trusts the insert schemas (those built here from an OpenAPI specification)."""
    project = _require(doc, "projectSchema", source)
    where = f"{source}: projectSchema"
    project_endpoint = _require(project, "projectEndpointName", where)
    raw_resources: Mapping[str, Any] = _require(project, "resourceSchemas", where)
    resources: dict[str, ResourceSchema] = {}
    dpms: dict[str, dict[str, Any]] = {}
    for endpoint, raw in raw_resources.items():
        resource, dpm = _compile_resource(
            endpoint,
            raw,
            raw.get("projectEndpointName") or project_endpoint,
            f"{where}.resourceSchemas.{endpoint}",
            check_schemas,
        )
        resources[endpoint] = resource
        dpms[endpoint] = dpm
    by_name = {r.resource_name: r for r in resources.values()}
    identity_of: dict[str, tuple[str, ...]] = {
        r.resource_name: r.identity_texts for r in resources.values()
    }
    abstract: dict[str, tuple[str, ...]] = {}
    for name, raw in (project.get("abstractResources") or {}).items():
        abstract[name] = tuple(
            _require(raw, "identityJsonPaths", f"{where}.abstractResources.{name}")
        )
        identity_of[name] = abstract[name]
    subclasses: dict[str, list[ResourceSchema]] = {}
    for resource in resources.values():
        if resource.superclass_resource_name:
            subclasses.setdefault(resource.superclass_resource_name, []).append(resource)
    descriptor_identity: dict[str, frozenset[str]] = {
        r.resource_name: frozenset(
            t for t, d in zip(r.identity_texts, r.identity_is_descriptor, strict=True) if d
        )
        for r in resources.values()
    }
    for name, paths in abstract.items():  # an abstract's identity names its descriptors
        descriptor_identity[name] = frozenset(p for p in paths if p.endswith("Descriptor"))
    for endpoint, resource in resources.items():
        _compile_references(
            resource,
            dpms[endpoint],
            identity_of,
            f"{where}.resourceSchemas.{endpoint}",
            descriptor_identity,
        )
    lower = {
        k.lower(): resources[v]
        for k, v in (project.get("caseInsensitiveEndpointNameMapping") or {}).items()
        if v in resources
    }
    for endpoint, resource in resources.items():
        lower.setdefault(endpoint.lower(), resource)
    return ApiSchema(
        project_name=_require(project, "projectName", where),
        project_version=_require(project, "projectVersion", where),
        project_endpoint=project_endpoint,
        resources=resources,
        by_lower_endpoint=lower,
        by_resource_name=by_name,
        abstract_identity=abstract,
        subclasses=subclasses,
    )


def load_api_schema(path: FsPath | str) -> ApiSchema:
    """Read and compile an ApiSchema.json file; raise SchemaError naming the file on any problem."""
    file = FsPath(path)
    try:
        content = file.read_bytes()
        doc = orjson.loads(gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content)
    except OSError as exc:
        raise SchemaError(f"{file}: cannot read: {exc.strerror or exc}") from exc
    except orjson.JSONDecodeError as exc:
        raise SchemaError(f"{file}: not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise SchemaError(f"{file}: the top level must be an object")
    if is_openapi(doc):  # an Ed-Fi resource specification (resources-spec.json)
        from dmsload.sandbox.openapi_schema import api_schema_document, load_openapi_model

        try:
            model = load_openapi_model(file)
            built = api_schema_document(model)
        except SpecError as exc:
            raise SchemaError(str(exc)) from exc
        schema = parse_api_schema(built, str(file), check_schemas=False)
        schema.specifications = dict(model.documents)
        return schema
    return parse_api_schema(doc, str(file))


def default_schema_path() -> FsPath:
    """`config/performance-test-schema.json`, from the working directory or the source checkout."""
    local = FsPath("config/performance-test-schema.json")
    if local.exists():
        return local
    checkout = FsPath(__file__).resolve().parents[3] / "config" / "performance-test-schema.json"
    return checkout if checkout.exists() else local
