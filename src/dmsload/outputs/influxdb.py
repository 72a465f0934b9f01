"""`--out influxdb=URL` (placeholder until the InfluxDB output lands)."""

from __future__ import annotations

from collections.abc import Mapping

from dmsload.outputs.base import Output, OutputError


class InfluxDbOutput(Output):
    """InfluxDB line protocol over HTTP."""

    kind = "influxdb"

    @classmethod
    def from_argument(cls, target: str, environ: Mapping[str, str]) -> Output:
        """Not built yet."""
        raise OutputError(f"--out influxdb={target}: not available yet")
