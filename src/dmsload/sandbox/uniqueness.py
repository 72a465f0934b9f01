"""`arrayUniquenessConstraints`: the items of an array must differ on the constraint's paths.

A constraint lists paths such as `$.gradeLevels[*].gradeLevelDescriptor`; two items of
`gradeLevels` are duplicates when every listed path holds the same value in both. A nested
constraint (`{"basePath": "$.a[*]", "paths": [...]}`) applies its paths inside each item of
`basePath`. DMS answers a duplicate with 400 data-validation-failed, keyed by the array's path
(`$.gradeLevels`) with "The 2nd item of the gradeLevels has the same identifying values as
another item earlier in the list." (contract §5 pipeline step 9, §6).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from dmsload.sandbox.jsonpath import Path, compile_path, values_at, values_with_paths


@dataclass(frozen=True)
class ArrayGroup:
    """Paths of one constraint that share an array: the array, and each path inside an item."""

    array_path: Path
    array_name: str
    item_paths: tuple[Path, ...]


@dataclass(frozen=True)
class UniquenessConstraint:
    """One compiled constraint: where it applies (`base`), its array groups, nested ones."""

    base: Path
    groups: tuple[ArrayGroup, ...]
    nested: tuple[UniquenessConstraint, ...] = ()


def compile_constraints(raw: Any, where: str) -> tuple[UniquenessConstraint, ...]:
    """Compile a resource's `arrayUniquenessConstraints` (absent or empty: none)."""
    if not raw:
        return ()
    if not isinstance(raw, list):
        raise ValueError(f"{where}.arrayUniquenessConstraints must be an array")
    return tuple(
        _compile_one(item, "$", f"{where}.arrayUniquenessConstraints[{i}]")
        for i, item in enumerate(raw)
    )


def _compile_one(raw: Mapping[str, Any], parent: str, where: str) -> UniquenessConstraint:
    base_text = raw.get("basePath") or parent
    base = compile_path(base_text) if base_text != "$" else ()
    groups: dict[str, list[Path]] = {}
    for text in raw.get("paths") or []:
        relative = _relative(text, base_text)
        if "[*]" not in relative:
            raise ValueError(f"{where}: path {text!r} does not go through an array")
        array_text, _, rest = relative.partition("[*]")
        groups.setdefault(array_text, []).append(compile_path("$" + rest) if rest else ())
    nested = tuple(
        _compile_one(item, base_text, f"{where}.nestedConstraints[{i}]")
        for i, item in enumerate(raw.get("nestedConstraints") or [])
    )
    return UniquenessConstraint(
        base=base,
        groups=tuple(
            ArrayGroup(compile_path(array_text), array_text.rsplit(".", 1)[-1], tuple(paths))
            for array_text, paths in groups.items()
        ),
        nested=nested,
    )


def _relative(text: str, base_text: str) -> str:
    """A path relative to the base (`$.a[*].b[*].c` under `$.a[*]` is `$.b[*].c`)."""
    if base_text != "$" and text.startswith(base_text + "."):
        return "$" + text[len(base_text) :]
    return text


def duplicate_errors(
    constraints: tuple[UniquenessConstraint, ...], body: Mapping[str, Any]
) -> dict[str, list[str]]:
    """`validationErrors` for every item that repeats an earlier item of its array."""
    errors: dict[str, list[str]] = {}
    for constraint in constraints:
        for key, message in _check(constraint, body, "$"):
            bucket = errors.setdefault(key, [])
            if message not in bucket:
                bucket.append(message)
    return errors


def _check(constraint: UniquenessConstraint, doc: Any, prefix: str) -> Iterator[tuple[str, str]]:
    scopes = values_with_paths(doc, constraint.base, prefix) if constraint.base else [(prefix, doc)]
    for scope_text, scope in scopes:
        for group in constraint.groups:
            for array_text, items in values_with_paths(scope, group.array_path, scope_text):
                if isinstance(items, list):
                    yield from _duplicates(group, array_text, items)
        for nested in constraint.nested:
            yield from _check(_rebased(nested, constraint.base), scope, scope_text)


def _rebased(nested: UniquenessConstraint, parent_base: Path) -> UniquenessConstraint:
    """A nested constraint's base, made relative to the scope its parent already entered."""
    if parent_base and nested.base[: len(parent_base)] == parent_base:
        return UniquenessConstraint(nested.base[len(parent_base) :], nested.groups, nested.nested)
    return nested


def _duplicates(group: ArrayGroup, array_text: str, items: list[Any]) -> Iterator[tuple[str, str]]:
    seen: set[bytes] = set()
    for index, item in enumerate(items):
        key = orjson.dumps(
            [list(values_at(item, p)) for p in group.item_paths], option=orjson.OPT_SORT_KEYS
        )
        if key in seen:
            yield (
                array_text,
                f"The {_ordinal(index + 1)} item of the {group.array_name} has the same "
                "identifying values as another item earlier in the list.",
            )
        seen.add(key)


def _ordinal(number: int) -> str:
    """The ordinal as DMS's ValidationErrorFactory writes it: only `nd` and `rd` are special."""
    if number % 100 in (11, 12, 13):
        return f"{number}th"
    suffix = {2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"
