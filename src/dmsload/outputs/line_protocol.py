"""InfluxDB line protocol: escaping, typed tag-as-field values, and the per-sample encoder
used by the influxdb output (one line per sample, prefixes cached per series)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Literal

from dmsload.metrics.kinds import TagSet
from dmsload.outputs.base import OutputError
from dmsload.outputs.tap import Sample

MAX_CACHED_PREFIXES = 200_000
FieldKind = Literal["string", "int", "float", "bool"]
FIELD_KINDS: tuple[FieldKind, ...] = ("string", "int", "float", "bool")
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
"""Go's `strconv.ParseBool`, which k6 uses for `bool` fields."""
_INTEGER = re.compile(r"[+-]?\d+")
_RESERVED_KEYS = {"time": "time_tag"}
_MEASUREMENT_ESCAPES = str.maketrans({",": "\\,", " ": "\\ ", "\n": "\\n", "\r": "\\r"})
_KEY_ESCAPES = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ ", "\n": "\\n", "\r": "\\r"})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def escape_measurement(name: str) -> str:
    """A measurement name for line protocol (commas and spaces escaped)."""
    return name.rstrip("\\").translate(_MEASUREMENT_ESCAPES)


def escape_key(text: str) -> str:
    """A tag key, tag value or field key for line protocol (commas, `=` and spaces escaped)."""
    return text.rstrip("\\").translate(_KEY_ESCAPES)


def escape_string_field(text: str) -> str:
    """A string field value, quoted (backslashes and double quotes escaped)."""
    return '"' + text.translate(_STRING_ESCAPES) + '"'


def field_value(text: str, kind: FieldKind) -> str | None:
    """A tag's value as a field of `kind`; None when it does not convert (k6 drops it too)."""
    if kind == "string":
        return escape_string_field(text)
    if kind == "int":
        return f"{int(text)}i" if _INTEGER.fullmatch(text) else None
    if kind == "float":
        try:
            number = float(text)
        except ValueError:
            return None
        return repr(number) if math.isfinite(number) else None
    if text in _TRUE:
        return "true"
    if text in _FALSE:
        return "false"
    return None


def parse_tags_as_fields(variable: str, value: str) -> dict[str, FieldKind]:
    """`vu:int,iter:int,url` → {tag: field kind}; OutputError naming `variable` if bad."""
    kinds: dict[str, FieldKind] = {}
    for item in value.split(","):
        name, _, kind_text = item.strip().partition(":")
        name, kind_text = name.strip(), kind_text.strip() or "string"
        if not name:
            if item.strip():
                raise OutputError(f"{variable}={value}: {item.strip()!r} names no tag")
            continue
        kind = next((k for k in FIELD_KINDS if k == kind_text), None)
        if kind is None:
            raise OutputError(
                f"{variable}={value}: unknown field type {kind_text!r} for tag {name!r}; "
                f"use {', '.join(FIELD_KINDS)}"
            )
        if name in kinds:
            raise OutputError(f"{variable}={value}: tag {name!r} is named more than once")
        if name == "value":
            raise OutputError(f"{variable}={value}: 'value' is the field of the sample itself")
        kinds[name] = kind
    return kinds


class LineEncoder:
    """Samples → line protocol, with the part before the value cached per (metric, tags)."""

    def __init__(self, tags_as_fields: Mapping[str, FieldKind]) -> None:
        self.tags_as_fields = dict(tags_as_fields)
        self.drop_tags: frozenset[str] = frozenset()
        """Tags left out of every line (`--k6-tags`)."""
        self.notes: list[str] = []
        """Problems met while encoding (a tag that did not convert), for the summary."""
        self.skipped = 0
        """Samples left out: their value was NaN or infinite."""
        self._prefixes: dict[tuple[str, TagSet], str] = {}
        self._noted: set[str] = set()

    def prefix(self, name: str, tags: TagSet) -> str:
        """`measurement,tag=v,... field=x,...,value=` for one series."""
        key = (name, tags)
        cached = self._prefixes.get(key)
        if cached is not None:
            return cached
        as_fields = self.tags_as_fields
        tag_parts: list[str] = []
        fields: list[str] = []
        for tag, value in tags:
            if tag in self.drop_tags:
                continue
            kind = as_fields.get(tag)
            tag_key = escape_key(_RESERVED_KEYS.get(tag, tag))
            if not tag_key:
                continue
            if kind is None:
                tag_value = escape_key(value)
                if tag_value:
                    tag_parts.append(f",{tag_key}={tag_value}")
                continue
            converted = field_value(value, kind)
            if converted is None:
                if tag not in self._noted:
                    self._noted.add(tag)
                    self.notes.append(
                        f"tag {tag} is not always a {kind} (e.g. {value!r}): "
                        "such values are left out of the fields"
                    )
                continue
            fields.append(f"{tag_key}={converted},")
        prefix = f"{escape_measurement(name)}{''.join(tag_parts)} {''.join(fields)}value="
        if len(self._prefixes) < MAX_CACHED_PREFIXES:
            self._prefixes[key] = prefix
        return prefix

    def encode(self, batch: list[Sample], offset_ns: int) -> list[str]:
        """One line (with its newline) per sample; non-finite values are skipped and counted."""
        prefixes = self._prefixes
        prefix_for = self.prefix
        lines: list[str] = []
        append = lines.append
        for t_ns, metric, tags, value in batch:
            if type(value) is not float:
                value = float(value)
            if value - value != 0.0:  # NaN or ±Inf: line protocol has no spelling for them
                self.skipped += 1
                continue
            name = metric.name
            prefix = prefixes.get((name, tags)) or prefix_for(name, tags)
            append(f"{prefix}{value!r} {t_ns + offset_ns}\n")
        return lines
