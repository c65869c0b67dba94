"""Outgoing HTTP for webhooks, with the SSRF guard.

An endpoint URL must be https (plain http only for a loopback receiver when `WEBHOOKS_ALLOW_LOOPBACK`
is on: tests and local development), without credentials. Its host is resolved and **every** address
it resolves to must be public: private, loopback, link-local (169.254.0.0/16, the cloud metadata
service), multicast, reserved, unspecified, shared (100.64/10) and every other non-global address are
refused. `WEBHOOKS_ALLOW_LOOPBACK` lets loopback addresses (127/8, ::1) through, nothing else.

The check runs when an endpoint is registered and again at every delivery, and the request then
connects to the very address that was checked (the Host header and TLS server name stay the host
name): a DNS answer that changes between the check and the connection (rebinding) cannot redirect a
delivery inside the network. Redirects are never followed (http.client does not follow them; a 3xx is
just a failed attempt).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

EXCERPT_CHARS = 500
READ_LIMIT = 64 * 1024
TOTAL_TIMEOUT_FACTOR = 2  # the whole exchange may take twice the per-operation timeout
USER_AGENT = "CXM-Webhooks/1.0"


class UnsafeUrl(ValueError):
    """The URL may not be called: its scheme, its form or an address it resolves to is refused."""


class ResolveFailed(UnsafeUrl):
    """The host name does not resolve (now): worth retrying at delivery, refused at registration."""


def allow_loopback() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_LOOPBACK", False))


def _getaddrinfo(host: str, port: int):
    """The resolver (tests replace it to give names the addresses they need)."""
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def address_refusal(address: str) -> str | None:
    """Why `address` may not be called, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if allow_loopback() else "a loopback address"
    for flag, label in (("is_unspecified", "an unspecified address"), ("is_link_local", "a link-local address"),
                        ("is_multicast", "a multicast address"), ("is_private", "a private address"),
                        ("is_reserved", "a reserved address")):
        if getattr(ip, flag):
            return label
    if not ip.is_global:
        return "a non-public address"
    return None


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked address the request connects to


def url_check(url: str) -> Target:
    """Validate `url` and resolve its host; raise `UnsafeUrl` (or `ResolveFailed`) with the reason."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl("The URL is not valid.") from exc
    if parts.scheme not in ("https", "http"):
        raise UnsafeUrl("The URL must start with https://.")
    if parts.username or parts.password:
        raise UnsafeUrl("The URL may not contain a user name or password.")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("The URL has no host.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = _getaddrinfo(host, port)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise ResolveFailed(f"The host {host} could not be resolved.") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise ResolveFailed(f"The host {host} could not be resolved.")
    for address in addresses:
        reason = address_refusal(address)
        if reason is not None:
            raise UnsafeUrl(f"The host {host} resolves to {reason} ({address}); webhooks go to public addresses only.")
    if parts.scheme == "http" and not (allow_loopback() and all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses)):
        raise UnsafeUrl("The URL must start with https://.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=parts.scheme, host=host, port=port, path=path, address=addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class PostResult:
    status_code: int | None  # None: no HTTP answer (refused, timeout, connection error)
    error: str
    excerpt: str
    duration_ms: int
    retryable: bool  # worth another attempt later


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float | None = None) -> PostResult:
    """POST `body` to `url` once, after the SSRF check; never raises for network trouble."""
    timeout = timeout if timeout is not None else float(getattr(settings, "WEBHOOKS_TIMEOUT_SECONDS", 10))
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = url_check(url)
    except ResolveFailed as exc:
        return PostResult(None, str(exc), "", elapsed(), retryable=True)
    except UnsafeUrl as exc:
        return PostResult(None, f"Refused: {exc}", "", elapsed(), retryable=False)
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout)
    # `timeout` bounds each socket operation; the watchdog bounds the whole exchange (a receiver that
    # drips a byte at a time never trips the per-operation timeout), so a delivery holds its row lock
    # for at most about twice the timeout.
    expired = threading.Event()

    def cut():
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(timeout * TOTAL_TIMEOUT_FACTOR, cut)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request("POST", target.path, body=body, headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
        response = connection.getresponse()
        status = response.status
        try:  # the status is the answer; the body is only an excerpt for the log
            excerpt = response.read(READ_LIMIT).decode("utf-8", "replace")[:EXCERPT_CHARS]
        except (OSError, http.client.HTTPException):
            excerpt = ""
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        if expired.is_set() or isinstance(exc, TimeoutError):
            return PostResult(None, f"Timed out after {elapsed() / 1000:.1f} s (limit {timeout:g} s).", "", elapsed(), retryable=True)
        return PostResult(None, f"{type(exc).__name__}: {exc}"[:2000], "", elapsed(), retryable=True)
    finally:
        watchdog.cancel()
        connection.close()
    if 200 <= status < 300:
        return PostResult(status, "", excerpt, elapsed(), retryable=False)
    retryable = status >= 500 or status in (408, 429) or status < 200
    error = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
    return PostResult(status, error, excerpt, elapsed(), retryable=retryable)
