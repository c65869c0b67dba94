"""Each user's signed-in sessions (issue 21 item 4): recorded at sign-in, touched while used, ended from the
account's Sessions page.

- **Recorded** when someone signs in (`user_logged_in`): the session key's SHA-256, the browser's user agent and
  address. The key itself is never stored here (Django's session table holds it, as it must). The user's ended
  and expired records are deleted then, so they never pile up.
- **Touched** by `SessionTrackingMiddleware` at most every TOUCH_SECONDS per session (the time is kept in the
  session, so a page costs no query in between): last seen, address; a session that predates this record (or
  whose key changed, as a password change does) is recorded then.
- **Ended** from the page (one session, or every other one), or by signing out: `ended_at` is set and the hash is
  put in the cache, which the middleware reads on every request — that browser is signed out at its next request,
  with a message. Should the cache forget, the next touch reads `ended_at` from the row (within TOUCH_SECONDS).
"""

from __future__ import annotations

import hashlib
import re
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.core.cache import cache
from django.db.models import Q
from django.dispatch import receiver
from django.shortcuts import redirect
from django.utils import timezone

from apps.accounts.models import UserSession

TOUCH_SECONDS = 300
TOUCHED = "_session_touched_at"
ENDED_MESSAGE = "This session was ended from another device. Sign in again."


def key_hash(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


def _ended_cache_key(digest: str) -> str:
    return f"accounts:session-ended:{digest}"


def _client(request) -> tuple[str, str | None]:
    return request.META.get("HTTP_USER_AGENT", "")[:300], request.META.get("REMOTE_ADDR") or None


def session_record(request, user) -> UserSession | None:
    """The row of the request's session (created if missing), its last-seen time and address brought up to date."""
    key = request.session.session_key
    if not key:
        return None
    agent, address = _client(request)
    now = timezone.now()
    row, created = UserSession.objects.get_or_create(key_hash=key_hash(key), defaults={
        "user": user, "user_agent": agent, "ip_address": address, "created_at": now, "last_seen_at": now})
    if not created and row.ended_at is None:
        UserSession.objects.filter(pk=row.pk).update(last_seen_at=now, ip_address=address, user_agent=agent or row.user_agent)
    request.session[TOUCHED] = time.time()
    return row


@receiver(user_logged_in, dispatch_uid="accounts.record_session")
def _signed_in(sender, request, user, **kwargs) -> None:
    """Record the new session; the user's ended and expired ones are forgotten (one DELETE per sign-in)."""
    if request is not None and hasattr(request, "session"):
        expired = timezone.now() - timezone.timedelta(seconds=settings.SESSION_COOKIE_AGE)
        UserSession.objects.filter(user=user).filter(Q(ended_at__isnull=False) | Q(last_seen_at__lt=expired)).delete()
        session_record(request, user)


@receiver(user_logged_out, dispatch_uid="accounts.end_session")
def _signed_out(sender, request, user, **kwargs) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        UserSession.objects.filter(key_hash=key_hash(key), ended_at__isnull=True).update(ended_at=timezone.now())


def session_end(*, user, session: UserSession) -> None:
    """End one of the user's sessions: that browser is signed out at its next request."""
    if session.user_id != user.pk:
        raise PermissionError("Not your session.")
    UserSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(ended_at=timezone.now())
    cache.set(_ended_cache_key(session.key_hash), True, settings.SESSION_COOKIE_AGE)


def sessions_end_others(*, user, current_key: str) -> int:
    """End every session of the user but the current one; returns how many were ended."""
    others = list(UserSession.objects.filter(user=user, ended_at__isnull=True).exclude(key_hash=key_hash(current_key)))
    for session in others:
        session_end(user=user, session=session)
    return len(others)


def sessions_active(user) -> list[UserSession]:
    """The user's sessions that are neither ended nor expired, most recently seen first."""
    since = timezone.now() - timezone.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return list(UserSession.objects.filter(user=user, ended_at__isnull=True, last_seen_at__gte=since).order_by("-last_seen_at", "-id"))


BROWSERS = [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Chromium/", "Chromium"),
            ("Safari/", "Safari")]
SYSTEMS = [("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"), ("Mac OS X", "macOS"),
           ("CrOS", "ChromeOS"), ("Linux", "Linux")]


def device_label(user_agent: str) -> str:
    """"Chrome on Windows" from a user agent; "Unknown device" when it says nothing we know."""
    browser = next((name for token, name in BROWSERS if token in user_agent), "")
    if "HeadlessChrome" in user_agent:
        browser = "Headless Chrome"
    system = next((name for token, name in SYSTEMS if token in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (re.split(r"[/ ]", user_agent)[0][:40] if user_agent else "Unknown device")


class SessionTrackingMiddleware:
    """Signs out an ended session at its next request; touches the session's record every TOUCH_SECONDS."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = getattr(request.session, "session_key", None) if hasattr(request, "session") else None
        if key and request.user.is_authenticated:
            digest = key_hash(key)
            ended = cache.get(_ended_cache_key(digest))
            if not ended and time.time() - request.session.get(TOUCHED, 0) > TOUCH_SECONDS:
                row = session_record(request, request.user)
                ended = row is not None and row.ended_at is not None
            if ended:
                logout(request)
                messages.info(request, ENDED_MESSAGE)
                return redirect(settings.LOGIN_URL)
        return self.get_response(request)
