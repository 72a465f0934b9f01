"""`--out influxdb=URL`: every sample as InfluxDB line protocol, POSTed over HTTP.

The argument is k6's: `influxdb=http://host:8086/DB` writes to InfluxDB 1.x with
`POST /write?db=DB&precision=ns` (DB defaults to `dmsload`), after asking the server to
`CREATE DATABASE` as k6 does (a refusal is a warning, not an error: the database may exist).
Basic auth comes from the URL (`http://user:pass@host:8086/DB`) or from
`DMSLOAD_INFLUXDB_USERNAME` / `DMSLOAD_INFLUXDB_PASSWORD`.

With `DMSLOAD_INFLUXDB_BUCKET` set, it writes to InfluxDB 2.x instead
(`POST /api/v2/write?org=..&bucket=..&precision=ns`, `Authorization: Token ..`); then
`DMSLOAD_INFLUXDB_ORGANIZATION` and `DMSLOAD_INFLUXDB_TOKEN` are required and the URL names
no database. Every `DMSLOAD_INFLUXDB_*` variable may also be given by its k6 name
(`K6_INFLUXDB_BUCKET`, `K6_INFLUXDB_ORGANIZATION`, `K6_INFLUXDB_TOKEN`, ...).
`DMSLOAD_INFLUXDB_INSECURE=true` skips TLS verification for an `https://` URL.

A sample is one line: the metric name as measurement, its tags as tags, its value as the float
field `value`, its wall-clock time in ns. Tags named in `DMSLOAD_INFLUXDB_TAGS_AS_FIELDS` (k6's
default `vu:int,iter:int,url`; `name:type` with type `string` (the default), `int`, `float` or
`bool`; set but empty: none) become fields, keeping high-cardinality values out of the series
index. Lines are sent every `DMSLOAD_INFLUXDB_PUSH_INTERVAL` (default `1s`), one write at a
time, at most 5,000 lines a request, and once more when the run ends.

When InfluxDB is down, slow or refuses a write, the run goes on unslowed: each request gives up
after 5 s, the samples of a failed request are counted as not delivered (they are not retried,
and a push stops at its first request refused for a reason other than bad lines, counting the
rest with it), and the summary warns. Samples that line protocol cannot carry (NaN, ±Inf)
are counted the same way. A backslash ending a tag key or value is dropped (InfluxDB 1.x
cannot parse it); a tag named `time` is written as `time_tag`. The token and password never
appear in the label or in a warning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import anyio
import anyio.lowlevel
import httpx
import orjson

from dmsload.error_text import describe_exception
from dmsload.http.reasons import transport_reason
from dmsload.outputs.base import DEFAULT_QUEUE_SAMPLES, Output, OutputContext
from dmsload.outputs.influxdb_config import InfluxConfig, parse_config, safe_label
from dmsload.outputs.line_protocol import LineEncoder
from dmsload.outputs.tap import Sample

MAX_LINES_PER_REQUEST = 5_000
REQUEST_TIMEOUT_S = 5.0
"""How long one request (connect, send, answer) may take before it counts as failed."""
FINISH_TIMEOUT_S = 10.0
"""How long the end of the run may spend sending what is left."""
ENCODE_CHUNK = 5_000
"""Samples encoded between two yields to the event loop."""
MAX_WARNINGS = 6

_WRITE_HEADERS = {"Content-Type": "text/plain; charset=utf-8"}
_DROPPED = re.compile(r"dropped=(\d+)")


def short_body(response: httpx.Response, secrets: list[str]) -> str:
    """The gist of an error answer: its JSON `message`/`error`, else its first line."""
    text = response.text.strip()
    try:
        doc = orjson.loads(text) if text else None
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict):
        for key in ("message", "error"):
            if isinstance(doc.get(key), str):
                text = doc[key]
                break
    return short_text(text or response.reason_phrase, secrets)


def short_text(text: str, secrets: list[str]) -> str:
    """One line of at most 200 characters, without secrets."""
    lines = text.strip().splitlines()
    text = lines[0] if lines else ""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text if len(text) <= 200 else text[:197] + "..."


def undelivered_in_partial_write(body: str, lines: int) -> int | None:
    """Lines InfluxDB 1.x refused in a `partial write` answer (None: not one)."""
    if "partial write" not in body:
        return None
    dropped = sum(int(n) for n in _DROPPED.findall(body))
    unparsed = body.count("unable to parse")
    return min(lines, dropped + unparsed)


def _transport_failure(exc: httpx.HTTPError) -> str:
    """A transport error in a few words."""
    text = str(exc) or transport_reason(exc)
    if isinstance(exc, httpx.ConnectError) and (
        "refused" in text.lower() or "all connection attempts failed" in text.lower()
    ):
        return "connection refused"
    return text.splitlines()[0][:200]


def _query_error(response: httpx.Response, secrets: list[str]) -> str | None:
    """What went wrong with an InfluxQL statement (`/query`), or None."""
    if not response.is_success:
        return f"answered {response.status_code}: {short_body(response, secrets)}"
    try:
        doc = orjson.loads(response.content)
        error = doc.get("error") or (doc.get("results") or [{}])[0].get("error")
    except (orjson.JSONDecodeError, AttributeError, IndexError, TypeError):
        return None
    return None if not error else short_text(str(error), secrets)


class InfluxDbOutput(Output):
    """InfluxDB line protocol over HTTP (v1 `/write`, v2 `/api/v2/write`)."""

    kind = "influxdb"

    def __init__(
        self, target: str, config: InfluxConfig, queue_samples: int = DEFAULT_QUEUE_SAMPLES
    ) -> None:
        super().__init__(safe_label(target), queue_samples)
        self.config = config
        self.encoder = LineEncoder(config.tags_as_fields)
        self._pending: list[str] = []
        self._client: httpx.AsyncClient | None = None
        self._stop: anyio.Event | None = None
        self._pusher_done: anyio.Event | None = None
        self._reported_skips = 0
        self._finish_left_to_run = False

    @classmethod
    def from_argument(cls, target: str, environ: Mapping[str, str]) -> Output:
        """The output of `--out influxdb=TARGET`; OutputError if the argument or env is bad."""
        return cls(target, parse_config(target, environ))

    # -- the writer ------------------------------------------------------------------------

    def open(self, ctx: OutputContext) -> None:
        """Take the run's context (and the tags `--k6-tags` leaves out)."""
        super().open(ctx)
        self.encoder.drop_tags = ctx.drop_tags

    def _new_client(self) -> httpx.AsyncClient:
        config = self.config
        headers = {"User-Agent": "dmsload"}
        if config.token:
            headers["Authorization"] = f"Token {config.token}"
        auth = None
        if config.username is not None and not config.v2:
            auth = httpx.BasicAuth(config.username, config.password or "")
        return httpx.AsyncClient(
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(REQUEST_TIMEOUT_S),
            verify=not config.insecure,
            limits=httpx.Limits(max_connections=2, max_keepalive_connections=1),
        )

    async def run(self) -> None:
        """The base writer loop (encoding), beside a loop that pushes every interval."""
        self._client = self._new_client()
        self._stop = anyio.Event()
        self._pusher_done = anyio.Event()
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._push_loop)
                try:
                    await super().run()
                finally:
                    self._stop.set()
        finally:
            self._pusher_done.set()
        if self._finish_left_to_run:  # `finish` came before this task started (a short run)
            await self._final_push()

    async def write(self, batch: list[Sample]) -> None:
        """Encode a batch into the pending lines (sent by the next push)."""
        if len(self._pending) + len(batch) > self.queue_samples:
            self.lost += len(batch)
            return
        offset = self.ctx.clock.offset_ns
        encode = self.encoder.encode
        pending = self._pending
        for start in range(0, len(batch), ENCODE_CHUNK):
            if start:
                await anyio.lowlevel.checkpoint()
            pending.extend(encode(batch[start : start + ENCODE_CHUNK], offset))
        self._note_encoder()

    def _note_encoder(self) -> None:
        encoder = self.encoder
        for note in encoder.notes:
            self._warn(note)
        if encoder.skipped > self._reported_skips:
            self.undelivered += encoder.skipped - self._reported_skips
            self._reported_skips = encoder.skipped
            self._warn("samples whose value was NaN or infinite were not sent")

    def _warn(self, text: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warn_once(text)

    async def _push_loop(self) -> None:
        assert self._stop is not None
        if not self.config.v2:
            await self._create_database()
        while not self._stop.is_set():
            with anyio.move_on_after(self.config.push_interval_s):
                await self._stop.wait()
            if not self._stop.is_set():
                await self._push()

    async def _push(self) -> None:
        """Send every pending line, 5,000 a request; stop at the first failed request."""
        lines, self._pending = self._pending, []
        done = 0
        try:
            while done < len(lines):
                chunk = lines[done : done + MAX_LINES_PER_REQUEST]
                go_on = await self._post(chunk)
                done += len(chunk)
                if not go_on:
                    break
        finally:
            self.undelivered += len(lines) - done

    async def _post(self, lines: list[str]) -> bool:
        """POST one payload and count its lines; whether the next payload is worth trying."""
        assert self._client is not None
        config = self.config
        timeout = f"no answer within {REQUEST_TIMEOUT_S:g} s"
        try:
            with anyio.move_on_after(REQUEST_TIMEOUT_S + 1.0):
                response = await self._client.post(
                    config.write_url,
                    params=config.write_params,
                    content="".join(lines).encode(),
                    headers=_WRITE_HEADERS,
                )
                return self._account(response, len(lines))
            failure = timeout
        except httpx.TimeoutException:
            failure = timeout
        except httpx.HTTPError as exc:
            failure = _transport_failure(exc)
        except Exception as exc:  # whatever it is, the run goes on
            failure = describe_exception(exc)
        self.undelivered += len(lines)
        self._warn(f"InfluxDB at {config.addr} did not accept writes: {failure}")
        return False

    def _account(self, response: httpx.Response, lines: int) -> bool:
        """Count a payload by InfluxDB's answer; whether the next payload is worth trying."""
        if response.is_success:
            self.written += lines
            return True
        config = self.config
        body = short_body(response, config.secrets())
        refused = undelivered_in_partial_write(response.text, lines)
        if response.status_code == 400 and refused is not None:
            self.undelivered += refused
            self.written += lines - refused
            self._warn(f"InfluxDB at {config.addr} refused some lines: {body}")
            return True
        self.undelivered += lines
        self._warn(f"InfluxDB at {config.addr} answered {response.status_code}: {body}")
        return response.status_code == 400  # bad lines: the next payload may be fine

    async def _create_database(self) -> None:
        """k6's `CREATE DATABASE` at start; a refusal is a warning (the database may exist)."""
        assert self._client is not None
        config = self.config
        name = config.database.replace("\\", "\\\\").replace('"', '\\"')
        response: httpx.Response | None = None
        try:
            with anyio.move_on_after(REQUEST_TIMEOUT_S + 1.0):
                response = await self._client.post(
                    f"{config.addr}/query", data={"q": f'CREATE DATABASE "{name}"'}
                )
        except Exception:  # unreachable, refused, or worse: the writes will say so
            return
        if response is None:
            return  # no answer in time: the writes will say so
        problem = _query_error(response, config.secrets())
        if problem is not None:
            self._warn(
                f"InfluxDB at {config.addr} could not create database "
                f'"{config.database}" ({problem}); writing to it anyway'
            )

    async def finish(self) -> None:
        """Send what is left (bounded in time), count what could not be sent, close."""
        if self._pusher_done is None:
            self._finish_left_to_run = True  # `run` has not started: it sends and closes
            return
        await self._pusher_done.wait()
        await self._final_push()

    async def _final_push(self) -> None:
        try:
            if self._pending and self._client is not None:
                with anyio.move_on_after(FINISH_TIMEOUT_S):
                    await self._push()
        finally:
            self.undelivered += len(self._pending)
            self._pending = []
            if self._client is not None:
                client, self._client = self._client, None
                await client.aclose()
