#!/usr/bin/env python3
"""Benchmark: requests/s the sandbox serves on one core, as a ratio of a bare ASGI peer.

Needs: Linux with `taskset` (util-linux) and 2+ CPUs, dmsload installed with the `sandbox`
extra (`pip install -e '.[dev]'`). No other tool: the load generator is a raw asyncio HTTP/1.1
client in this file (keep-alive, one request in flight per connection).

The server runs in a subprocess pinned to one core (`taskset -c 1`); the load generator pins
itself to core 0. The peer is a minimal raw ASGI "hello" app on the same uvicorn + httptools +
uvloop stack, measured the same way, so the ratios say what the sandbox's own work costs.

    .venv/bin/python scripts/bench/sandbox_throughput.py            # 5 s per case
    .venv/bin/python scripts/bench/sandbox_throughput.py --seconds 10 --connections 64

Exit status 1 if any sandbox case is under --floor req/s (default 3000).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]


# ---- server side -------------------------------------------------------------------------------
async def _hello(
    scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b'{"hello":"world"}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"17")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def serve(kind: str, port: int) -> None:
    """Run one server in this process (called in the pinned subprocess)."""
    from dmsload.sandbox.app import create_app
    from dmsload.sandbox.config import SandboxConfig
    from dmsload.sandbox.server import bind, make_server

    app: Any = create_app(SandboxConfig(seed_descriptors=True)) if kind == "sandbox" else _hello
    server = make_server(app)
    sock = bind("127.0.0.1", port)
    import uvloop

    uvloop.run(server.serve(sockets=[sock]))


# ---- load generator ----------------------------------------------------------------------------
def _request(method: str, path: str, token: str | None, body: bytes | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _one(port: int, raw: bytes) -> tuple[int, bytes, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    status, head, body = await _read(reader)
    writer.close()
    return status, head, body


async def _read(reader: asyncio.StreamReader) -> tuple[int, bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    lower = head.lower()
    at = lower.find(b"content-length:")
    if at >= 0:
        length = int(lower[at + 15 : lower.find(b"\r\n", at)])
    body = await reader.readexactly(length) if length else b""
    return status, head, body


async def _drive(
    port: int, make: Callable[[int], bytes], seconds: float, connections: int
) -> tuple[float, Counter[int]]:
    counts: Counter[int] = Counter()
    stop = time.perf_counter() + seconds
    sequence = iter(range(10**12))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < stop:
            writer.write(make(next(sequence)))
            status, _, _ = await _read(reader)
            counts[status] += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return sum(counts.values()) / elapsed, counts


def _student(n: int) -> bytes:
    return orjson.dumps(
        {
            "studentUniqueId": f"B{n % 10000:06d}",
            "firstName": "Bench",
            "lastSurname": f"Student{n % 10000}",
            "birthDate": "2010-01-01",
        }
    )


async def _prepare(port: int) -> dict[str, Any]:
    basic = base64.b64encode(b"minimalKey:minimalSecret").decode()
    form = b"grant_type=client_credentials"
    raw = (
        "POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Basic {basic}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(form)}\r\n\r\n"
    ).encode() + form
    status, _, body = await _one(port, raw)
    assert status == 200, (status, body)
    token = orjson.loads(body)["access_token"]
    first_location = ""
    for n in range(100):
        status, head, _ = await _one(
            port, _request("POST", "/data/ed-fi/students", token, _student(n))
        )
        assert status in (200, 201), status
        if n == 0:
            at = head.lower().find(b"location: ")
            first_location = head[at + 10 : head.find(b"\r\n", at)].decode()
    doc_path = "/" + first_location.split("/", 3)[3]
    return {"token": token, "doc_path": doc_path}


def _wait_for(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on port {port} did not start")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(kind: str, server_cpu: int) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    cmd = [sys.executable, str(HERE), "--serve", kind, "--port", str(port)]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", str(server_cpu), *cmd]
    proc = subprocess.Popen(cmd, cwd=REPO)
    _wait_for(port)
    return proc, port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each case")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up before each case")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--floor", type=float, default=3000.0, help="minimum sandbox req/s")
    parser.add_argument("--serve", choices=["sandbox", "hello"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return 0
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2 or not shutil.which("taskset"):
        print("warning: needs taskset and 2 CPUs to pin server and client apart; results unpinned")
        server_cpu = cpus[0] if cpus else 0
    else:
        server_cpu = cpus[1]
        os.sched_setaffinity(0, {cpus[0]})
    try:
        import uvloop

        run = uvloop.run
    except ImportError:
        run = asyncio.run

    def measure(port: int, make: Callable[[int], bytes]) -> tuple[float, Counter[int]]:
        run(_drive(port, make, args.warmup, args.connections))
        return run(_drive(port, make, args.seconds, args.connections))

    print(
        f"server pinned to CPU {server_cpu}, load generator on CPU {cpus[0] if cpus else '?'}; "
        f"{args.connections} keep-alive connections, {args.seconds:g} s per case "
        f"(+{args.warmup:g} s warm-up); python {sys.version.split()[0]}"
    )
    proc, port = _start("hello", server_cpu)
    try:
        peer, peer_counts = measure(port, lambda n: _request("GET", "/", None))
    finally:
        proc.terminate()
        proc.wait()
    print(
        f"peer  bare uvicorn+httptools ASGI hello  GET /          {peer:9.0f} req/s  "
        f"{dict(peer_counts)}"
    )

    proc, port = _start("sandbox", server_cpu)
    failed = False
    try:
        prep = run(_prepare(port))
        token, doc_path = prep["token"], prep["doc_path"]
        cases: list[tuple[str, Callable[[int], bytes], int]] = [
            ("GET /health", lambda n: _request("GET", "/health", None), 200),
            ("GET by id", lambda n: _request("GET", doc_path, token), 200),
            (
                "GET collection limit=25",
                lambda n: _request("GET", "/data/ed-fi/students?limit=25", token),
                200,
            ),
            (
                "POST upsert (students)",
                lambda n: _request("POST", "/data/ed-fi/students", token, _student(n)),
                0,
            ),
        ]
        for name, make, expected in cases:
            rate, counts = measure(port, make)
            bad = {s: c for s, c in counts.items() if (expected and s != expected) or s >= 300}
            ok = rate >= args.floor and not bad
            failed |= not ok
            print(
                f"sandbox {name:32s} {rate:9.0f} req/s  {rate / peer:5.2f} x peer  "
                f"{'ok' if ok else 'BELOW FLOOR or errors'}  {dict(counts)}"
            )
    finally:
        proc.terminate()
        proc.wait()
    print(f"floor: {args.floor:.0f} req/s per case on one core")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
