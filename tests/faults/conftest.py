"""The fault suite's tools: a sandbox with faults, a small misbehaving server of the test's
own, an in-process run and a `dmsload` subprocess, and counts from both sides."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from dmsload.engine.runner import RunOptions, RunResult, run_profile
from dmsload.profile import load_profile
from dmsload.sandbox.testing import SandboxHandle, running_sandbox
from dmsload.settings import ConnectionSettings, load_settings
from dmsload.workloads import builtin_workloads

ROOT = Path(__file__).resolve().parents[2]

Respond = Callable[["Handler"], None]
"""Answers one request; the handler's `server.hits` already counts it."""


class Handler(BaseHTTPRequestHandler):
    """One request to a misbehaving server: counted, then answered by the test's function."""

    protocol_version = "HTTP/1.1"
    server: FakeServer

    def setup(self) -> None:
        """No Nagle: a head and a body written apart must not wait for a delayed ACK."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.lock:
            self.server.connections.append(self.connection)

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.body = self.rfile.read(length) if length else b""
        with self.server.lock:
            self.server.hits[f"{self.command} {self.path.split('?')[0]}"] += 1
        try:
            self.server.respond(self)
            self.wfile.flush()
        except OSError:  # the client gave up on us (a timeout, a too-large body)
            self.close_connection = True
            return
        with self.server.lock:
            self.server.answered[f"{self.command} {self.path.split('?')[0]}"] += 1

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def reply(self, status: int, body: Any = b"", headers: Mapping[str, str] | None = None) -> None:
        """Send a whole response (a JSON body when `body` is not bytes)."""
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if not isinstance(body, bytes):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class FakeServer(ThreadingHTTPServer):
    """A small HTTP server on a free loopback port that answers as the test says."""

    daemon_threads = True

    def __init__(self, respond: Respond, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.respond = respond
        self.lock = threading.Lock()
        self.hits: Counter[str] = Counter()
        """Requests received, by `METHOD /path`."""
        self.answered: Counter[str] = Counter()
        """Requests whose whole response was written, by `METHOD /path`."""
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        """Stop serving, close the socket and every open connection (the target goes down)."""
        self.shutdown()
        self.server_close()
        with self.lock:
            for conn in self.connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def fake_server() -> Iterator[Callable[..., FakeServer]]:
    servers: list[FakeServer] = []

    def start(respond: Respond, port: int = 0) -> FakeServer:
        server = FakeServer(respond, port)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def discovery(base: str) -> dict[str, Any]:
    """A DMS discovery document whose URLs point at `base`."""
    return {
        "version": "fake",
        "urls": {
            "dataManagementApi": f"{base}/data",
            "oauth": f"{base}/oauth/token",
            "dependencies": f"{base}/metadata/dependencies",
        },
    }


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed_descriptors=True) as handle:
        yield handle


def settings_for(base_url: str, tmp_path: Path, key: str = "k", secret: str = "s") -> Any:
    """Connection settings for a target with a preseeded key (nothing from the env)."""
    return load_settings(
        dms_url=base_url,
        cms_url=base_url + "/config",
        client_key=key,
        client_secret=secret,
        credentials_file=tmp_path / "no-credentials.json",
    )


@pytest.fixture
def settings(sandbox: SandboxHandle, tmp_path: Path) -> ConnectionSettings:
    result: ConnectionSettings = settings_for(
        sandbox.base_url, tmp_path, sandbox.client_key, sandbox.client_secret
    )
    return result


def run_toml(
    text: str,
    tmp_path: Path,
    settings: ConnectionSettings | None = None,
    *,
    time_scale: float = 1.0,
    env: Mapping[str, str] | None = None,
) -> RunResult:
    """Run a profile in this process (no signal handling, no progress)."""
    path = tmp_path / "profile.toml"
    path.write_text(text)
    profile = load_profile(path, builtin_workloads(), env=dict(env or {})).scaled(time_scale)
    options = RunOptions(quiet=True, handle_signals=False, connection=settings)
    return run_profile(profile, options)


def count(result: RunResult, metric: str = "http_reqs", **tags: str) -> float:
    """A counter's total over the series that carry `tags`."""
    view = result.registry.view(metric, tags)
    return 0.0 if view is None else view.counter_total()


def trend_max_ms(result: RunResult, metric: str, **tags: str) -> float:
    """The largest value of a trend over the series that carry `tags`, in ms."""
    view = result.registry.view(metric, tags)
    assert view is not None, f"no samples of {metric}{tags}"
    return float(view.percentile(100.0))


def dmsload(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 90,
) -> subprocess.CompletedProcess[str]:
    """Run `dmsload` as a user does; DMSLOAD_* comes only from `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DMSLOAD_")}
    return subprocess.run(
        [sys.executable, "-m", "dmsload", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**clean, **(env or {})},
    )


def sandbox_env(sandbox: SandboxHandle) -> dict[str, str]:
    """DMSLOAD_* for a run against `sandbox` with its preseeded key."""
    return {
        "DMSLOAD_DMS_URL": sandbox.base_url,
        "DMSLOAD_CMS_URL": sandbox.base_url + "/config",
        "DMSLOAD_CLIENT_KEY": sandbox.client_key,
        "DMSLOAD_CLIENT_SECRET": sandbox.client_secret,
    }


def served(sandbox: SandboxHandle, status: int | str, method: str | None = None) -> int:
    """Requests the sandbox answered with `status` (or reset: "reset"), on data routes."""
    routes = sandbox.state.stats.snapshot()["routes"]
    return sum(
        by_status.get(str(status), 0)
        for route, by_status in routes.items()
        if " /data/" in route and (method is None or route.startswith(f"{method} "))
    )


def fake_dms(
    token: Callable[[Handler], None] | None = None,
    data: Callable[[Handler], None] | None = None,
) -> Respond:
    """A minimal DMS: discovery, a token endpoint and data routes, each replaceable."""

    def default_token(h: Handler) -> None:
        h.reply(200, {"access_token": "t0k", "expires_in": 1800, "token_type": "Bearer"})

    def default_data(h: Handler) -> None:
        if h.command == "POST":
            h.reply(201, b"", {"Location": f"{h.path}/{abs(hash(h.body)) % 10**9}"})
        else:
            h.reply(200, [])

    def respond(h: Handler) -> None:
        if h.path == "/":
            h.reply(200, discovery(f"http://{h.headers['host']}"))
        elif h.path.startswith("/oauth/token"):
            (token or default_token)(h)
        else:
            (data or default_data)(h)

    return respond
