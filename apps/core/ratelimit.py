"""Rate limits for the pages that have no login to throttle on: fixed windows counted in Django's
default cache.

In production the cache is Redis, shared by every web process; a per-process cache would let each
process allow the whole limit (two gunicorn workers, twice the answers), so a start with DEBUG off
and a per-process cache is refused (`apps/core/checks.py`). Identities (an IP address, an e-mail) are
hashed in the key: the cache never holds them in clear.

Used by the respondent pages (`/s/`, `/w/`, `/k/`), the password reset form and the sign-in form's
per-address limit across accounts.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache


def _window_index(window: int, now: float | None = None) -> int:
    return int((time.time() if now is None else now) // window)


def key(scope: str, ident: str, *, window: int, now: float | None = None) -> str:
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"cxm:rl:{scope}:{window}:{digest}:{_window_index(window, now)}"


def incr(scope: str, ident: str, *, window: int) -> int:
    """Count one for (scope, ident) in the current window; the count so far, this one included."""
    name = key(scope, ident, window=window)
    cache.add(name, 0, timeout=window * 2)
    try:
        return cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.set(name, 1, timeout=window * 2)
        return 1


def hit(scope: str, ident: str, *, limit: int, window: int = 60) -> bool:
    """Count one request for (scope, ident) in the current window; True when that makes it over `limit`."""
    return incr(scope, ident, window=window) > limit


def count(scope: str, ident: str, *, window: int) -> int:
    """How many were counted for (scope, ident) in the current window (nothing is counted)."""
    return int(cache.get(key(scope, ident, window=window)) or 0)


def reset(scope: str, ident: str, *, window: int = 60) -> None:
    cache.delete(key(scope, ident, window=window))


def retry_after(window: int) -> int:
    """Seconds until the current window ends (what a 429's Retry-After says)."""
    return max(1, int(window - time.time() % window))


def client_ip(request) -> str:
    """The caller's address. Behind N trusted proxies (AXES_IPWARE_PROXY_COUNT), the address the
    nearest of them saw; otherwise REMOTE_ADDR (a forwarded header from the client is not trusted)."""
    proxies = getattr(settings, "AXES_IPWARE_PROXY_COUNT", 0) or 0
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"
