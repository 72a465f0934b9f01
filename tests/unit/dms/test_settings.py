"""Connection settings: precedence (flag > env > .env > default), errors, credentials file."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from dmsload.dms.credentials import (
    ClientCredentials,
    CredentialsError,
    load_credentials_file,
    read_credentials,
    write_credentials,
)
from dmsload.settings import ConnectionSettings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.startswith("DMSLOAD_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    s = load_settings()
    assert (s.dms_url, s.cms_url) == ("http://localhost:8080", "http://localhost:8081")
    assert s.cms_client_id == "DmsConfigurationService"
    assert s.cms_client_secret.get_secret_value() == "ValidClientSecret1234567890!Abcd"
    assert (s.auth_style, s.verify_tls, s.request_timeout_s) == ("basic", True, 60.0)
    assert s.credentials_file == Path(".dmsload/credentials.json")
    assert s.data_api_url is None and s.token_url is None


def test_flag_beats_env_beats_dotenv_beats_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    Path(".env").write_text(
        "DMSLOAD_DMS_URL=http://dotenv:1\nDMSLOAD_CMS_URL=http://dotenv:2\n"
        "DMSLOAD_TOKEN_URL=http://dotenv:3/token\n"
    )
    monkeypatch.setenv("DMSLOAD_DMS_URL", "http://env:1/")
    monkeypatch.setenv("DMSLOAD_CMS_URL", "http://env:2")
    s = load_settings(dms_url="http://flag:1", cms_url=None)
    assert s.dms_url == "http://flag:1"  # flag
    assert s.cms_url == "http://env:2"  # env (None = flag not given)
    assert s.token_url == "http://dotenv:3/token"  # .env
    assert s.data_api_url is None  # default
    assert load_settings().dms_url == "http://env:1"  # trailing slash dropped


def test_env_file_replaces_dotenv(tmp_path: Path) -> None:
    Path(".env").write_text("DMSLOAD_AUTH_STYLE=form\n")
    other = tmp_path / "other.env"
    other.write_text("DMSLOAD_VERIFY_TLS=false\nDMSLOAD_REQUEST_TIMEOUT_S=5\n")
    s = load_settings(env_file=other)
    assert (s.auth_style, s.verify_tls, s.request_timeout_s) == ("basic", False, 5.0)


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"DMSLOAD_DMS_URL": "localhost:8080"},
            "dms_url (DMSLOAD_DMS_URL or .env): expected an http:// or https:// URL with a host "
            "(got 'localhost:8080')",
        ),
        ({"DMSLOAD_AUTH_STYLE": "digest"}, "auth_style (DMSLOAD_AUTH_STYLE or .env): Input"),
        ({"DMSLOAD_REQUEST_TIMEOUT_S": "0"}, "request_timeout_s (DMSLOAD_REQUEST_TIMEOUT_S"),
        ({"DMSLOAD_VERIFY_TLS": "maybe"}, "verify_tls (DMSLOAD_VERIFY_TLS or .env)"),
    ],
)
def test_bad_values_are_one_line_naming_field_and_value(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], line: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(line) and "\n" not in message


def test_bad_flag_is_named_as_a_flag() -> None:
    with pytest.raises(SettingsError, match=r"^request_timeout_s \(flag\): must be greater"):
        load_settings(request_timeout_s=-1.0)
    with pytest.raises(SettingsError, match="unknown setting"):
        load_settings(dms=1)
    with pytest.raises(SettingsError, match=r"--env-file: missing\.env: not found"):
        load_settings(env_file=Path("missing.env"))


def test_client_credentials_from_settings_then_file(tmp_path: Path) -> None:
    s = load_settings(client_key="k", client_secret="s3cret")
    assert s.client_credentials() == ClientCredentials("k", SecretStr("s3cret"))
    path = tmp_path / "c.json"
    write_credentials(path, ClientCredentials.of("fk", "fs"), {"application_id": 3})
    from_file = load_settings(credentials_file=path).client_credentials()
    assert (from_file.key, from_file.secret.get_secret_value()) == ("fk", "fs")


def test_client_credentials_errors_name_what_is_missing() -> None:
    with pytest.raises(SettingsError, match=r"^DMSLOAD_CLIENT_SECRET is not set \(DMSLOAD_CLIENT"):
        load_settings(client_key="k").client_credentials()
    with pytest.raises(SettingsError) as info:
        load_settings().client_credentials()
    assert "DMSLOAD_CLIENT_KEY" in str(info.value)
    assert ".dmsload/credentials.json: not found" in str(info.value)


def test_secrets_never_in_repr_or_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(client_key="k", client_secret="client-s3cret", cms_client_secret="cms-s3c")
    for text in (repr(s), str(s), repr(s.client_credentials()), str(s.model_dump())):
        assert "client-s3cret" not in text and "cms-s3c" not in text
    monkeypatch.setenv("DMSLOAD_CLIENT_SECRET", "")
    assert isinstance(load_settings(), ConnectionSettings)


def test_credentials_file_is_0600_in_a_0700_directory(tmp_path: Path) -> None:
    path = tmp_path / "new" / "credentials.json"
    write_credentials(path, ClientCredentials.of("k", "s"), {"vendor_id": 1})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.chmod(0o644)
    write_credentials(path, ClientCredentials.of("k2", "s2"))  # rewrite tightens it again
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]
    credentials, extra = load_credentials_file(path)
    assert credentials.key == "k2" and extra == {}


def test_bad_credentials_files_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    with pytest.raises(CredentialsError, match="not found"):
        read_credentials(path)
    path.write_text("{nope")
    with pytest.raises(CredentialsError, match="not valid JSON"):
        read_credentials(path)
    path.write_text('{"key": "k"}')
    with pytest.raises(CredentialsError, match=r"missing or empty field\(s\): secret"):
        read_credentials(path)


def test_a_readable_credentials_file_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.json"
    write_credentials(path, ClientCredentials.of("k", "topsecret"))
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="dmsload"):
        read_credentials(path)
    assert "mode 644" in caplog.text and "topsecret" not in caplog.text
