"""Reading and writing dmsload's JSON files: one-line errors naming the file on read, and
atomic writes (a temporary file renamed into place) so that readers never see half a file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson


class JsonFileError(ValueError):
    """A JSON file that cannot be read or parsed; the message names the file."""


def read_json(path: Path) -> Any:
    """The parsed document; JsonFileError `PATH: cannot read it: ...` or `PATH: not JSON: ...`."""
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        raise JsonFileError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise JsonFileError(f"{path}: not JSON: {exc}") from None


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """Write next to `path` and rename into place."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_json_atomically(path: Path, document: Any) -> None:
    """Write indented JSON atomically."""
    data = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    write_bytes_atomically(path, data + b"\n")
