"""Headless Chromium driven over the DevTools protocol, for the HTML report's browser test.

`Browser.launch()` starts Debian's chromium with a throwaway profile on a random debugging
port, reads the `DevTools listening on ws://...` line it prints, and connects with a minimal
RFC 6455 WebSocket client (stdlib only: text frames, masking, fragmentation, ping/pong).
`Browser.open_page()` attaches to the page target in flat mode; every command and every wait
has a deadline, and `close()` kills the browser whatever happened.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


def find_chromium() -> str | None:
    """The chromium executable, or None when it is not installed."""
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


class CdpError(RuntimeError):
    """The browser failed, answered an error, or did not answer in time."""


class WebSocket:
    """A blocking client WebSocket: enough of RFC 6455 for the DevTools protocol."""

    def __init__(self, url: str, timeout_s: float) -> None:
        parts = urlsplit(url)
        if parts.scheme != "ws" or parts.hostname is None or parts.port is None:
            raise CdpError(f"unexpected DevTools URL {url!r}")
        self._sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout_s)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self._sock.sendall(request.encode())
        self._buffer = b""
        head = self._read_until(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            raise CdpError(f"WebSocket handshake refused: {status.decode(errors='replace')}")

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            self._fill()
        head, _, self._buffer = self._buffer.partition(marker)
        return head

    def _fill(self) -> None:
        chunk = self._sock.recv(1 << 16)
        if not chunk:
            raise CdpError("the browser closed the DevTools connection")
        self._buffer += chunk

    def _read(self, count: int) -> bytes:
        while len(self._buffer) < count:
            self._fill()
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        header = bytearray([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header.append(0x80 | length)
        elif length < 1 << 16:
            header.append(0x80 | 126)
            header += struct.pack("!H", length)
        else:
            header.append(0x80 | 127)
            header += struct.pack("!Q", length)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self._sock.sendall(bytes(header) + mask + masked)

    def send_text(self, text: str) -> None:
        """One text message."""
        self._send_frame(0x1, text.encode())

    def receive_text(self, timeout_s: float) -> str:
        """The next text message (answering pings); CdpError on close or timeout."""
        self._sock.settimeout(max(timeout_s, 0.01))
        message = b""
        try:
            while True:
                first, second = self._read(2)
                opcode, final = first & 0x0F, bool(first & 0x80)
                length = second & 0x7F
                if length == 126:
                    (length,) = struct.unpack("!H", self._read(2))
                elif length == 127:
                    (length,) = struct.unpack("!Q", self._read(8))
                if second & 0x80:
                    mask = self._read(4)
                    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read(length)))
                else:
                    payload = self._read(length)
                if opcode == 0x9:
                    self._send_frame(0xA, payload)
                    continue
                if opcode == 0x8:
                    raise CdpError("the browser closed the DevTools connection")
                if opcode in (0x0, 0x1):
                    message += payload
                    if final:
                        return message.decode()
        except TimeoutError:
            raise CdpError(f"no DevTools message within {timeout_s:.1f} s") from None

    def close(self) -> None:
        """Close the socket (no closing handshake: the browser is killed next)."""
        with contextlib.suppress(OSError):
            self._sock.close()


class Page:
    """One page target, attached in flat mode: commands, and the events it sent."""

    def __init__(self, browser: Browser, session_id: str) -> None:
        self.browser = browser
        self.session_id = session_id

    def send(self, method: str, params: dict[str, Any] | None = None, timeout_s: float = 10) -> Any:
        """A command to this page; its result."""
        return self.browser.send(method, params, timeout_s=timeout_s, session_id=self.session_id)

    def events(self, method: str | None = None) -> list[dict[str, Any]]:
        """The params of every event this page sent so far (of one method, if given)."""
        return [
            event.get("params", {})
            for event in self.browser.events
            if event.get("sessionId") == self.session_id
            and (method is None or event.get("method") == method)
        ]

    def wait_for_event(self, method: str, timeout_s: float) -> dict[str, Any]:
        """The first event `method` of this page (already received or coming)."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.events(method)
            if found:
                return found[0]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CdpError(f"no {method} within {timeout_s:.1f} s")
            self.browser.pump(min(remaining, 0.5))

    def evaluate(self, expression: str, timeout_s: float = 10) -> Any:
        """The value of a JS expression (awaited if it is a promise); CdpError if it throws."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            timeout_s=timeout_s,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CdpError(f"the page threw evaluating {expression[:60]!r}: {text}")
        return result.get("result", {}).get("value")

    def wait_until(self, expression: str, timeout_s: float) -> None:
        """Poll a JS expression until it is truthy."""
        deadline = time.monotonic() + timeout_s
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise CdpError(f"{expression!r} still false after {timeout_s:.1f} s")
            time.sleep(0.05)


class Browser:
    """A headless Chromium process and its DevTools connection."""

    def __init__(self, process: subprocess.Popen[bytes], profile_dir: str, ws: WebSocket) -> None:
        self.process = process
        self.profile_dir = profile_dir
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._next_id = 0

    @classmethod
    def launch(cls, executable: str, timeout_s: float = 20) -> Browser:
        """Start chromium headless and connect to it."""
        profile_dir = tempfile.mkdtemp(prefix="dmsload-chromium-")
        log_path = Path(profile_dir) / "stderr.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    executable,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-extensions",
                    "--hide-scrollbars",
                    "--force-color-profile=srgb",
                    f"--user-data-dir={profile_dir}",
                    "--remote-debugging-port=0",
                    "about:blank",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
        try:
            url = cls._devtools_url(process, log_path, timeout_s)
            return cls(process, profile_dir, WebSocket(url, timeout_s))
        except BaseException:
            _kill(process, profile_dir)
            raise

    @staticmethod
    def _devtools_url(process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            match = _LISTENING.search(text)
            if match:
                return match.group(1)
            if process.poll() is not None:
                raise CdpError(f"chromium exited with {process.returncode}: {text[-2000:]}")
            time.sleep(0.05)
        raise CdpError(f"chromium printed no DevTools URL within {timeout_s:.0f} s")

    def pump(self, timeout_s: float) -> dict[str, Any] | None:
        """Receive one message; events are kept in `events`. None on timeout."""
        try:
            message: dict[str, Any] = json.loads(self.ws.receive_text(timeout_s))
        except CdpError as exc:
            if "no DevTools message" in str(exc):
                return None
            raise
        if "id" not in message:
            self.events.append(message)
        return message

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout_s: float = 10,
        session_id: str | None = None,
    ) -> Any:
        """A command; its result (events received meanwhile are kept)."""
        self._next_id += 1
        command: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session_id is not None:
            command["sessionId"] = session_id
        self.ws.send_text(json.dumps(command))
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CdpError(f"{method}: no answer within {timeout_s:.1f} s")
            message = self.pump(remaining)
            if message is not None and message.get("id") == self._next_id:
                if "error" in message:
                    raise CdpError(f"{method}: {message['error']}")
                return message.get("result", {})

    def open_page(self) -> Page:
        """Attach to the page chromium opened (about:blank)."""
        deadline = time.monotonic() + 10
        while True:
            targets = self.send("Target.getTargets")["targetInfos"]
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                break
            if time.monotonic() > deadline:
                raise CdpError("chromium has no page target")
            time.sleep(0.05)
        attached = self.send(
            "Target.attachToTarget", {"targetId": pages[0]["targetId"], "flatten": True}
        )
        return Page(self, attached["sessionId"])

    def close(self) -> None:
        """Disconnect and kill the browser; remove its profile."""
        self.ws.close()
        _kill(self.process, self.profile_dir)


def _kill(process: subprocess.Popen[bytes], profile_dir: str) -> None:
    """Kill chromium's process group (it was started in a session of its own: the renderer
    and GPU helpers go with it), then remove its profile."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
    shutil.rmtree(profile_dir, ignore_errors=True)


@contextlib.contextmanager
def launched(executable: str) -> Iterator[Browser]:
    """A browser for the length of a `with` block; killed on the way out, whatever happened."""
    browser = Browser.launch(executable)
    try:
        yield browser
    finally:
        browser.close()
