"""Limits on the sign-in and password reset forms, counted in the shared cache (apps/core/ratelimit.py).

- Sign-in: django-axes pauses one account from one address after five wrong passwords; on top of that,
  an address whose wrong passwords across *all* accounts reach `SIGN_IN_FAILURES_PER_IP` within the
  cool-off period is paused for every account (password spraying from one address).
- Password reset: `PASSWORD_RESET_PER_IP` requests per address and `PASSWORD_RESET_PER_EMAIL` per
  e-mail per hour. The e-mail limit counts every address asked for, with or without an account, so it
  reveals nothing either.
"""

from __future__ import annotations

from django.conf import settings

from apps.core import ratelimit

RESET_WINDOW = 60 * 60


def _cooloff_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def sign_in_failure_count(*, ip: str) -> None:
    ratelimit.incr("sign-in-failures", ip, window=_cooloff_seconds())


def sign_in_paused(*, ip: str) -> bool:
    """True when this address has had too many wrong passwords, whichever accounts they were for."""
    limit = int(getattr(settings, "SIGN_IN_FAILURES_PER_IP", 20))
    return ratelimit.count("sign-in-failures", ip, window=_cooloff_seconds()) >= limit


def password_reset_refusal(*, ip: str, email: str | None) -> str | None:
    """Count one reset request (from `ip`, for `email` when the form gave one); the reason when it is
    one too many, else None."""
    wait = max(1, round(ratelimit.retry_after(RESET_WINDOW) / 60))
    if ratelimit.hit("password-reset-ip", ip, limit=int(getattr(settings, "PASSWORD_RESET_PER_IP", 10)), window=RESET_WINDOW):
        return f"Too many password reset requests from your network. Please try again in {wait} minutes."
    if email and ratelimit.hit("password-reset-email", email.strip().lower(), limit=int(getattr(settings, "PASSWORD_RESET_PER_EMAIL", 3)),
                               window=RESET_WINDOW):
        return (f"A reset link for this address was asked for several times already: check your inbox (and spam folder), "
                f"or try again in {wait} minutes.")
    return None


def retry_after_seconds(kind: str) -> int:
    return ratelimit.retry_after(RESET_WINDOW if kind == "reset" else _cooloff_seconds())
