"""`dmsload run` with credentials the token endpoint refuses: fail at once, unless a new key."""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmsload.dms.credentials import ClientCredentials, write_credentials
from dmsload.sandbox.testing import SandboxHandle, running_sandbox

pytestmark = pytest.mark.serial  # bounds on how long a failing run takes

PROFILE = """
[scenarios.one]
executor = "shared-iterations"
vus = 1
iterations = 1
workload = "create"
options = { resource = "students" }
"""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed_descriptors=True) as handle:
        yield handle


def _run(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    (tmp_path / "p.toml").write_text(PROFILE)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DMSLOAD_")}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "dmsload", "run", "p.toml", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**clean, **env},
    )
    return done, time.monotonic() - started


def _written_at(seconds_ago: float) -> str:
    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=seconds_ago)
    return when.isoformat(timespec="milliseconds")


def test_a_wrong_secret_fails_the_run_at_once_naming_the_token_url(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    done, took = _run(
        tmp_path,
        DMSLOAD_DMS_URL=sandbox.base_url,
        DMSLOAD_CLIENT_KEY=sandbox.client_key,
        DMSLOAD_CLIENT_SECRET="wrong-secret-value",
    )
    assert done.returncode == 1, done.stderr
    assert took < 5.0, took
    failed = [line for line in done.stderr.splitlines() if "the run failed" in line]
    assert failed == [
        f"dmsload: the run failed: token request to {sandbox.base_url}/oauth/token "
        "answered 401: The specified client credentials are invalid."
    ], done.stderr
    assert "retrying" not in done.stderr
    assert "wrong-secret-value" not in done.stderr + done.stdout


def test_an_old_credentials_file_with_a_wrong_secret_fails_at_once(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    path = tmp_path / "creds.json"
    credentials = ClientCredentials.of(sandbox.client_key, "rotated-away")
    write_credentials(path, credentials, {"written_at": _written_at(3600)})
    done, took = _run(
        tmp_path, DMSLOAD_DMS_URL=sandbox.base_url, DMSLOAD_CREDENTIALS_FILE=str(path)
    )
    assert done.returncode == 1 and took < 5.0, (took, done.stderr)
    assert "answered 401" in done.stderr and "retrying" not in done.stderr


def test_a_credentials_file_written_seconds_ago_gets_the_rest_of_the_grace(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """A key setup has just written may be refused for a while: the run retries and says so."""
    path = tmp_path / "creds.json"
    credentials = ClientCredentials.of(sandbox.client_key, "not-accepted-yet")
    write_credentials(path, credentials, {"written_at": _written_at(27)})
    done, took = _run(
        tmp_path, DMSLOAD_DMS_URL=sandbox.base_url, DMSLOAD_CREDENTIALS_FILE=str(path)
    )
    assert done.returncode == 1, done.stderr
    assert re.search(
        r"^dmsload: the new key is not accepted yet \(401\); retrying for up to [123] s$",
        done.stderr,
        re.MULTILINE,
    ), done.stderr
    assert 1.0 < took < 8.0, took  # retried for what was left of the 30 s, no more
