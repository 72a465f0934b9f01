"""The HTTP layer: the only code that talks to httpx."""

from dmsload.http.client import HttpClient, HttpResponse, RequestRecorder
from dmsload.http.tls import SharedTls, shared_ssl_context

__all__ = ["HttpClient", "HttpResponse", "RequestRecorder", "SharedTls", "shared_ssl_context"]
