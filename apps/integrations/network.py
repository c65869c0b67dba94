"""Outgoing HTTP for webhooks, with the SSRF guard.

An endpoint URL must be https (plain http only for a loopback receiver when `WEBHOOKS_ALLOW_LOOPBACK`
is on: tests and local development), without credentials. Its host is resolved and **every** address
it resolves to must be public: private, loopback, link-local (169.254.0.0/16, the cloud metadata
service), multicast, reserved, unspecified, shared (100.64/10), site-local and every other non-global
address are refused — and so is every IPv6 address that embeds or routes to such an IPv4 address
(IPv4-mapped, IPv4-compatible, 6to4, Teredo, NAT64). `WEBHOOKS_ALLOW_LOOPBACK` lets loopback
addresses (127/8, ::1) through, nothing else.

The check runs when an endpoint is registered and again at every delivery, and the request then
connects to the very address that was checked (the Host header and TLS server name stay the host
name): a DNS answer that changes between the check and the connection (rebinding) cannot redirect a
delivery inside the network. Redirects are never followed (http.client does not follow them; a 3xx is
just a failed attempt).

The whole exchange — name resolution, connect, TLS handshake, sending, the status line, the headers and
the body excerpt — ends within `TOTAL_TIMEOUT_FACTOR` × the timeout, whatever the receiver does
(keep-alive or `Connection: close`, HTTP/1.0, chunked, one byte at a time, never closing): each socket
operation has the timeout, and a watchdog shuts the socket down at the deadline. The socket is held by
this module, not only by http.client, which hands it over to the response and forgets it when the
answer ends with the connection.
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


def timeout_seconds() -> float:
    return float(getattr(settings, "WEBHOOKS_TIMEOUT_SECONDS", 10))


def _getaddrinfo(host: str, port: int):
    """The resolver (tests replace it to give names the addresses they need)."""
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def _resolve(host: str, port: int, within: float):
    """`_getaddrinfo` bounded in time: the system resolver cannot be interrupted, so it runs in a daemon
    thread that is abandoned (it ends when the resolver gives up) when no answer came `within` seconds."""
    outcome: dict = {}

    def run():
        try:
            outcome["infos"] = _getaddrinfo(host, port)
        except Exception as exc:  # handed to the caller
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="webhook-resolve", daemon=True)
    thread.start()
    thread.join(max(within, 0.0))
    if thread.is_alive():
        raise ResolveFailed(f"The host {host} did not resolve within {within:.1f} s.")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["infos"]


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: a network's own translator
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated "::a.b.c.d"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address stands for or is routed to by a transition mechanism."""
    found = []
    if ip.ipv4_mapped is not None:
        found.append(("an IPv4-mapped address", ip.ipv4_mapped))
    if ip.sixtofour is not None:
        found.append(("a 6to4 address", ip.sixtofour))
    if ip.teredo is not None:  # (server, client); Python undoes the client address's obfuscation
        found += [("a Teredo address", ip.teredo[0]), ("a Teredo address", ip.teredo[1])]
    if ip in _NAT64:
        found.append(("a NAT64 address", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        found.append(("an IPv4-compatible address", ipaddress.IPv4Address(int(ip))))
    return found


def _non_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What makes `ip` itself non-public, or None (is_global alone lets multicast and site-local through)."""
    for flag, label in (("is_loopback", "a loopback address"), ("is_unspecified", "an unspecified address"),
                        ("is_link_local", "a link-local address"), ("is_site_local", "a site-local address"),
                        ("is_multicast", "a multicast address"), ("is_private", "a private address"),
                        ("is_reserved", "a reserved address")):
        if getattr(ip, flag, False):
            return label
    if not ip.is_global:
        return "a non-public address"
    return None


def address_refusal(address: str) -> str | None:
    """Why `address` may not be called, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1 to the kernel
    if ip.is_loopback:
        return None if allow_loopback() else "a loopback address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return "a local-use NAT64 address"
        for mechanism, ipv4 in _embedded_ipv4(ip):
            reason = _non_public(ipv4)
            if reason is not None:
                return f"{mechanism} embedding {reason} ({ipv4})"
    return _non_public(ip)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked address the request connects to


def url_check(url: str, *, resolve_within: float | None = None) -> Target:
    """Validate `url` and resolve its host (within `resolve_within` seconds, by default the webhook
    timeout); raise `UnsafeUrl` (or `ResolveFailed`) with the reason."""
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
        infos = _resolve(host, port, resolve_within if resolve_within is not None else timeout_seconds())
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


class _Exchange:
    """The deadline of one POST and the socket it runs on, which the watchdog shuts down at the deadline.

    The socket is kept here because http.client forgets it: on `Connection: close`, HTTP/1.0 or a body
    without a length it passes the socket to the response and sets `connection.sock` to None, and a
    receiver dripping that body was then never cut. The lock keeps the watchdog off a socket that was
    already finished with (its file descriptor could belong to another connection by then)."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout * TOTAL_TIMEOUT_FACTOR
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._finished = False
        self.expired = False
        self._watchdog = threading.Timer(timeout * TOTAL_TIMEOUT_FACTOR, self._cut)
        self._watchdog.daemon = True
        self._watchdog.start()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def operation_timeout(self) -> float:
        """Each socket operation's timeout: the timeout, or what is left of the whole when that is less."""
        remaining = self.remaining()
        if remaining <= 0:
            raise TimeoutError("the exchange's deadline passed")
        return min(self.timeout, remaining)

    def adopt(self, sock: socket.socket) -> None:
        with self._lock:
            if self.expired:
                sock.close()
                raise TimeoutError("the exchange's deadline passed")
            self._sock = sock

    def _cut(self) -> None:
        with self._lock:
            if self._finished:
                return
            self.expired = True
            if self._sock is not None:
                with contextlib.suppress(OSError):  # the plain socket call: also right under TLS
                    socket.socket.shutdown(self._sock, socket.SHUT_RDWR)

    def finish(self) -> None:
        """No cut after this returns (call before closing the socket)."""
        with self._lock:
            self._finished = True
        self._watchdog.cancel()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, exchange: _Exchange):
        super().__init__(target.host, target.port, timeout=exchange.timeout)
        self._address = target.address
        self._exchange = exchange

    def _open(self) -> socket.socket:
        sock = socket.create_connection((self._address, self.port), self._exchange.operation_timeout())
        sock.settimeout(self.timeout)
        self._exchange.adopt(sock)
        return sock

    def connect(self):
        self.sock = self._open()


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = http.client.HTTPS_PORT

    def __init__(self, target: Target, exchange: _Exchange):
        super().__init__(target, exchange)
        self._context = ssl.create_default_context()

    def connect(self):
        sock = self._context.wrap_socket(self._open(), server_hostname=self.host, do_handshake_on_connect=False)
        self._exchange.adopt(sock)  # the plain socket was detached into this one
        sock.do_handshake()
        self.sock = sock


@dataclass(frozen=True)
class PostResult:
    status_code: int | None  # None: no HTTP answer (refused, timeout, connection error)
    error: str
    excerpt: str
    duration_ms: int
    retryable: bool  # worth another attempt later


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float | None = None) -> PostResult:
    """POST `body` to `url` once, after the SSRF check; never raises for network trouble.

    Everything, resolving the host included, ends within `TOTAL_TIMEOUT_FACTOR` × `timeout` (module
    docstring). The status is the answer: once the status line and headers are in, a body cut at the
    deadline only shortens the excerpt; before that, the cut is a timeout."""
    timeout = timeout if timeout is not None else timeout_seconds()
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    def timed_out() -> PostResult:
        return PostResult(None, f"Timed out after {elapsed() / 1000:.1f} s (limit {timeout:g} s).", "", elapsed(), retryable=True)

    exchange = _Exchange(timeout)
    connection = response = None
    try:
        try:
            target = url_check(url, resolve_within=exchange.remaining())
        except ResolveFailed as exc:
            return PostResult(None, str(exc), "", elapsed(), retryable=True)
        except UnsafeUrl as exc:
            return PostResult(None, f"Refused: {exc}", "", elapsed(), retryable=False)
        connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
        connection = connection_class(target, exchange)
        try:
            connection.request("POST", target.path, body=body, headers={
                "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
            response = connection.getresponse()
        except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
            if exchange.expired or isinstance(exc, TimeoutError):
                return timed_out()
            return PostResult(None, f"{type(exc).__name__}: {exc}"[:2000], "", elapsed(), retryable=True)
        if exchange.expired:  # cut inside the headers: http.client may take the cut for their end
            return timed_out()
        status = response.status
        try:  # the status is the answer; the body is only an excerpt for the log
            excerpt = response.read(READ_LIMIT).decode("utf-8", "replace")[:EXCERPT_CHARS]
        except (OSError, http.client.HTTPException, ssl.SSLError):
            excerpt = ""
    finally:
        exchange.finish()
        if response is not None:
            response.close()
        if connection is not None:
            connection.close()
    if 200 <= status < 300:
        return PostResult(status, "", excerpt, elapsed(), retryable=False)
    retryable = status >= 500 or status in (408, 429) or status < 200
    error = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
    return PostResult(status, error, excerpt, elapsed(), retryable=retryable)
