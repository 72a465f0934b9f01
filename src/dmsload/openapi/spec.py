"""Reading an Ed-Fi OpenAPI specification (`resources-spec.json`), plain or gzipped."""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson


class SpecError(ValueError):
    """A specification that cannot be read or used; the message names its source and key."""


def parse_spec(content: bytes, source: str) -> dict[str, Any]:
    """Parse the bytes of a specification (gzip detected by its magic number)."""
    if content[:2] == b"\x1f\x8b":
        try:
            content = gzip.decompress(content)
        except (OSError, EOFError) as exc:
            raise SpecError(f"{source}: not a readable gzip file ({exc})") from None
    try:
        document = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise SpecError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3"):
        raise SpecError(f"{source}: not an OpenAPI 3 document (no 'openapi: 3.x' key)")
    if not isinstance(document.get("paths"), dict):
        raise SpecError(f"{source}: no 'paths' object")
    schemas = document.get("components", {}).get("schemas")
    if not isinstance(schemas, dict):
        raise SpecError(f"{source}: no 'components.schemas' object")
    return document


def read_spec(path: Path | str) -> dict[str, Any]:
    """Read a specification file (`.json` or `.json.gz`)."""
    file = Path(path)
    try:
        content = file.read_bytes()
    except OSError as exc:
        raise SpecError(f"{file}: cannot read ({exc.strerror or exc})") from None
    return parse_spec(content, str(file))


def is_openapi(document: Mapping[str, Any]) -> bool:
    """Whether a parsed JSON document is an OpenAPI specification (not an ApiSchema.json)."""
    return "openapi" in document and "paths" in document


def ref_name(schema: Mapping[str, Any]) -> str | None:
    """`EdFi_School` for `{"$ref": "#/components/schemas/EdFi_School"}` (or of array items)."""
    ref = schema.get("$ref")
    if ref is None and isinstance(schema.get("items"), dict):
        ref = schema["items"].get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        return ref.rsplit("/", 1)[-1]
    return None


def default_spec_dir() -> Path:
    """`config/openapi/`, from the working directory or the source checkout."""
    local = Path("config/openapi")
    if local.is_dir():
        return local
    checkout = Path(__file__).resolve().parents[3] / "config" / "openapi"
    return checkout if checkout.is_dir() else local
