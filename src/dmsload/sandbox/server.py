"""Run the sandbox under uvicorn + httptools; uvicorn stops gracefully on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import uvicorn

from dmsload.sandbox.app import SandboxApp


def make_server(app: SandboxApp, log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for the app: httptools parser, uvloop when installed, no access log."""
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:  # pragma: no cover - uvloop is a dmsload dependency off Windows
        loop = "asyncio"
    config = uvicorn.Config(
        app,
        http="httptools",
        loop=loop,
        lifespan="on",
        log_level=log_level,
        access_log=False,
        server_header=False,
        date_header=True,
        timeout_graceful_shutdown=2,
        timeout_keep_alive=130,
    )
    return uvicorn.Server(config)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0 picks a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the
    # protocol is explicit, and without it Nagle + delayed ACK add ~40 ms to every response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def base_url(sock: socket.socket) -> str:
    """`http://host:port` for a bound socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve(app: SandboxApp, sock: socket.socket, on_started: Callable[[], None]) -> None:
    """Serve on `sock` until SIGINT/SIGTERM; call `on_started` once the server is accepting."""
    server = make_server(app)

    async def main() -> None:
        task = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            on_started()
        await task

    if server.config.loop == "uvloop":
        import uvloop

        uvloop.run(main())
    else:
        asyncio.run(main())
