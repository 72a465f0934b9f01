"""`dmsload setup` against sandboxes that behave like a cold or reset-enabled CMS (§4.2, §13)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import orjson
import pytest

from dmsload.dms.setup import SetupOptions, SetupResult, run_setup
from dmsload.sandbox.auth import basic_header
from dmsload.sandbox.testing import SandboxHandle, running_sandbox
from dmsload.settings import load_settings


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No DMSLOAD_* from the outer environment, no .env, credentials under tmp_path."""
    for name in [n for n in os.environ if n.startswith("DMSLOAD_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield


def _setup(sandbox: SandboxHandle, credentials: Path) -> tuple[SetupResult, list[str]]:
    lines: list[str] = []
    settings = load_settings(
        dms_url=sandbox.base_url,
        cms_url=f"{sandbox.base_url}/config",
        credentials_file=credentials,
    )
    result = anyio.run(run_setup, settings, SetupOptions(), lines.append)
    return result, lines


def _token_status(sandbox: SandboxHandle, key: str, secret: str) -> int:
    response = httpx.post(
        f"{sandbox.base_url}/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_header(key, secret)},
    )
    return response.status_code


@pytest.mark.serial
def test_setup_waits_out_a_new_key_delay(tmp_path: Path) -> None:
    """With new_key_delay_s=2 the new key gets 401 at first; setup's step 6 retries the 401s
    (for up to 30 s) and succeeds once the key is 2 s old."""
    with running_sandbox(faults={"new_key_delay_s": 2}) as sandbox:
        started = time.monotonic()
        result, lines = _setup(sandbox, tmp_path / "credentials.json")
        elapsed = time.monotonic() - started
        assert result.ok, lines
        assert elapsed >= 2.0, (elapsed, lines)
        assert elapsed < 20.0, (elapsed, lines)
        stats = sandbox.state.stats
        assert stats.count("POST /oauth/token", 401) >= 1
        assert stats.count("POST /oauth/token", 200) >= 1
        assert any("save credentials" in line and "the key gets a token" in line for line in lines)


def test_setup_resets_the_credentials_when_the_cms_allows_it(tmp_path: Path) -> None:
    """With the reset endpoint enabled, a second setup that lost the saved credentials resets
    those of the existing application instead of creating another one; the old secret dies."""
    credentials = tmp_path / "credentials.json"
    with running_sandbox(application_reset=True) as sandbox:
        first, lines = _setup(sandbox, credentials)
        assert first.ok, lines
        old = orjson.loads(credentials.read_bytes())
        credentials.unlink()
        second, lines = _setup(sandbox, credentials)
        assert second.ok, lines
        assert any("reset the credentials of application 1" in line for line in lines), lines
        new = orjson.loads(credentials.read_bytes())
        assert new["key"] == old["key"] and new["secret"] != old["secret"]
        assert len(sandbox.state.cms.applications) == 1
        assert _token_status(sandbox, old["key"], old["secret"]) == 401
        assert _token_status(sandbox, new["key"], new["secret"]) == 200
