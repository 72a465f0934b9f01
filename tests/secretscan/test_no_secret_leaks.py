"""No secret in any output: every command runs with known secrets (the CMS client secret, the
DMS client secrets, an InfluxDB password, the sandbox's control token and every token the
sandbox issues), at every verbosity it has, and each of its outputs is searched for them:
stdout, stderr, every export and stream, the HTML report, and the credentials directory's
file names. The credentials file itself holds the secret by design (mode 0600).

The commands run as real processes against a sandbox and an InfluxDB receiver on loopback.
"""

from __future__ import annotations

import gzip
import os
import secrets
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import orjson
import pytest

from dmsload.sandbox.testing import SandboxHandle, running_sandbox

DMSLOAD = str(Path(sys.executable).parent / "dmsload")

# The last test checks what the others scanned: under xdist, tests/conftest.py (SHARED_STATE)
# has one worker run them all, in order.


def _secret(label: str) -> str:
    return f"{label}-{secrets.token_hex(12)}"


CMS_SECRET = _secret("cms-secret")
PRESEEDED_SECRET = _secret("dms-secret")
INFLUX_PASSWORD = _secret("influx-pw")
WRONG_SECRET = _secret("wrong-secret")
API_TOKEN = _secret("api-token")  # given to a profile with -e API_TOKEN=...


@dataclass
class Influx:
    """A line-protocol receiver: records every body and Authorization header it is sent."""

    url: str
    bodies: list[bytes] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)

    def text(self) -> str:
        return b"\n".join(self.bodies).decode("utf-8", "replace")


@pytest.fixture(scope="module")
def influx() -> Iterator[Influx]:
    received = Influx("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            received.authorizations.append(self.headers.get("authorization") or "")
            if self.path.startswith("/write"):
                received.bodies.append(body)
                self.send_response(204)
                self.end_headers()
                return
            payload = b'{"results":[{"statement_id":0}]}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    received.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield received
    server.shutdown()
    thread.join(timeout=10)


@dataclass
class World:
    """The sandbox, a working directory, and every output gathered so far, by label."""

    sandbox: SandboxHandle
    directory: Path
    outputs: dict[str, str] = field(default_factory=dict)
    issued: set[str] = field(default_factory=set)

    def env(self, **extra: str) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("DMSLOAD_")}
        return {
            **clean,
            "DMSLOAD_DMS_URL": self.sandbox.base_url,
            "DMSLOAD_CMS_URL": f"{self.sandbox.base_url}/config",
            "DMSLOAD_CMS_CLIENT_SECRET": CMS_SECRET,
            **extra,
        }

    def run(self, label: str, *argv: str, timeout: float = 120, **env: str) -> int:
        """Run `dmsload ARGV` here; record its stdout and stderr; return its exit status."""
        done = subprocess.run(
            [DMSLOAD, *argv],
            cwd=self.directory,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.outputs[f"{label}: stdout"] = done.stdout
        self.outputs[f"{label}: stderr"] = done.stderr
        self.note_tokens()
        return done.returncode

    def note_tokens(self) -> None:
        """Every bearer token the sandbox has issued so far (none expires within the test)."""
        self.issued.update(self.sandbox.state.auth.tokens)

    def files(self, label: str, *paths: Path) -> None:
        """Record the content of files (every file under a directory), by path."""
        for path in paths:
            found = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            assert found, f"{label}: {path} wrote nothing"
            for item in found:
                self.outputs[f"{label}: {item.relative_to(self.directory)}"] = (
                    item.read_bytes().decode("utf-8", "replace")
                )

    def known_secrets(self) -> dict[str, str]:
        credentials = orjson.loads((self.directory / ".dmsload" / "credentials.json").read_bytes())
        found = {
            "CMS client secret": CMS_SECRET,
            "preseeded DMS client secret": PRESEEDED_SECRET,
            "application secret (setup)": credentials["secret"],
            "InfluxDB password": INFLUX_PASSWORD,
            "wrong secret given": WRONG_SECRET,
            "-e API_TOKEN value": API_TOKEN,
            "sandbox control token": self.sandbox.control_token,
        }
        for i, token in enumerate(sorted(self.issued)):
            found[f"issued token #{i + 1}"] = token
        return found

    def leaks(self, labels: list[str]) -> list[str]:
        known = self.known_secrets()
        return [
            f"{name} in {label}"
            for label in labels
            for name, value in known.items()
            if value in self.outputs[label]
        ]


PROFILE = """
[scenarios.writes]
executor = "constant-vus"
vus = 2
duration = "2s"
workload = "create"
options = {{ resource = "students" }}

[scenarios.refused]
executor = "shared-iterations"
vus = 1
iterations = 3
workload = "http"

[scenarios.refused.options]
url = "{url}/data/ed-fi/students"
headers = {{ Authorization = "Bearer ${{API_TOKEN}}" }}
name = "refused"

[scenarios.userinfo]
executor = "shared-iterations"
vus = 1
iterations = 2
workload = "http"
options = {{ url = "http://dmsload:${{API_TOKEN}}@{host}/health" }}

[thresholds]
http_req_duration = ["p(95)<5000"]
checks = ["rate>0"]
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    directory = tmp_path_factory.mktemp("secrets")
    with running_sandbox(
        seed_descriptors=True,
        client_key="preseededKey",
        client_secret=PRESEEDED_SECRET,
        admin_client_secret=CMS_SECRET,
    ) as sandbox:
        here = World(sandbox, directory)
        (directory / "p.toml").write_text(
            PROFILE.format(url=sandbox.base_url, host=sandbox.base_url.removeprefix("http://"))
        )
        yield here


def _assert_clean(world: World, prefix: str) -> int:
    labels = [label for label in world.outputs if label.startswith(prefix)]
    assert labels, prefix
    leaks = world.leaks(labels)
    assert not leaks, "secrets found:\n" + "\n".join(leaks)
    return len(labels)


def test_setup(world: World) -> None:
    assert world.run("setup", "setup") == 0, world.outputs["setup: stderr"]
    assert world.run("setup again", "setup") == 0  # reuses the application: prints it again
    code = world.run("setup wrong cms secret", "setup", DMSLOAD_CMS_CLIENT_SECRET=WRONG_SECRET)
    assert code == 1
    _assert_clean(world, "setup")


def test_the_scan_finds_a_planted_secret(world: World) -> None:
    """The scanner itself: a secret planted in an output is found, and named."""
    world.outputs["planted: stdout"] = f"ok\nAuthorization: Basic {CMS_SECRET}\n"
    world.outputs["planted: stderr"] = "nothing here"
    assert world.leaks(["planted: stdout", "planted: stderr"]) == [
        "CMS client secret in planted: stdout"
    ]
    del world.outputs["planted: stdout"], world.outputs["planted: stderr"]


def test_credentials_directory(world: World) -> None:
    """The credentials file is 0600 in a 0700 directory; no file name holds a secret."""
    directory = world.directory / ".dmsload"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "credentials.json").stat().st_mode) == 0o600
    listing = "\n".join(
        sorted(str(p.relative_to(world.directory)) for p in world.directory.rglob("*"))
    )
    world.outputs["credentials listing"] = listing
    _assert_clean(world, "credentials listing")


def test_validate(world: World) -> None:
    assert world.run("validate", "validate", "p.toml", "-e", f"API_TOKEN={API_TOKEN}") == 0
    _assert_clean(world, "validate")


@pytest.mark.parametrize("verbosity", ["-v", "default", "--quiet"])
def test_run_with_every_export_and_stream(world: World, influx: Influx, verbosity: str) -> None:
    name = verbosity.strip("-")
    out = world.directory / f"run-{name}"
    out.mkdir()
    flags = [] if verbosity == "default" else [verbosity]
    before = len(influx.bodies)
    # a few 500s and resets on the data routes: failed requests for -v to log
    world.sandbox.set_faults(error_rate=0.05, reset_rate=0.02, seed=11)
    # -eVAR=VALUE and -oKIND=TARGET: Click's attached short forms, in one of the runs
    env_flag = [f"-eAPI_TOKEN={API_TOKEN}"] if name == "v" else ["-e", f"API_TOKEN={API_TOKEN}"]
    influx_target = f"influxdb=http://dmsload:{INFLUX_PASSWORD}@{influx.url[7:]}/dmsload"
    influx_flag = [f"-o{influx_target}"] if name == "v" else ["--out", influx_target]
    code = world.run(
        f"run {name}",
        "run", "p.toml", *flags, *env_flag, *influx_flag,
        "--summary-export", str(out / "k6.json"),
        "--summary-json", str(out / "run.summary.json"),
        "--junit", str(out / "junit.xml"),
        "--out", f"json={out / 'samples.ndjson'}",
        "--out", f"csv={out / 'samples.csv.gz'}",
        "--out", f"hdrlog={out / 'latency.hlog'}",
        DMSLOAD_INFLUXDB_PUSH_INTERVAL="200ms",
    )  # fmt: skip
    assert code in (0, 99), world.outputs[f"run {name}: stderr"]
    assert len(influx.bodies) > before, "the InfluxDB receiver got nothing"
    world.outputs[f"run {name}: influxdb lines"] = b"\n".join(influx.bodies[before:]).decode()
    world.outputs[f"run {name}: samples.csv (gunzipped)"] = gzip.decompress(
        (out / "samples.csv.gz").read_bytes()
    ).decode()
    world.files(f"run {name}", out)
    if verbosity == "-v":
        assert "request failed" in world.outputs["run v: stderr"]  # -v had something to log
    count = _assert_clean(world, f"run {name}")
    assert count >= 9


def test_run_with_settings_from_the_environment(world: World) -> None:
    """Client key and secret from DMSLOAD_CLIENT_KEY/SECRET instead of the file."""
    code = world.run(
        "run env credentials",
        "run", "p.toml", "-v", "-e", f"API_TOKEN={API_TOKEN}",
        DMSLOAD_CLIENT_KEY="preseededKey",
        DMSLOAD_CLIENT_SECRET=PRESEEDED_SECRET,
    )  # fmt: skip
    assert code in (0, 1, 99)
    _assert_clean(world, "run env credentials")


def test_run_with_a_wrong_secret(world: World) -> None:
    """The token endpoint refuses it: the error says so without repeating the secret."""
    code = world.run(
        "run wrong secret",
        "run", "p.toml", "-v", "-e", f"API_TOKEN={API_TOKEN}",
        DMSLOAD_CLIENT_KEY="preseededKey",
        DMSLOAD_CLIENT_SECRET=WRONG_SECRET,
    )  # fmt: skip
    assert code != 0
    _assert_clean(world, "run wrong secret")


def test_report_and_compare(world: World) -> None:
    summary = world.directory / "run-v" / "run.summary.json"
    other = world.directory / "run-quiet" / "run.summary.json"
    report = world.directory / "report.html"
    assert world.run("report", "report", str(summary), "-o", str(report)) == 0
    world.files("report", report)
    code = world.run(
        "compare",
        "compare", str(summary), str(other), "--fail-on", "p(95)>+1000%",
        "--markdown", "cmp.md", "--json", "cmp.json",
    )  # fmt: skip
    assert code in (0, 99)
    world.files("compare", world.directory / "cmp.md", world.directory / "cmp.json")
    _assert_clean(world, "report")
    _assert_clean(world, "compare")


@pytest.mark.parametrize("verbosity", ["default", "--quiet"])
def test_suite(world: World, verbosity: str) -> None:
    results = world.directory / f"suite-{verbosity.strip('-')}"
    flags = [] if verbosity == "default" else [verbosity]
    code = world.run(
        f"suite {verbosity}",
        "suite", "--profiles", "p.toml", "--results-dir", str(results), "--cooldown", "0s",
        "--time-scale", "0.5", "-e", f"API_TOKEN={API_TOKEN}", *flags,
    )  # fmt: skip
    assert code in (0, 99), world.outputs[f"suite {verbosity}: stderr"]
    world.files(f"suite {verbosity}", results)
    _assert_clean(world, f"suite {verbosity}")


def test_sandbox_command(world: World) -> None:
    """`dmsload sandbox` prints the credentials it accepts and its control token, by design;
    the tokens it issues and the application secrets its CMS creates never show."""
    process = subprocess.Popen(
        [DMSLOAD, "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=world.env(),
    )
    issued: list[str] = []
    try:
        assert process.stdout is not None
        banner = ""
        deadline = time.monotonic() + 60
        while "Bearer" not in banner and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            banner += line
        url = banner.split("base URL", 1)[1].split()[0]
        with httpx.Client(base_url=url, timeout=10) as client:
            for _ in range(3):
                response = client.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=("minimalKey", "minimalSecret"),
                )
                issued.append(response.json()["access_token"])
            client.get("/data/ed-fi/students", headers={"Authorization": f"Bearer {issued[0]}"})
            client.get("/data/ed-fi/students", headers={"Authorization": "Bearer nope"})
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=30)
    text = banner + stdout + stderr
    assert issued and not [token for token in issued if token in text]
    world.outputs["sandbox: output"] = text
    assert world.leaks(["sandbox: output"]) == []


def test_every_command_and_output_was_scanned(world: World) -> None:
    """The scan covered every command, at every verbosity it has, and every kind of output."""
    labels = set(world.outputs)
    commands = {label.split(":")[0].split(" ")[0] for label in labels}
    assert {"setup", "validate", "run", "report", "compare", "suite", "sandbox"} <= commands
    for needle in ("run v: stderr", "run default: stderr", "run quiet: stderr",
                   "suite default: stdout", "suite --quiet: stdout", "influxdb lines",
                   "samples.ndjson", "samples.csv", "latency.hlog", "k6.json", "junit.xml",
                   "run.summary.json", "report.html", "cmp.md", "cmp.json", "suite.json",
                   "credentials listing"):  # fmt: skip
        assert any(needle in label for label in labels), needle
    assert len(world.known_secrets()) >= 10
    print(f"\nsecret scan: {len(labels)} outputs x {len(world.known_secrets())} secrets")
