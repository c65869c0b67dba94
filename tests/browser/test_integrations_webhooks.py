"""The webhook pages in Chromium at 1280×800 and 390×844: an admin adds an endpoint through the form
(URL, events), sees its secret once with a copy button, finds the delivery log with its attempts and a
redeliver button, and the list with the last delivery. The console stays clean (strict CSP), axe finds
no WCAG 2.1 A/AA violation, the phone never scrolls sideways.
Screenshots: artifacts/screenshots/webhooks-<page>-<width>.png."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.integrations import network
from apps.integrations.models import WebhookAttempt, WebhookEndpoint
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.browser.conftest import WIDTHS, assert_page_is_clean

pytestmark = [pytest.mark.services, pytest.mark.postgres]


@pytest.fixture
def dns(monkeypatch):
    """hooks.example.com is a public address (no network needed); the live server runs in this process."""
    def fake(host, port):
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        raise socket.gaierror("unknown host")

    monkeypatch.setattr(network, "_getaddrinfo", fake)


def stock_log(endpoint):
    """A delivered event, one that failed for good after a 410, and one retrying after two 503s."""
    now = timezone.now()
    with tenant_context(endpoint.tenant):
        ok = f.WebhookDeliveryFactory(endpoint=endpoint, event_type="response.created", status="succeeded", attempts=1,
                                      last_status_code=204, delivered_at=now)
        WebhookAttempt.objects.create(delivery=ok, attempted_at=now - timedelta(minutes=3), status_code=204, duration_ms=84)
        gone = f.WebhookDeliveryFactory(endpoint=endpoint, event_type="case.resolved", status="failed", attempts=1,
                                        last_status_code=410, last_error="HTTP 410")
        WebhookAttempt.objects.create(delivery=gone, attempted_at=now - timedelta(minutes=2), status_code=410,
                                      error="HTTP 410", response_excerpt='{"error": "this hook was removed"}', duration_ms=120)
        retrying = f.WebhookDeliveryFactory(endpoint=endpoint, status="pending", attempts=2, last_status_code=503,
                                            last_error="HTTP 503", next_attempt_at=now + timedelta(minutes=2))
        for minutes in (2, 1):
            WebhookAttempt.objects.create(delivery=retrying, attempted_at=now - timedelta(minutes=minutes), status_code=503,
                                          error="HTTP 503", response_excerpt="Service Unavailable", duration_ms=2300)


@pytest.mark.parametrize("width", WIDTHS.keys())
def test_an_admin_adds_an_endpoint_and_reads_its_log(browse, world, dns, width):
    page, watch = browse.open(WIDTHS[width], user=world.alice)
    page.set_default_navigation_timeout(30_000)  # the shared machine is busy; a first load may be slow
    assert page.goto("/t/acme/settings/webhooks/").status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
    assert_page_is_clean(page, watch, "webhooks-empty-list")

    page.get_by_role("link", name="Add endpoint").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New webhook endpoint")
    page.get_by_label("Endpoint URL").fill("https://hooks.example.com/cxm")
    page.get_by_label("A follow-up case was opened").check()
    page.get_by_label("A follow-up case was resolved").check()
    page.get_by_label("Description").fill("CRM ticket sync")
    assert_page_is_clean(page, watch, "webhooks-form")
    page.get_by_role("button", name="Add endpoint").click()

    with tenant_context(world.a):
        endpoint = WebhookEndpoint.objects.get()
    page.wait_for_url(f"**/settings/webhooks/{endpoint.uuid}/")
    expect(page.get_by_role("textbox", name="Signing secret")).to_have_value(endpoint.secret)
    assert endpoint.events == ["case.opened", "case.resolved"]
    assert_page_is_clean(page, watch, "webhooks-created")

    stock_log(endpoint)
    page.reload()
    expect(page.get_by_role("textbox", name="Signing secret")).to_have_count(0)  # shown once
    log = page.locator("section[aria-labelledby=log-h]")
    expect(log).to_contain_text("HTTP 410")
    expect(log.get_by_role("button", name="Redeliver")).to_have_count(2)  # the pending one is still being tried
    log.locator("summary").filter(has_text="2 tries").click()
    expect(log).to_contain_text("Service Unavailable")
    assert_page_is_clean(page, watch, "webhooks-detail")

    page.get_by_role("button", name="Reveal secret").click()
    expect(page.get_by_role("textbox", name="Signing secret")).to_have_value(endpoint.secret)

    assert page.goto("/t/acme/settings/webhooks/").status == 200
    expect(page.locator("table")).to_contain_text("CRM ticket sync")
    assert_page_is_clean(page, watch, "webhooks-list")
