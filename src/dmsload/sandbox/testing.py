"""Start a sandbox for tests: in a background thread, or as a task in the running event loop.

from dmsload.sandbox.testing import running_sandbox

with running_sandbox(seed_descriptors=True) as sandbox:
    httpx.get(f"{sandbox.base_url}/health")
    sandbox.state.store.count()      # direct inspection
    sandbox.set_faults(error_rate=0.5)
    httpx.get(f"{sandbox.base_url}/_sandbox/stats", headers=sandbox.control_headers)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from dmsload.sandbox.app import SandboxApp, create_app
from dmsload.sandbox.config import SandboxConfig
from dmsload.sandbox.faults import FaultSettings
from dmsload.sandbox.schema import ApiSchema, load_api_schema
from dmsload.sandbox.server import base_url, bind, make_server
from dmsload.sandbox.state import SandboxState

_SCHEMA_CACHE: dict[str, ApiSchema] = {}


def _config(config: SandboxConfig | None, overrides: dict[str, Any]) -> SandboxConfig:
    cfg = config or SandboxConfig()
    faults = overrides.pop("faults", None)
    if isinstance(faults, dict):
        overrides["faults"] = FaultSettings().merged(faults)
    elif faults is not None:
        overrides["faults"] = faults
    cfg = dataclasses.replace(cfg, **overrides)
    if cfg.schema is None:
        # Compiling validators takes a few ms; tests start many sandboxes on one schema.
        key = str(cfg.schema_path)
        if key not in _SCHEMA_CACHE:
            _SCHEMA_CACHE[key] = load_api_schema(cfg.schema_path)
        cfg = dataclasses.replace(cfg, schema=_SCHEMA_CACHE[key])
    return cfg


@dataclass
class SandboxHandle:
    """A running sandbox: where it listens, its state, and how to stop it."""

    base_url: str
    app: SandboxApp
    server: uvicorn.Server
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def state(self) -> SandboxState:
        """The live state (store, auth, cms, faults, stats) for direct inspection."""
        return self.app.state

    @property
    def client_key(self) -> str:
        """The preseeded DMS client key."""
        return self.state.config.client_key

    @property
    def client_secret(self) -> str:
        """The preseeded DMS client secret."""
        return self.state.config.client_secret

    @property
    def control_token(self) -> str:
        """The bearer token the `/_sandbox/*` control routes require."""
        return self.state.control_token

    @property
    def control_headers(self) -> dict[str, str]:
        """The `Authorization` header of a `/_sandbox/*` control request."""
        return {"Authorization": f"Bearer {self.control_token}"}

    def control_client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client on the sandbox's base URL that sends the control token."""
        headers = {**self.control_headers, **kwargs.pop("headers", {})}
        return httpx.Client(base_url=self.base_url, headers=headers, **kwargs)

    def set_faults(self, **changes: Any) -> FaultSettings:
        """Change fault settings from the test thread (as `POST /_sandbox/faults` does)."""
        settings = self.state.faults.settings.merged(changes)
        self.state.faults.set(settings)
        return settings

    def stop(self) -> None:
        """Ask the server to exit and wait for it (idempotent)."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


@contextlib.contextmanager
def running_sandbox(
    config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0, **overrides: Any
) -> Iterator[SandboxHandle]:
    """Serve a fresh sandbox in a background thread on a free loopback port; stop it on exit.

    `overrides` replace SandboxConfig fields, e.g. `seed_descriptors=True`,
    `token_lifetime_s=2`, `faults={"error_rate": 0.1}`.
    """
    handle = start_sandbox(config, host, port, **overrides)
    try:
        yield handle
    finally:
        handle.stop()


def start_sandbox(
    config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0, **overrides: Any
) -> SandboxHandle:
    """Start a sandbox in a background thread and return once it accepts connections."""
    app = create_app(_config(config, overrides))
    sock = bind(host, port)
    server = make_server(app)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # pragma: no cover - surfaced below
            failure.append(exc)
        finally:
            sock.close()

    thread = threading.Thread(target=run, name="dmsload-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if failure or not thread.is_alive():
            raise RuntimeError(
                f"the sandbox failed to start: {failure[0] if failure else 'exited'}"
            )
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the sandbox did not start within 10 s")
        time.sleep(0.002)
    return SandboxHandle(base_url(sock), app, server, thread)


@contextlib.asynccontextmanager
async def running_sandbox_async(
    config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0, **overrides: Any
) -> AsyncIterator[SandboxHandle]:
    """Serve a fresh sandbox as a task of the running asyncio loop (same overrides as above)."""
    app = create_app(_config(config, overrides))
    sock = bind(host, port)
    server = make_server(app)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the sandbox exited before it started")
            await asyncio.sleep(0.002)
        yield SandboxHandle(base_url(sock), app, server)
    finally:
        server.should_exit = True
        await task
        sock.close()
