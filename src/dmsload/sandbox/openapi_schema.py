"""An ApiSchema for the sandbox, built from an Ed-Fi OpenAPI resource specification.

`dmsload sandbox --schema resources-spec.json` serves every resource of the specification:
the insert schema is the resource's OpenAPI schema with `$ref`s inlined (unknown properties
dropped, as DMS does); identities, references and descriptors come from `dmsload.openapi.model`.
A `descriptors-spec.json[.gz]` beside the file names the descriptor resources; without one,
every descriptor type a resource refers to gets one. What the specification cannot say is not
enforced: equality constraints between references, and array uniqueness.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from dmsload.openapi.model import (
    ApiModel,
    Resource,
    capitalize,
    descriptor_path,
    descriptor_paths,
    reference_target,
)
from dmsload.openapi.spec import SpecError, read_spec

_FORMATS = frozenset({"date", "date-time", "time"})
_KEEP = ("type", "maxLength", "minLength", "minimum", "maximum", "minItems", "enum")
_DESCRIPTOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "namespace": {"type": "string", "maxLength": 255, "minLength": 1},
        "codeValue": {"type": "string", "maxLength": 50, "minLength": 1},
        "shortDescription": {"type": "string", "maxLength": 75, "minLength": 1},
        "description": {"type": "string", "maxLength": 1024},
        "effectiveBeginDate": {"type": "string", "format": "date"},
        "effectiveEndDate": {"type": "string", "format": "date"},
    },
    "required": ["namespace", "codeValue", "shortDescription"],
}


def load_openapi_model(path: Path) -> ApiModel:
    """The model of a resource specification, with the descriptor specification beside it."""
    spec = read_spec(path)
    documents = {"resources-spec.json": orjson.dumps(spec)}
    descriptors: dict[str, str] = {}
    for name in ("descriptors-spec.json", "descriptors-spec.json.gz"):
        sibling = path.parent / name
        if sibling.is_file():
            descriptor_spec = read_spec(sibling)
            descriptors = descriptor_paths(descriptor_spec)
            documents["descriptors-spec.json"] = orjson.dumps(descriptor_spec)
            break
    model = ApiModel(spec, descriptors, source=str(path))
    model.documents = documents
    return model


class _Builder:
    def __init__(self, model: ApiModel) -> None:
        self.model = model
        self.descriptor_types: set[str] = set(model.descriptor_names)

    def json_schema(self, schema: Mapping[str, Any], depth: int = 0) -> dict[str, Any]:
        if depth > 10:
            return {}
        out: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}
        for prop in self.model.properties(schema):
            out["properties"][prop.name] = self._property(prop.schema, depth)
        required = [n for n in schema.get("required", ()) if n in out["properties"]]
        if required:
            out["required"] = required
        return out

    def _property(self, prop: Mapping[str, Any], depth: int) -> dict[str, Any]:
        target = prop.get("$ref")
        if isinstance(target, str):
            return self.json_schema(self.model.schemas[target.rsplit("/", 1)[-1]], depth + 1)
        out = {k: prop[k] for k in _KEEP if k in prop}
        if prop.get("format") in _FORMATS:
            out["format"] = prop["format"]
        if isinstance(prop.get("items"), dict):
            out["items"] = self._property(prop["items"], depth)
        return out

    def paths(
        self,
        schema: Mapping[str, Any],
        prefix: str,
        identity: set[str],
        out: dict[str, Any],
        depth: int = 0,
    ) -> None:
        model = self.model
        if depth > 8:
            return
        for prop in model.properties(schema):
            path = f"{prefix}.{prop.name}"
            key = path[2:].replace("[*]", "")
            if prop.kind == "descriptor":
                name = model.descriptor_type(prop.name)
                self.descriptor_types.add(name)
                out[key] = {
                    "isReference": True,
                    "isDescriptor": True,
                    "isPartOfIdentity": path in identity,
                    "isRequired": prop.required,
                    "path": path,
                    "resourceName": name,
                    "type": "string",
                }
            elif prop.kind == "reference" and prop.target is not None:
                target = reference_target(prop.target) or ""
                fields = model.schemas[prop.target].get("properties", {})
                if model.kind_of(target) == "enumeration":
                    for name, field in fields.items():
                        out[f"{key}.{name}"] = _scalar(f"{path}.{name}", field, prop.required)
                    continue
                out[key] = {
                    "isReference": True,
                    "isDescriptor": False,
                    "isPartOfIdentity": any(p.startswith(f"{path}.") for p in identity),
                    "isRequired": prop.required,
                    "resourceName": target,
                    "referenceJsonPaths": [
                        {
                            "identityJsonPath": identity_path,
                            "referenceJsonPath": f"{path}.{name}",
                            "type": _type(fields.get(name, {})),
                        }
                        for name, identity_path in self.reference_paths(target)
                    ],
                }
            elif prop.kind in ("array", "object") and prop.target and prop.target in model.schemas:
                inner = f"{path}[*]" if prop.kind == "array" else path
                self.paths(model.schemas[prop.target], inner, identity, out, depth + 1)
            elif prop.kind == "scalar":
                out[key] = _scalar(path, prop.schema, prop.required, path in identity)

    def reference_paths(self, target: str) -> list[tuple[str, str]]:
        """(reference field, the target's identity path) for each identity part of `target`."""
        abstract = self.model.abstracts.get(target)
        if abstract is not None:
            return [(name, f"$.{name}") for name in abstract.fields]
        resource = self.model.resources[target]
        return [(leaf.name, _json_path(leaf.path)) for leaf in resource.identity]

    def identity_paths(self, resource: Resource) -> list[str]:
        leaves = list(resource.identity)
        abstract = self.model.abstracts.get(resource.superclass or "")
        if abstract is not None and len(abstract.fields) == len(leaves):
            order = {name: i for i, name in enumerate(abstract.fields)}
            if all(leaf.name in order for leaf in leaves):
                leaves.sort(key=lambda leaf: order[leaf.name])
        return [_json_path(leaf.path) for leaf in leaves]

    def resource_entry(self, resource: Resource) -> dict[str, Any]:
        identity = self.identity_paths(resource)
        mapping: dict[str, Any] = {}
        self.paths(resource.schema, "$", set(identity), mapping)
        entry: dict[str, Any] = {
            "resourceName": resource.name,
            "projectEndpointName": resource.project,
            "isDescriptor": False,
            "isSchoolYearEnumeration": False,
            "isSubclass": resource.superclass is not None,
            "allowIdentityUpdates": False,
            "identityJsonPaths": identity,
            "jsonSchemaForInsert": self.json_schema(resource.schema),
            "documentPathsMapping": mapping,
            "equalityConstraints": [],
        }
        if resource.superclass is not None:
            entry["superclassResourceName"] = resource.superclass
        return entry


def _json_path(path: tuple[str, ...]) -> str:
    return "$." + ".".join(path)


def _type(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "boolean"
    fmt = schema.get("format")
    return str(fmt) if fmt in _FORMATS else "string"


def _scalar(
    path: str, schema: Mapping[str, Any], required: bool, identity: bool = False
) -> dict[str, Any]:
    return {
        "isReference": False,
        "isPartOfIdentity": identity,
        "isRequired": required,
        "path": path,
        "type": _type(schema),
    }


def api_schema_document(model: ApiModel) -> dict[str, Any]:
    """`{"projectSchema": {...}}`: every resource of the model, its abstracts and descriptors."""
    builder = _Builder(model)
    schemas: dict[str, Any] = {}
    for resource in model.resources.values():
        schemas[resource.endpoint] = builder.resource_entry(resource)
    for name in sorted(builder.descriptor_types):
        project, endpoint = descriptor_path(model.descriptors, name).split("/", 1)
        if endpoint in schemas:
            raise SpecError(f"{model.source}: descriptor endpoint {endpoint!r} is also a resource")
        schemas[endpoint] = {
            "resourceName": name,
            "projectEndpointName": project,
            "isDescriptor": True,
            "isSchoolYearEnumeration": False,
            "isSubclass": False,
            "allowIdentityUpdates": False,
            "identityJsonPaths": ["$.codeValue", "$.namespace"],
            "jsonSchemaForInsert": _DESCRIPTOR_SCHEMA,
            "documentPathsMapping": {
                capitalize(n): _scalar(f"$.{n}", s, n in _DESCRIPTOR_SCHEMA["required"])
                for n, s in _DESCRIPTOR_SCHEMA["properties"].items()
            },
            "equalityConstraints": [],
        }
    return {
        "projectSchema": {
            "projectName": "EdFi",
            "projectVersion": "5.2.0",
            "projectEndpointName": "ed-fi",
            "abstractResources": {
                a.name: {"identityJsonPaths": [f"$.{n}" for n in a.fields]}
                for a in model.abstracts.values()
            },
            "resourceSchemas": schemas,
        }
    }
