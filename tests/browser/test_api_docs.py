"""The API docs: Swagger UI from our own static files (drf-spectacular-sidecar), nothing from a CDN,
no script blocked by the Content-Security-Policy."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.services


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_it_serves_swagger_ui_offline(browse, world, signed_in):
    page, watch = browse.open(user=world.alice if signed_in else None)

    response = page.goto("/api/docs/")

    assert response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    expect(page.locator(".swagger-ui .information-container .title")).to_contain_text("CXM API", timeout=15_000)
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    page.wait_for_load_state("networkidle")

    assert watch.foreign_requests(browse.netloc) == [], "the docs page must not fetch anything from another host"
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/" in url for url in watch.requests)
    assert any(url.endswith("/api/schema/") or "/api/schema/?" in url for url in watch.requests)
    assert watch.problems() == [], "console errors (a CSP violation shows up here) or failed requests"
    screenshot(page, "api-docs-signed-in" if signed_in else "api-docs", full_page=False)
