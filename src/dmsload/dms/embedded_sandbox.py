"""`--sandbox`: the embedded DMS-compatible sandbox as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dmsload import signals
from dmsload.sandbox.config import CONTROL_TOKEN_ENV

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


class SandboxStartError(RuntimeError):
    """The sandbox did not come up (its log's last lines are in the message)."""


@dataclass(frozen=True)
class EmbeddedSandbox:
    """A running sandbox subprocess."""

    base_url: str
    """DMS routes: `http://127.0.0.1:PORT`."""
    cms_url: str
    """Configuration Service routes: `http://127.0.0.1:PORT/config`."""
    control_token: str
    """The bearer token of its `/_sandbox/*` control routes."""


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise SandboxStartError(
                f"the sandbox exited with status {process.returncode}: {_tail(log_path)}"
            )
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        if time.monotonic() > deadline:
            raise SandboxStartError(
                f"the sandbox did not answer {url}/health within {STARTUP_TIMEOUT_S:.0f} s: "
                f"{_tail(log_path)}"
            )
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def embedded_sandbox(
    port: int | None = None, extra_args: Sequence[str] = ()
) -> Iterator[EmbeddedSandbox]:
    """Start `dmsload sandbox` on 127.0.0.1, wait for `/health`, and stop it on exit.

    Its output goes to a temporary log file, whose last lines explain a failed start; the file
    is removed when the sandbox stops. The subprocess is in its own process group, so the
    Ctrl-C meant for the run does not stop it mid-run.
    """
    port = port or free_loopback_port()
    control_token = secrets.token_urlsafe(24)
    log_dir = Path(tempfile.mkdtemp(prefix="dmsload-sandbox-"))
    log_path = log_dir / "sandbox.log"
    command = [
        sys.executable,
        "-m",
        "dmsload",
        "sandbox",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *extra_args,
    ]
    base_url = f"http://127.0.0.1:{port}"
    process: subprocess.Popen[bytes] | None = None
    try:
        # a signal in Popen would leave the sandbox running: it is raised once `process` is set
        with signals.deferred(), log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={
                    **os.environ,
                    "PYTHONUNBUFFERED": "1",
                    CONTROL_TOKEN_ENV: control_token,
                },
                start_new_session=True,
            )
        _wait_healthy(base_url, process, log_path)
        yield EmbeddedSandbox(
            base_url=base_url, cms_url=f"{base_url}/config", control_token=control_token
        )
    finally:
        try:
            if process is not None:
                _stop(process)
        finally:
            shutil.rmtree(log_dir, ignore_errors=True)
