"""The HTTP layer: the only code that talks to httpx."""

from dmsload.http.client import HttpClient, HttpResponse, RequestRecorder, shared_ssl_context

__all__ = ["HttpClient", "HttpResponse", "RequestRecorder", "shared_ssl_context"]
