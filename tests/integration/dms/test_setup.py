"""`dmsload setup` against the sandbox: idempotence, credentials, fallbacks, failing steps."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from typer.testing import CliRunner

from dmsload.cli import app
from dmsload.dms.descriptors import ALL_DESCRIPTORS
from dmsload.dms.resources import DESCRIPTOR_RESOURCES
from dmsload.dms.setup import FALLBACK_CLAIM_SET, SetupOptions, SetupResult, run_setup
from dmsload.sandbox.config import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET
from dmsload.sandbox.schema import default_schema_path
from dmsload.sandbox.testing import SandboxHandle, running_sandbox
from dmsload.settings import load_settings

SCHOOLS_ROUTE = "POST /data/ed-fi/schools"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No DMSLOAD_* from the outer environment, no .env, credentials under tmp_path."""
    import os

    for name in [n for n in os.environ if n.startswith("DMSLOAD_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox() as handle:
        yield handle


def _setup(sandbox: SandboxHandle, tmp_path: Path, **options: Any) -> tuple[SetupResult, list[str]]:
    lines: list[str] = []
    settings = load_settings(
        dms_url=sandbox.base_url,
        cms_url=f"{sandbox.base_url}/config",
        credentials_file=tmp_path / "creds" / "credentials.json",
    )
    result = anyio.run(run_setup, settings, SetupOptions(**options), lines.append)
    return result, lines


def _cms_get(sandbox: SandboxHandle, path: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=f"{sandbox.base_url}/config") as client:
        token = client.post(
            "/connect/token",
            data={
                "client_id": ADMIN_CLIENT_ID,
                "client_secret": ADMIN_CLIENT_SECRET,
                "grant_type": "client_credentials",
            },
        ).json()["access_token"]
        response = client.get(path, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


def _descriptor_posts(sandbox: SandboxHandle, status: int) -> int:
    stats = sandbox.state.stats
    return sum(stats.count(f"POST /data/ed-fi/{r}", status) for r in DESCRIPTOR_RESOURCES)


def test_setup_twice_creates_nothing_twice(sandbox: SandboxHandle, tmp_path: Path) -> None:
    first, lines = _setup(sandbox, tmp_path)
    assert first.ok, lines
    assert len(lines) == 11 and all(" ok" in line for line in lines[:10])
    assert _descriptor_posts(sandbox, 201) == len(ALL_DESCRIPTORS)
    sandbox.state.stats.reset()

    second, lines = _setup(sandbox, tmp_path)
    assert second.ok, lines
    assert "reused vendor 1" in lines[1] and "reused application 1" in lines[4]
    assert len(_cms_get(sandbox, "/v3/vendors")) == 1
    applications = _cms_get(sandbox, "/v3/applications")
    assert [a["claimSetName"] for a in applications] == ["DmsLoadPerformanceTest"]
    assert _descriptor_posts(sandbox, 201) == 0
    assert _descriptor_posts(sandbox, 200) == len(ALL_DESCRIPTORS)
    assert f"0 created, {len(ALL_DESCRIPTORS)} existing" in lines[8]
    assert second.credentials == first.credentials
    assert second.endpoints is not None
    assert second.endpoints.data_api_url == f"{sandbox.base_url}/data"


def test_lost_credentials_make_a_suffixed_application(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    first, _ = _setup(sandbox, tmp_path)
    (tmp_path / "creds" / "credentials.json").unlink()
    second, lines = _setup(sandbox, tmp_path)
    assert second.ok, lines
    assert "'dmsload performance tests (2)'" in lines[4] and "cannot reset" in lines[4]
    assert second.credentials is not None and first.credentials is not None
    assert second.credentials.key != first.credentials.key
    assert len(_cms_get(sandbox, "/v3/applications")) == 2


def test_cli_writes_0600_credentials_and_prints_no_secret(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        ["setup", "--dms-url", sandbox.base_url, "--cms-url", f"{sandbox.base_url}/config"],
    )
    assert result.exit_code == 0, result.output
    path = tmp_path / ".dmsload" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    saved = json.loads(path.read_text())
    assert saved["claim_set"] == "DmsLoadPerformanceTest"
    assert saved["secret"] not in result.output
    assert ADMIN_CLIENT_SECRET not in result.output
    assert ".dmsload/credentials.json" in result.output.splitlines()[-1]


def test_seed_schools_creates_100000_to_100004(sandbox: SandboxHandle, tmp_path: Path) -> None:
    result, lines = _setup(sandbox, tmp_path, seed_schools=5)
    assert result.ok, lines
    assert "5 created, 0 existing: schoolId 100000..100004" in lines[9]
    assert sandbox.state.stats.count(SCHOOLS_ROUTE, 201) == 5
    assert result.credentials is not None
    with httpx.Client(base_url=sandbox.base_url) as client:
        token = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(result.credentials.key, result.credentials.secret.get_secret_value()),
        ).json()["access_token"]
        schools = client.get(
            "/data/ed-fi/schools", headers={"authorization": f"Bearer {token}"}
        ).json()
    assert sorted(s["schoolId"] for s in schools) == list(range(100000, 100005))


def test_claims_loading_disabled_falls_back_to_the_built_in_claim_set(tmp_path: Path) -> None:
    with running_sandbox(claims_loading=False, claimset_reload=False) as sandbox:
        result, lines = _setup(sandbox, tmp_path)
        assert result.ok, lines
        assert "404" in lines[3] and FALLBACK_CLAIM_SET in lines[3]
        assert "skipped" in lines[6]
        applications = _cms_get(sandbox, "/v3/applications")
    assert [a["claimSetName"] for a in applications] == [FALLBACK_CLAIM_SET]


def test_reload_disabled_warns_and_names_it_when_dms_refuses(tmp_path: Path) -> None:
    """Upload works but DMS cannot reload: step 7 warns; the 600 s cache then denies step 9."""
    with running_sandbox(claimset_reload=False) as sandbox:
        result, lines = _setup(sandbox, tmp_path)
    assert lines[6].startswith("[ 7/10]") and " warn (not enabled" in lines[6]
    assert not result.ok and result.failed_step == "[9/10] seed descriptors"
    assert "403" in lines[8] and "see step 7" in lines[8]


def test_missing_resource_is_named_in_step_8(tmp_path: Path) -> None:
    schema = json.loads(default_schema_path().read_text())
    project = schema["projectSchema"]
    del project["resourceSchemas"]["staffEducationOrganizationAssignmentAssociations"]
    del project["resourceNameMapping"]["StaffEducationOrganizationAssignmentAssociation"]
    del project["caseInsensitiveEndpointNameMapping"][
        "staffeducationorganizationassignmentassociations"
    ]
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    with running_sandbox(schema_path=path) as sandbox:
        result, lines = _setup(sandbox, tmp_path)
    assert not result.ok
    assert result.failed_step == "[8/10] verify resources served"
    assert (
        "FAIL not served by this DMS: /ed-fi/staffEducationOrganizationAssignmentAssociations"
        in (lines[7])
    )


def test_wrong_cms_secret_fails_step_1_with_exit_1(
    sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DMSLOAD_CMS_CLIENT_SECRET", "Wrong-Secret-123")
    result = CliRunner().invoke(
        app,
        ["setup", "--dms-url", sandbox.base_url, "--cms-url", f"{sandbox.base_url}/config"],
    )
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert first.startswith("[ 1/10] get CMS admin token") and "FAIL" in first and "401" in first
    assert "setup failed at step [1/10] get CMS admin token" in result.output
    assert "Wrong-Secret-123" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--claimset", "missing.json"], "--claimset missing.json: cannot read"),
        (["--dms-url", "localhost:8080"], "dms_url (flag): expected an http:// or https:// URL"),
        (["--auth-style", "digest"], "--auth-style: expected basic or form (got 'digest')"),
        (["--env-file", "nope.env"], "--env-file: nope.env: not found"),
    ],
)
def test_bad_usage_exits_2_with_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["setup", *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output


def test_a_credentials_file_that_cannot_be_written_exits_2_before_step_1(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    (tmp_path / "regular").write_text("")
    path = tmp_path / "regular" / "creds.json"
    sandbox.state.stats.reset()
    for _ in range(2):  # a retry creates nothing either
        result = CliRunner().invoke(
            app,
            [
                "setup",
                "--dms-url",
                sandbox.base_url,
                "--cms-url",
                f"{sandbox.base_url}/config",
                "--credentials-file",
                str(path),
            ],
        )
        assert result.exit_code == 2, result.output
        assert result.output.strip().splitlines() == [
            f"dmsload: --credentials-file {path}: cannot create directory "
            f"{path.parent}: {path.parent} is not a directory"
        ]
    assert sandbox.state.stats.snapshot()["routes"] == {}  # not even a CMS token
    assert _cms_get(sandbox, "/v3/applications") == []


def test_a_save_that_fails_is_a_fail_line_for_step_6_not_a_traceback(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """The CLI checks the location first; a write that fails anyway (here: run_setup called
    without the check) ends setup at step 6 with one line."""
    (tmp_path / "regular").write_text("")
    path = tmp_path / "regular" / "creds.json"
    settings = load_settings(
        dms_url=sandbox.base_url, cms_url=f"{sandbox.base_url}/config", credentials_file=path
    )
    lines: list[str] = []
    result = anyio.run(run_setup, settings, SetupOptions(), lines.append)
    assert not result.ok and result.failed_step == "[6/10] save credentials"
    assert lines[5].startswith("[ 6/10] save credentials")
    assert lines[5].endswith(
        f"FAIL cannot write {path}: cannot create directory {path.parent}: "
        f"{path.parent} is not a directory"
    ), lines[5]
    assert lines[-1] == "setup failed at step [6/10] save credentials"
    assert result.credentials is not None
    assert result.credentials.secret.get_secret_value() not in "\n".join(lines)


def test_setup_retries_a_new_key_the_token_endpoint_refuses_for_a_while(
    sandbox: SandboxHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox.set_faults(new_key_delay_s=1.5)
    result, lines = _setup(sandbox, tmp_path)
    assert result.ok, lines
    assert sandbox.state.stats.count("POST /oauth/token", 401) >= 1
    assert "ok (" in lines[5] and "the key gets a token" in lines[5]
    assert capsys.readouterr().err.splitlines() == [
        "dmsload: the new key is not accepted yet (401); retrying for up to 30 s"
    ]
