"""The sandbox ASGI application: routing, faults, stats and the `/_sandbox` admin routes."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import struct
from typing import Any

import orjson

from dmsload.sandbox import change_queries, cms_routes, dms_routes, token_info
from dmsload.sandbox.capacity import CapacityGate
from dmsload.sandbox.config import SandboxConfig
from dmsload.sandbox.faults import FaultError
from dmsload.sandbox.http import (
    RESET,
    BodyTooLarge,
    Receive,
    Reply,
    Request,
    Scope,
    Send,
    declares_too_large,
    invalid_token,
    json_reply,
    problem,
    send_reply,
    too_large,
)
from dmsload.sandbox.state import SandboxState

ADMIN_PREFIX = "/_sandbox/"


class SandboxApp:
    """A raw ASGI app serving DMS and CMS routes on one port, from one SandboxState."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.capacity = CapacityGate()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        path: str = scope["path"]
        method: str = scope["method"]
        if declares_too_large(scope):  # refused before authentication, routing or faults
            await send_reply(send, too_large(state.next_trace_id()))
            return
        if path.startswith(ADMIN_PREFIX):
            req = Request(scope, receive, path, "")
            req.correlation_id = state.next_trace_id()
            try:
                reply = self._refuse_control(req) or await self._admin(req)
            except BodyTooLarge:
                reply = too_large(req.correlation_id)
            await send_reply(send, reply)
            return
        if path == "/config" or path.startswith("/config/"):
            await self._cms(scope, receive, send, path[7:] or "/", "/config")
            return
        if cms_routes.is_cms_path(path):
            await self._cms(scope, receive, send, path, "")
            return
        prefix = ""
        if path == "/api" or path.startswith("/api/"):
            prefix, path = "/api", path[4:] or "/"
        req = Request(scope, receive, path, prefix)
        req.correlation_id = (
            req.header(state.config.correlation_header.encode()) or state.next_trace_id()
        )
        is_data = path.startswith("/data/")
        if is_data:
            route = dms_routes.data_route_template(state, method, path[5:])
        else:
            route = f"{method} {path}" if path in _DMS_PATHS else f"{method} {{unmatched}}"
        retry_after = state.faults.rate_limited(req.host)
        if retry_after is not None:
            reply = problem(
                429,
                "too-many-requests",
                "The maximum number of requests has been exceeded. Please try again later.",
                req.correlation_id,
                headers=[(b"retry-after", str(retry_after).encode())],
            )
        else:
            try:
                async with self.capacity.serving(state.faults.settings):
                    if is_data:
                        reply = await self._faulted_data(req, path[5:])
                    else:
                        reply = await self._dms(req, path)
            except BodyTooLarge:
                reply = too_large(req.correlation_id)
        if reply.status == 0:
            state.stats.record(route, "reset")
            await _abort(receive, send)
            return
        state.stats.record(route, reply.status)
        await send_reply(send, reply)

    async def _faulted_data(self, req: Request, rest: str) -> Reply:
        state = self.state
        plan = state.faults.plan()
        if plan.delay_s > 0:
            await asyncio.sleep(plan.delay_s)
        if plan.action == "reset":
            return RESET
        if plan.action == "error":
            return _injected_error(state, req)
        return await dms_routes.data(state, req, rest)

    async def _dms(self, req: Request, path: str) -> Reply:
        state = self.state
        handler = _DMS_GET.get(path)
        if handler is not None:
            if req.method != "GET":
                return Reply(405, headers=[(b"allow", b"GET")])
            reply: Reply = handler(state, req)
            return reply
        if path == "/oauth/token":
            if req.method != "POST":
                return Reply(405, headers=[(b"allow", b"POST")])
            return await dms_routes.oauth_token(state, req)
        if path == change_queries.AVAILABLE_CHANGE_VERSIONS:
            if req.method != "GET":
                return Reply(405, headers=[(b"allow", b"GET")])
            if state.auth.bearer(req.header(b"authorization")) is None:
                return invalid_token(req)
            return change_queries.available_change_versions(state, req)
        if path == "/oauth/token_info":
            if req.method != "POST":
                return Reply(405, headers=[(b"allow", b"POST")])
            return await token_info.token_info(state, req)
        if path == "/management/reload-claimsets":
            if not state.config.claimset_reload:
                return dms_routes.not_found(req)
            if req.method != "POST":
                return Reply(405, headers=[(b"allow", b"POST")])
            return dms_routes.reload_claimsets(state, req)
        return dms_routes.not_found(req)

    async def _cms(
        self, scope: Scope, receive: Receive, send: Send, path: str, prefix: str
    ) -> None:
        state = self.state
        req = Request(scope, receive, path, prefix)
        req.correlation_id = (
            req.header(state.config.correlation_header.encode()) or state.next_trace_id()
        )
        try:
            reply = await cms_routes.dispatch(state, req)
        except BodyTooLarge:
            reply = too_large(req.correlation_id)
        state.stats.record(cms_routes.route_template(req.method, path), reply.status)
        await send_reply(send, reply)

    def _refuse_control(self, req: Request) -> Reply | None:
        """The 401 for a control request without the sandbox's control token, else None."""
        given = req.header(b"authorization") or ""
        scheme, _, token = given.partition(" ")
        if scheme.lower() == "bearer" and secrets.compare_digest(
            token.strip().encode(), self.state.control_token.encode()
        ):
            return None
        return problem(
            401,
            "authentication",
            "The /_sandbox control routes need the control token the sandbox printed at "
            "start: Authorization: Bearer TOKEN.",
            req.correlation_id,
            headers=[(b"www-authenticate", b'Bearer realm="dmsload-sandbox-control"')],
        )

    async def _admin(self, req: Request) -> Reply:
        state = self.state
        path, method = req.path, req.method
        if path == "/_sandbox/faults":
            if method == "GET":
                return json_reply(200, state.faults.settings.to_json())
            if method in ("PUT", "POST"):
                try:
                    changes = orjson.loads(await req.body() or b"{}")
                    if not isinstance(changes, dict):
                        raise FaultError("the body must be a JSON object of fault settings")
                    base = state.config.faults if method == "PUT" else state.faults.settings
                    settings = base.merged(changes)
                except (FaultError, orjson.JSONDecodeError) as exc:
                    return json_reply(400, {"error": str(exc)})
                state.faults.set(settings)
                return json_reply(200, settings.to_json())
            return Reply(405, headers=[(b"allow", b"GET, PUT, POST")])
        if path == "/_sandbox/stats":
            if method == "GET":
                return json_reply(200, state.stats.snapshot())
            if method == "DELETE":
                state.stats.reset()
                return Reply(204)
            return Reply(405, headers=[(b"allow", b"GET, DELETE")])
        if path == "/_sandbox/reset" and method == "POST":
            state.store.clear()
            state.stats.reset()
            state.faults.set(state.config.faults)
            if state.config.seed_descriptors:
                state.seed_descriptors()
            return Reply(204)
        if path == "/_sandbox/documents" and method == "GET":
            counts = {r.path: state.store.count(r) for r in state.schema.resources.values()}
            return json_reply(200, {"total": state.store.count(), "resources": counts})
        return json_reply(404, {"error": f"no admin route {method} {path}"})


_DMS_GET: dict[str, Any] = {
    "/": dms_routes.discovery,
    "/health": dms_routes.health,
    "/metadata": dms_routes.metadata,
    "/metadata/dependencies": dms_routes.dependencies,
    "/metadata/specifications": dms_routes.specifications,
    "/metadata/specifications/resources-spec.json": dms_routes.resources_spec,
    "/metadata/specifications/descriptors-spec.json": dms_routes.descriptors_spec,
}
_DMS_PATHS = frozenset(
    {
        *_DMS_GET,
        "/oauth/token",
        "/oauth/token_info",
        "/management/reload-claimsets",
        change_queries.AVAILABLE_CHANGE_VERSIONS,
    }
)


def _injected_error(state: SandboxState, req: Request) -> Reply:
    status = state.faults.settings.error_status
    retry = [(b"retry-after", str(state.faults.settings.retry_after_s).encode())]
    if status == 503:
        return problem(
            503,
            "service-unavailable",
            "The service is temporarily unavailable (injected by the dmsload sandbox).",
            req.correlation_id,
            headers=retry,
        )
    if status == 429:
        return problem(
            429,
            "too-many-requests",
            "The maximum number of requests has been exceeded. Please try again later.",
            req.correlation_id,
            headers=retry,
        )
    if status == 500:
        return problem(
            500,
            "system",
            "The server encountered an unexpected condition that prevented it "
            "from fulfilling the request.",
            req.correlation_id,
        )
    return problem(
        status,
        "bad-request",
        f"Injected error {status}.",
        req.correlation_id,
        title="Injected Fault",
    )


async def _abort(receive: Receive, send: Send) -> None:
    """Drop the connection without answering: a TCP reset where the server exposes its transport.

    uvicorn does not put the transport in the ASGI scope, but its `receive` is a bound method of
    the request cycle that holds it; with SO_LINGER 0, closing sends RST. Elsewhere, fall back to
    starting a response and raising, which makes the server close the connection mid-response.
    """
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        # Let uvicorn see the disconnect before the app returns, so it does not answer 500.
        for _ in range(3):
            await asyncio.sleep(0)
        if getattr(cycle, "disconnected", True):
            return
    await send(
        {"type": "http.response.start", "status": 500, "headers": [(b"content-length", b"100")]}
    )
    raise ConnectionAbortedError("dmsload sandbox: injected connection reset")


def create_app(
    config: SandboxConfig | None = None, state: SandboxState | None = None
) -> SandboxApp:
    """Build a sandbox app with fresh state from `config` (or around an existing state)."""
    return SandboxApp(
        state if state is not None else SandboxState.create(config or SandboxConfig())
    )
