"""The small JSONPath subset that ApiSchema.json uses: `$.a.b` and `$.a[*].b`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: One step of a compiled path: a property name, or `None` for "every item of an array" (`[*]`).
Step = str | None
#: A compiled path: the steps after `$`.
Path = tuple[Step, ...]


class JsonPathError(ValueError):
    """A path in ApiSchema.json that is not in the supported subset."""


def compile_path(text: str) -> Path:
    """Compile `$.a[*].b` into `("a", None, "b")`; raise JsonPathError for anything else."""
    if text == "$":
        return ()
    if not text.startswith("$."):
        raise JsonPathError(f"unsupported JSON path {text!r}: it must start with '$.'")
    steps: list[Step] = []
    for part in text[2:].split("."):
        if not part:
            raise JsonPathError(f"unsupported JSON path {text!r}: empty segment")
        if part.endswith("[*]"):
            name = part[:-3]
            if not name or "[" in name:
                raise JsonPathError(f"unsupported JSON path {text!r}")
            steps.extend((name, None))
        elif "[" in part or "]" in part:
            raise JsonPathError(f"unsupported JSON path {text!r}: only [*] is supported")
        else:
            steps.append(part)
    return tuple(steps)


def has_array(path: Path) -> bool:
    """True if the path goes through an array (`[*]`)."""
    return None in path


def values_at(doc: Any, path: Path) -> Iterator[Any]:
    """Yield every value the path selects in `doc`; missing properties select nothing."""
    if not path:
        yield doc
        return
    step, rest = path[0], path[1:]
    if step is None:
        if isinstance(doc, list):
            for item in doc:
                yield from values_at(item, rest)
    elif isinstance(doc, dict) and step in doc:
        yield from values_at(doc[step], rest)


def first_value(doc: Any, path: Path) -> Any:
    """The first value the path selects, or None."""
    for value in values_at(doc, path):
        return value
    return None


def set_value(doc: Any, path: Path, value: Any) -> None:
    """Set the value at a path without arrays, creating objects on the way (tests, seeding)."""
    if not path or has_array(path):
        raise JsonPathError("set_value needs a non-empty path without [*]")
    node = doc
    for step in path[:-1]:
        assert step is not None
        node = node.setdefault(step, {})
    last = path[-1]
    assert last is not None
    node[last] = value


def to_text(path: Path) -> str:
    """Render a compiled path back to `$.a[*].b` form."""
    out = "$"
    for step in path:
        out += "[*]" if step is None else f".{step}"
    return out


def values_with_paths(doc: Any, path: Path, prefix: str = "$") -> Iterator[tuple[str, Any]]:
    """Like values_at, but also yield each value's concrete path, e.g. `$.gradeLevels[1].x`."""
    if not path:
        yield prefix, doc
        return
    step, rest = path[0], path[1:]
    if step is None:
        if isinstance(doc, list):
            for index, item in enumerate(doc):
                yield from values_with_paths(item, rest, f"{prefix}[{index}]")
    elif isinstance(doc, dict) and step in doc:
        yield from values_with_paths(doc[step], rest, f"{prefix}.{step}")
