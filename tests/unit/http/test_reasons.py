"""Why a request failed, in words: no exception class names reach the user."""

from __future__ import annotations

import errno
import re
import socket
import ssl
from pathlib import Path

import httpx
import pytest

from dmsload.dms.errors import transport_error
from dmsload.error_text import describe_exception
from dmsload.http.reasons import transport_reason
from dmsload.outputs.summary_json import SummaryFileError, load_summary

SRC = Path(__file__).resolve().parents[3] / "src" / "dmsload"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _chained(outer: httpx.HTTPError, inner: BaseException) -> httpx.HTTPError:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except httpx.HTTPError as caught:
        return caught


def test_a_refused_connection_through_httpx_reads_connection_refused() -> None:
    url = f"http://127.0.0.1:{_free_port()}/"
    with pytest.raises(httpx.ConnectError) as caught:
        httpx.get(url, timeout=5)
    assert transport_reason(caught.value) == "connection refused"
    assert transport_error(url, caught.value) == f"cannot reach {url}: connection refused"


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (
            _chained(httpx.ConnectError("[Errno -2]"), socket.gaierror(-2, "Name not known")),
            "host name not found",
        ),
        (
            _chained(httpx.ReadError(""), ConnectionResetError(errno.ECONNRESET, "reset")),
            "connection reset by the server",
        ),
        (
            _chained(httpx.ConnectError("x"), OSError(errno.EHOSTUNREACH, "No route")),
            "host unreachable",
        ),
        (httpx.ConnectTimeout("timed out"), "connection timed out"),
        (httpx.ReadTimeout(""), "no response within the request timeout"),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            "the server closed the connection without a response",
        ),
        (httpx.UnsupportedProtocol("no scheme"), "invalid URL: no scheme"),
        (httpx.ReadError(""), "the connection failed while reading the response"),
        (httpx.ConnectError("All connection attempts failed"), "cannot connect: All connection "
         "attempts failed"),
    ],
)  # fmt: skip
def test_transport_failures_read_as_words(exc: httpx.HTTPError, reason: str) -> None:
    assert transport_reason(exc) == reason
    assert "Error" not in transport_reason(exc)


def test_an_untrusted_certificate_says_so() -> None:
    cert = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cert.verify_message = "self-signed certificate"
    exc = _chained(httpx.ConnectError("TLS handshake failed"), cert)
    assert transport_reason(exc) == "TLS certificate not trusted: self-signed certificate"


def test_exceptions_read_as_their_message_and_bugs_as_internal_errors() -> None:
    assert describe_exception(RuntimeError("query setup: 3 seed requests failed")) == (
        "query setup: 3 seed requests failed"
    )
    assert describe_exception(httpx.ConnectTimeout("x")) == "connection timed out"
    try:
        {}["missing"]
    except KeyError as exc:
        text = describe_exception(exc)
    assert re.fullmatch(
        r"internal error at test_reasons\.py:\d+: 'missing' \(a dmsload bug; please report it\)",
        text,
    ), text
    assert describe_exception(ValueError("")).startswith("internal error")


def test_no_exception_class_name_is_formatted_into_a_message_in_the_source() -> None:
    patterns = re.compile(r"type\((exc|error|leaf|cause|e)\)\.__name__|\{(exc|leaf|cause)!r\}")
    offenders = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if patterns.search(line)
    ]
    assert offenders == []


def test_a_summary_that_is_not_an_object_is_named_by_its_json_type(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    with pytest.raises(SummaryFileError) as caught:
        load_summary(path)
    assert str(caught.value) == f"{path}: schema: expected 'dmsload-summary/1' (got an array)"
