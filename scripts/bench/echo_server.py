"""A tiny HTTP/1.1 keep-alive server for engine tests, run as a subprocess on loopback.

GET /_stats → {"requests": N, "max_open": M, "open": K}; DELETE /_stats resets.
Any other request → 200 {"ok":true} after --delay-ms, or `?status=NNN` for that status.
Prints `PORT <n>` on stdout once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

stats = {"requests": 0, "open": 0, "max_open": 0}


async def _sleep_at_least(delay: float) -> None:
    """Sleep `delay` seconds or more: event-loop timers may fire up to a tick early."""
    deadline = time.perf_counter() + delay
    while (remaining := deadline - time.perf_counter()) > 0:
        await asyncio.sleep(remaining)


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    stats["open"] += 1
    stats["max_open"] = max(stats["max_open"], stats["open"])
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            if length:
                await reader.readexactly(length)
            status = 200
            if target.startswith("/_stats"):
                if method == "DELETE":
                    stats.update(requests=0, max_open=stats["open"])
                body = json.dumps(stats).encode()
            else:
                stats["requests"] += 1
                if "status=" in target:
                    status = int(target.split("status=", 1)[1][:3])
                if delay:
                    await _sleep_at_least(delay)
                body = b'{"ok":true}'
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        stats["open"] -= 1
        writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    delay = args.delay_ms / 1000

    async def on_connect(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await handle(r, w, delay)

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    async with server:
        await asyncio.wait_for(server.serve_forever(), timeout=600)  # bounded


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main())
    except (ImportError, AttributeError):
        asyncio.run(main())
