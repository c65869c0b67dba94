"""The executive summary in Chromium, for each role that reads it (admin, CX lead, viewer), at 1280×800
and 390×844: every chart draws (its SVG exists), the console stays clean (strict CSP included), axe finds
no WCAG 2.1 A/AA violation, the phone never scrolls sideways; a filter change updates the numbers in
place through htmx (URL pushed, no reload) and the PDF link follows it; the "Download PDF" button
downloads a real PDF — printed by the server's own headless Chromium inside the live server's request
thread — with the tenant's name and numbers in it. The page as printed (A4 width, print media) is kept
as a screenshot too. Screenshots: artifacts/screenshots/dashboards-executive-<role>-<width>.png."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from apps.reports.pdf import PRINT_WIDTH
from tests.browser.conftest import WIDTHS, axe_violations, horizontal_overflow, reader_widths, screenshot, wait_for_charts
from tests.builders import executive_world, needs_chromium
from tests.pdfs import pdf_pages, pdf_text, printed

pytestmark = [pytest.mark.services, pytest.mark.postgres]

PAGE = "/t/acme/dashboards/executive/"




def populate(world):
    world.a.min_n_nps, world.a.min_n_other = 5, 5
    world.a.save()
    w = executive_world(world.a, random.Random(11), responses=500, invitations=60)
    executive_world(world.b, random.Random(12), responses=100, invitations=10)
    return w




def assert_dashboard_is_clean(page, watch, name):
    wait_for_charts(page)
    charts = page.locator("[data-chart]")
    assert charts.count() == 4  # NPS, CSAT and CES per month, best and worst touchpoints
    for i in range(charts.count()):
        assert charts.nth(i).locator("svg.main-svg").count() >= 1, f"chart {i} has no SVG"
    screenshot(page, name)
    assert watch.problems() == [], f"{name}: console/network problems: {watch.problems()}"
    violations = axe_violations(page)
    assert not violations, f"{name}: axe WCAG 2.1 AA violations:\n" + "\n".join(violations)
    if page.viewport_size["width"] < 500:
        assert horizontal_overflow(page) <= 0, f"{name}: the body scrolls sideways at {page.viewport_size['width']}px"


@needs_chromium
@pytest.mark.parametrize("who,role,width", reader_widths(("carol", "cx_lead"), ("alice", "admin"), ("victor", "viewer")))
def test_the_executive_summary_renders_filters_and_downloads_as_pdf(browse, world, who, role, width):
    w = populate(world)
    page, watch = browse.open(WIDTHS[width], user=getattr(world, who), accept_downloads=True)
    assert page.goto(PAGE).status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Executive summary")
    expect(page.locator(".dashboard-tabs [aria-current]")).to_have_text("Executive summary")
    assert_dashboard_is_clean(page, watch, f"dashboards-executive-{role}")
    assert "Globex" not in page.content()

    # A filter change: the numbers change in place (no reload), the URL and the PDF link carry the filter.
    page.evaluate("window.__notReloaded = true")
    n_text = page.locator('[data-tile="nps"] .metric-tile__n')
    before = n_text.inner_text()
    segment = w.segments[0]
    page.get_by_label("Segment").select_option(label=segment.name)
    page.wait_for_url(f"**segment={segment.uuid}**")
    expect(n_text).not_to_have_text(before)
    wait_for_charts(page)
    assert page.evaluate("window.__notReloaded === true")
    pdf_link = page.get_by_role("link", name="Download PDF")
    assert f"segment={segment.uuid}" in pdf_link.get_attribute("href")
    nps = page.locator('[data-tile="nps"] [data-value]').inner_text().split()[0]

    # The button: the live server prints the page with its own Chromium, in its request thread.
    with page.expect_download(timeout=60_000) as download_info:
        pdf_link.click(timeout=60_000)  # the click waits for the answer: the server is printing
    download = download_info.value
    assert download.suggested_filename.startswith("acme-executive-")
    assert download.suggested_filename.endswith(".pdf")
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF-")
    assert pdf_pages(data) == 1
    assert len(data) > 20_000
    text = pdf_text(data)
    assert printed("Acme Advisory", text)
    assert printed(f"Segment: {segment.name}", text)
    assert printed(f"NPS{nps}", text)
    assert watch.problems() == []

    if width == "desktop" and role == "viewer":
        # How it prints: the page at A4's printable width under print rules (what the PDF is made from).
        page.set_viewport_size({"width": PRINT_WIDTH, "height": 1000})
        page.emulate_media(media="print")
        page.goto(PAGE)
        wait_for_charts(page)
        path = Path(settings.ARTIFACTS_DIR) / "screenshots" / "dashboards-executive-print-a4.png"
        page.screenshot(path=str(path), full_page=True)
        (Path(settings.ARTIFACTS_DIR) / "dashboards-executive.pdf").write_bytes(data)


def test_without_chromium_the_button_explains_why(browse, world, settings):
    """The PDF cannot be made (here: no Chromium on the server): the button leads to a page saying why and
    how to print from the browser instead, with status 503 — not a failed download, not a 500."""
    settings.CXM_CHROMIUM = "/nonexistent/chromium"
    page, watch = browse.open(WIDTHS["desktop"], user=world.victor)
    assert page.goto(PAGE).status == 200
    with page.expect_response("**/executive.pdf**") as answer:
        page.get_by_role("link", name="Download PDF").click(timeout=60_000)
    assert answer.value.status == 503
    expect(page.get_by_role("heading", level=1)).to_have_text("The PDF could not be made")
    expect(page.get_by_text("The PDF printer (Chromium) is not installed on this server.")).to_be_visible()
    page.get_by_role("link", name="Open the executive summary").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Executive summary")
    page.go_back()
    screenshot(page, "dashboards-executive-pdf-unavailable")
    # The 503 itself is reported twice (the response, and Chromium's console line for it); nothing else.
    assert [p for p in watch.problems() if "executive.pdf" not in p and "status of 503" not in p] == []
    assert axe_violations(page) == []


@pytest.mark.parametrize("width", WIDTHS.keys())
def test_an_empty_workspace_renders_its_empty_state(browse, world, width):
    page, watch = browse.open(WIDTHS[width], user=world.carl)
    assert page.goto("/t/initech/dashboards/executive/").status == 200
    expect(page.get_by_role("heading", name="No responses yet")).to_be_visible()
    wait_for_charts(page, "none")
    screenshot(page, "dashboards-executive-empty")
    assert watch.problems() == []
    assert axe_violations(page) == []
    if width == "mobile":
        assert horizontal_overflow(page) <= 0
