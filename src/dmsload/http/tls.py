"""The TLS settings VUs share: one SSL context, made when the first TLS connection opens."""

from __future__ import annotations

import ssl


def shared_ssl_context(verify: bool = True) -> ssl.SSLContext:
    """One SSL context for every VU: building one per client costs ~20 ms each."""
    if verify:
        return ssl.create_default_context()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class SharedTls:
    """The SSL context of a run, made on first use: loading the CA store takes a few hundred
    milliseconds of CPU that a run against plain-HTTP targets never needs."""

    __slots__ = ("_context", "verify")

    def __init__(self, verify: bool = True) -> None:
        self.verify = verify
        self._context: ssl.SSLContext | None = None

    def context(self) -> ssl.SSLContext:
        """The shared context (made now if this is the first TLS connection)."""
        if self._context is None:
            self._context = shared_ssl_context(self.verify)
        return self._context


TlsSource = ssl.SSLContext | SharedTls | None
"""What a connection takes for TLS: a context, a shared lazy one, or None (the defaults)."""


def context_of(source: TlsSource) -> ssl.SSLContext:
    """The SSL context a TLS connection uses."""
    if isinstance(source, SharedTls):
        return source.context()
    return source or ssl.create_default_context()
