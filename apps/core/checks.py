"""Start-up refusals: settings that would quietly weaken the product's defences in production."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Caches whose counts one process (or one machine) keeps for itself, or that count nothing at all.
PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache": "keeps its counts in each process's own memory",
    "django.core.cache.backends.dummy.DummyCache": "counts nothing",
    "django.core.cache.backends.filebased.FileBasedCache": "keeps its counts on each machine's own disk",
}


def shared_cache_problem() -> str | None:
    """Why the default cache cannot hold the rate limits (apps/core/ratelimit.py), or None.

    With DEBUG off (`RATE_LIMITS_NEED_SHARED_CACHE`, which only the test settings turn off) every web
    process must count in one shared cache: with a per-process one, N workers allow N times each limit
    (the probe posted 40 web-link answers a minute with 2 workers instead of 20)."""
    if not getattr(settings, "RATE_LIMITS_NEED_SHARED_CACHE", False):
        return None
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    why = PER_PROCESS_CACHES.get(backend)
    if why is None:
        return None
    return (f"DEBUG is off but the default cache ({backend}) {why}: the rate limits (sign-in, password reset, "
            "survey links) would not hold across processes. Set REDIS_URL to a Redis shared by every web process "
            "and worker (e.g. REDIS_URL=redis://127.0.0.1:6379/0), or DEBUG=1 for local development.")


def refuse_to_start_without_a_shared_cache() -> None:
    problem = shared_cache_problem()
    if problem is not None:
        raise ImproperlyConfigured(problem)
