"""`-v` shows why a request failed (the body's start, secrets redacted), seeding failures and
retries included; a refused key whose credentials file is stale or for another DMS says so."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest

from dmsload.dms.credentials import ClientCredentials, write_credentials
from dmsload.sandbox.testing import SandboxHandle

from .conftest import FakeServer, Handler, dmsload, sandbox_env

ONE_REQUEST = """
[scenarios.one]
executor = "shared-iterations"
vus = 1
iterations = {iterations}
workload = "{workload}"
options = {options}
"""


def test_verbose_shows_the_start_of_a_failed_body_with_secrets_redacted(
    fake_server: type[FakeServer], tmp_path: Path
) -> None:
    def conflict(h: Handler) -> None:
        h.reply(
            409,
            {
                "detail": "identity already exists (natural key 'abc')",
                "access_token": "tok-SECRET-1",
                "client_secret": "sec-SECRET-2",
            },
        )

    server = fake_server(conflict)  # type: ignore[call-arg]
    profile = ONE_REQUEST.format(
        iterations=3, workload="http", options=f'{{ url = "{server.url}/x", method = "POST" }}'
    )
    (tmp_path / "p.toml").write_text(profile)
    done = dmsload("run", "p.toml", "-v", "--quiet", cwd=tmp_path)
    lines = [line for line in done.stderr.splitlines() if "request failed" in line]
    assert len(lines) == 3 == server.hits["POST /x"], done.stderr
    assert "status=409" in lines[0]
    assert "identity already exists (natural key 'abc')" in lines[0]
    assert "SECRET" not in done.stderr + done.stdout
    assert '"access_token":"***"' in lines[0]


def test_verbose_logs_failed_seeding_requests_and_their_retries(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    sandbox.set_faults(error_rate=0.3, error_status=500, seed=4)
    profile = ONE_REQUEST.format(iterations=2, workload="query", options="{ seed_students = 10 }")
    (tmp_path / "p.toml").write_text(profile)
    done = dmsload("run", "p.toml", "-v", "--quiet", cwd=tmp_path, env=sandbox_env(sandbox))
    assert done.returncode == 0, done.stderr
    assert "request failed: scenario=setup POST /ed-fi/" in done.stderr
    assert "status=500 body: {" in done.stderr and "System Error" in done.stderr
    assert "dmsload: setup request POST /ed-fi/" in done.stderr
    assert "retrying in" in done.stderr


def _refused_run(tmp_path: Path, sandbox: SandboxHandle, extra: dict[str, str]) -> str:
    path = tmp_path / "creds.json"
    write_credentials(path, ClientCredentials.of("old-key", "old-secret"), extra)
    profile = ONE_REQUEST.format(
        iterations=1, workload="create", options='{ resource = "students" }'
    )
    (tmp_path / "p.toml").write_text(profile)
    done = dmsload(
        "run",
        "p.toml",
        "-q",
        cwd=tmp_path,
        env={"DMSLOAD_DMS_URL": sandbox.base_url, "DMSLOAD_CREDENTIALS_FILE": str(path)},
    )
    assert done.returncode == 1, done.stderr
    assert "old-secret" not in done.stderr + done.stdout
    return done.stderr


@pytest.mark.serial
def test_a_refused_key_from_a_file_for_another_dms_says_so(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
    started = time.monotonic()
    stderr = _refused_run(tmp_path, sandbox, {"dms_url": "http://10.9.9.9:8080", "written_at": now})
    # written just now, but for another DMS: not a new key here, so no 30 s new-key grace
    assert time.monotonic() - started < 20 and "not accepted yet" not in stderr
    assert "answered 401" in stderr
    assert f"was written by `dmsload setup` for http://10.9.9.9:8080, not {sandbox.base_url}" in (
        stderr
    )
    assert "run `dmsload setup`" in stderr


def test_a_refused_key_from_an_old_file_says_how_old(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=3)
    stderr = _refused_run(
        tmp_path,
        sandbox,
        {"dms_url": sandbox.base_url, "written_at": old.isoformat(timespec="milliseconds")},
    )
    assert "answered 401" in stderr
    assert "was written 3 days ago" in stderr and "run `dmsload setup` to refresh it" in stderr


def test_a_refused_key_from_a_current_file_gets_no_hint(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    recent = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2)
    stderr = _refused_run(
        tmp_path,
        sandbox,
        {"dms_url": sandbox.base_url, "written_at": recent.isoformat(timespec="milliseconds")},
    )
    assert "answered 401" in stderr and "dmsload setup" not in stderr
