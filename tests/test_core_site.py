"""Links that leave the request (issue 20 item 8): SITE_URL when set, else the request's own address (the demo on any
port), else http://127.0.0.1:8000 — and never a host Django refuses."""

from __future__ import annotations

from django.http import HttpResponse

from apps.core.site import DEFAULT_SITE_URL, RequestOriginMiddleware, site_url


def through_middleware(rf, **request_args) -> str:
    seen = []
    middleware = RequestOriginMiddleware(lambda request: seen.append(site_url()) or HttpResponse())
    middleware(rf.get("/", **request_args))
    return seen[0]


def test_site_url_wins_when_set(rf, settings):
    settings.SITE_URL = "https://cx.example.com/"
    assert site_url() == "https://cx.example.com"
    assert through_middleware(rf, HTTP_HOST="127.0.0.1:8011") == "https://cx.example.com"


def test_unset_links_use_the_requests_address_and_port(rf, settings):
    settings.SITE_URL = ""
    assert through_middleware(rf, HTTP_HOST="127.0.0.1:8011") == "http://127.0.0.1:8011"
    assert through_middleware(rf, HTTP_HOST="localhost:9000", secure=True) == "https://localhost:9000"
    assert site_url() == DEFAULT_SITE_URL  # outside a request (a worker): the default
    assert through_middleware(rf, HTTP_HOST="evil.example.net") == DEFAULT_SITE_URL  # not in ALLOWED_HOSTS: never used
