"""The site's own address in links that leave the request (e-mails, webhooks, kiosk and invitation links): `site_url()`.

- `SITE_URL` when it is set — always in production, where workers build most links with no request at hand;
- unset: the address the current request came in on (scheme, host and port; Django checks the host against
  ALLOWED_HOSTS first), so the demo's e-mails link to whatever port it runs on (its tasks run inside the request,
  CELERY_TASK_ALWAYS_EAGER); `RequestOriginMiddleware` holds it for the request;
- otherwise `http://127.0.0.1:8000`.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import DisallowedHost

DEFAULT_SITE_URL = "http://127.0.0.1:8000"

_request_origin: ContextVar[str | None] = ContextVar("cxm_request_origin", default=None)


def site_url() -> str:
    """The address links start with, without a trailing slash."""
    configured = (getattr(settings, "SITE_URL", "") or "").rstrip("/")
    return configured or _request_origin.get() or DEFAULT_SITE_URL


class RequestOriginMiddleware:
    """While SITE_URL is unset, remember the request's origin for `site_url()` until the response is made."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if getattr(settings, "SITE_URL", ""):
            return self.get_response(request)
        try:
            origin = f"{request.scheme}://{request.get_host()}"
        except DisallowedHost:
            origin = None  # CommonMiddleware answers 400 for it anyway
        token = _request_origin.set(origin)
        try:
            return self.get_response(request)
        finally:
            _request_origin.reset(token)
