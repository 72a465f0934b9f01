"""`--out KIND=TARGET`: which streaming outputs exist and how their arguments are read."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from dmsload.outputs.base import Output, OutputError

OUTPUT_KINDS = ("json", "csv", "influxdb", "hdrlog")


def _json(target: str, environ: Mapping[str, str]) -> Output:
    from dmsload.outputs.ndjson import JsonOutput

    return JsonOutput(target)


def _csv(target: str, environ: Mapping[str, str]) -> Output:
    from dmsload.outputs.csv_output import CsvOutput

    return CsvOutput(target, environ)


def _influxdb(target: str, environ: Mapping[str, str]) -> Output:
    from dmsload.outputs.influxdb import InfluxDbOutput

    return InfluxDbOutput.from_argument(target, environ)


def _hdrlog(target: str, environ: Mapping[str, str]) -> Output:
    from dmsload.outputs.hdrlog import HdrLogOutput

    return HdrLogOutput(target)


_FACTORIES: dict[str, Callable[[str, Mapping[str, str]], Output]] = {
    "json": _json,
    "csv": _csv,
    "influxdb": _influxdb,
    "hdrlog": _hdrlog,
}


def parse_output(argument: str, environ: Mapping[str, str] | None = None) -> Output:
    """An output from one `--out` argument such as `json=results.ndjson.gz`; OutputError if bad."""
    kind, sep, target = argument.partition("=")
    kind = kind.strip()
    if kind not in _FACTORIES:
        raise OutputError(
            f"--out {argument}: unknown output {kind!r}; use {', '.join(OUTPUT_KINDS)} "
            "(as KIND=TARGET, e.g. json=results.ndjson)"
        )
    if not sep or not target.strip():
        example = "http://127.0.0.1:8086/dmsload" if kind == "influxdb" else "FILE"
        raise OutputError(f"--out {argument}: {kind} needs a target, e.g. {kind}={example}")
    return _FACTORIES[kind](target.strip(), os.environ if environ is None else environ)
