"""Connection settings: precedence (flag > env > .env > default), errors, credentials file."""

from __future__ import annotations

import datetime
import logging
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from dmsload.dms.credentials import (
    ClientCredentials,
    CredentialsError,
    check_credentials_location,
    load_credentials_file,
    new_key_grace_s,
    read_credentials,
    write_credentials,
)
from dmsload.settings import ConnectionSettings, SettingsError, explicit_settings, load_settings


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
            "dms_url (DMSLOAD_DMS_URL): expected an http:// or https:// URL with a host "
            "(got 'localhost:8080')",
        ),
        ({"DMSLOAD_AUTH_STYLE": "digest"}, "auth_style (DMSLOAD_AUTH_STYLE): Input"),
        ({"DMSLOAD_REQUEST_TIMEOUT_S": "0"}, "request_timeout_s (DMSLOAD_REQUEST_TIMEOUT_S"),
        ({"DMSLOAD_VERIFY_TLS": "maybe"}, "verify_tls (DMSLOAD_VERIFY_TLS): Input"),
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


def test_a_bad_value_from_a_file_names_the_file(tmp_path: Path) -> None:
    """A value read from .env or --env-file is named with its file, not the environment."""
    Path(".env").write_text("DMSLOAD_CMS_URL=cms\n")
    with pytest.raises(SettingsError, match=r"^cms_url \(DMSLOAD_CMS_URL in \.env\): expected"):
        load_settings()
    other = tmp_path / "other.env"
    other.write_text("DMSLOAD_TOKEN_URL=token\n")
    with pytest.raises(SettingsError) as info:
        load_settings(env_file=other)
    assert str(info.value).startswith(f"token_url (DMSLOAD_TOKEN_URL in {other}): expected")


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


def test_directories_dmsload_creates_are_0700_and_existing_ones_keep_their_mode(
    tmp_path: Path,
) -> None:
    old_umask = os.umask(0)  # a umask that would leave mkdir's default wide open
    try:
        path = tmp_path / "a" / "b" / "credentials.json"
        write_credentials(path, ClientCredentials.of("k", "s"))
        for directory in (tmp_path / "a", tmp_path / "a" / "b"):
            assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
        shared = tmp_path / "shared"
        shared.mkdir(mode=0o755)
        write_credentials(shared / "credentials.json", ClientCredentials.of("k", "s"))
        assert stat.S_IMODE(shared.stat().st_mode) == 0o755  # not dmsload's to change
        assert stat.S_IMODE((shared / "credentials.json").stat().st_mode) == 0o600
    finally:
        os.umask(old_umask)


def test_the_credentials_location_is_checked_before_anything_is_written(
    tmp_path: Path,
) -> None:
    regular = tmp_path / "regular"
    regular.write_text("")
    check_credentials_location(tmp_path / "new" / "deeper" / "credentials.json")
    check_credentials_location(tmp_path / "credentials.json")
    assert not (tmp_path / "new").exists()  # checking creates nothing
    for path, reason in [
        (regular / "creds.json", f"cannot create directory {regular}: {regular} is not a"),
        (regular / "sub" / "creds.json", f"{regular / 'sub'}: {regular} is not a directory"),
        (tmp_path, "is a directory"),
    ]:
        with pytest.raises(CredentialsError) as info:
            check_credentials_location(path)
        assert reason in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(OSError):  # what setup's step 6 turns into a FAIL line
        write_credentials(regular / "creds.json", ClientCredentials.of("k", "s"))


def test_only_a_credentials_file_written_less_than_30_s_ago_gets_the_new_key_grace(
    tmp_path: Path,
) -> None:
    now = datetime.datetime(2026, 9, 1, 12, 0, 0, tzinfo=datetime.UTC)

    def grace(written_at: object) -> float:
        return new_key_grace_s({"written_at": written_at}, now=now)

    assert grace("2026-09-01T12:00:00+00:00") == 30.0
    assert grace("2026-09-01T11:59:50.500+00:00") == 20.5
    assert grace("2026-09-01T11:59:30+00:00") == 0.0
    assert grace("2026-09-01T11:00:00+00:00") == 0.0
    assert grace("2026-09-01T12:00:00.800+00:00") == 30.0  # whole-second clock difference
    assert grace("2026-09-01T12:05:00+00:00") == 0.0  # the future: not trusted
    assert grace("yesterday") == grace(17) == new_key_grace_s({}, now=now) == 0.0
    fresh = tmp_path / "fresh.json"
    written = datetime.datetime.now(datetime.UTC).isoformat()
    write_credentials(fresh, ClientCredentials.of("k", "s"), {"written_at": written})
    credentials, left = load_settings(credentials_file=fresh).resolve_client_credentials()
    assert credentials.key == "k" and 25.0 < left <= 30.0
    old = tmp_path / "old.json"
    write_credentials(old, ClientCredentials.of("k", "s"), {"written_at": "2020-01-01T00:00:00Z"})
    assert load_settings(credentials_file=old).resolve_client_credentials()[1] == 0.0
    from_env = load_settings(client_key="k", client_secret="s", credentials_file=fresh)
    assert from_env.resolve_client_credentials()[1] == 0.0  # a key from the settings: no grace


@pytest.mark.parametrize(
    ("settings", "content", "line"),
    [
        ({}, None, "no client credentials: set DMSLOAD_CLIENT_KEY and DMSLOAD_CLIENT_SECRET, or "),
        ({}, "{nope", "credentials file c.json: not valid JSON"),
        ({}, '{"key": "k"}', "credentials file c.json: missing or empty field(s): secret"),
        ({}, '["k", "s"]', "credentials file c.json: expected a JSON object"),
        ({"client_key": "k"}, None, "DMSLOAD_CLIENT_SECRET is not set (DMSLOAD_CLIENT_KEY is)"),
        ({"client_secret": "s"}, None, "DMSLOAD_CLIENT_KEY is not set (DMSLOAD_CLIENT_SECRET"),
    ],
)
def test_check_client_credentials_names_the_file_or_variable(
    settings: dict[str, str], content: str | None, line: str
) -> None:
    if content is not None:
        Path("c.json").write_text(content)
    s = load_settings(credentials_file=Path("c.json"), **settings)
    with pytest.raises(SettingsError) as info:
        s.check_client_credentials()
    message = str(info.value)
    assert message.startswith(line) and "\n" not in message, message
    if content is None and not settings:
        assert "c.json: not found (run `dmsload setup` to create it)" in message


def test_check_client_credentials_passes_quietly_and_shows_no_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    load_settings(client_key="k", client_secret="s").check_client_credentials()
    write_credentials(Path("c.json"), ClientCredentials.of("k", "topsecret"))
    Path("c.json").chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="dmsload"):
        load_settings(credentials_file=Path("c.json")).check_client_credentials()
    assert caplog.text == ""  # the run warns about the mode when it reads the file
    Path("c.json").write_text('{"key": "k", "secret": ""}')
    with pytest.raises(SettingsError) as info:
        load_settings(credentials_file=Path("c.json")).check_client_credentials()
    assert "topsecret" not in str(info.value)


def test_explicit_settings_ignore_the_environment_and_dotenv(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Path(".env").write_text("DMSLOAD_CMS_CLIENT_ID=fromdotenv\nDMSLOAD_VERIFY_TLS=false\n")
    monkeypatch.setenv("DMSLOAD_CMS_CLIENT_SECRET", "x")
    monkeypatch.setenv("DMSLOAD_AUTH_STYLE", "form")
    monkeypatch.setenv("DMSLOAD_CLIENT_KEY", "someone-elses-key")
    monkeypatch.setenv("DMSLOAD_TOKEN_URL", "http://elsewhere:1/token")
    s = explicit_settings(dms_url="http://127.0.0.1:9", credentials_file=Path("c.json"))
    assert isinstance(s, ConnectionSettings)
    assert (s.auth_style, s.cms_client_id, s.verify_tls) == (
        "basic",
        "DmsConfigurationService",
        True,
    )
    assert s.cms_client_secret.get_secret_value() == "ValidClientSecret1234567890!Abcd"
    assert s.client_key is None and s.token_url is None and s.request_timeout_s == 60.0
    with pytest.raises(SettingsError, match=r"^dms_url \(flag\): expected an http"):
        explicit_settings(dms_url="nope")
