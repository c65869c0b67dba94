"""Action plans and the experience audit in Chromium at 1280×800 and 390×844: the plan list and detail
(interval bar, verdict, the weekly chart with the baseline band and target line drawn) and the journey audit
(two charts drawn, markers) render with a clean console (strict CSP), axe finds no WCAG 2.1 A/AA violation,
the phone never scrolls sideways; the audit's "Download PDF" downloads a real PDF printed by the server's
Chromium, with pages and the journey's name in it. Screenshots: artifacts/screenshots/feedback-*-<width>.png."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from apps.core.dates import local_today
from apps.reports.pdf import PRINT_WIDTH
from apps.tenancy.context import tenant_context
from tests.browser.conftest import WIDTHS, axe_violations, horizontal_overflow, screenshot, wait_for_charts
from tests.builders import AUDIT_END, action_plan_made, needs_chromium, plant_touchpoint_scores
from tests.builders import audit_journey_world as build_journey
from tests.factories import CaseFactory, TouchpointFactory
from tests.pdfs import pdf_pages, pdf_text, printed

pytestmark = [pytest.mark.services, pytest.mark.postgres]


def check(page, watch, name, charts: int):
    if charts:  # pages without charts do not load the chart script (nothing marks them "none")
        wait_for_charts(page)
    drawn = page.locator("[data-chart]")
    assert drawn.count() == charts
    for i in range(charts):
        assert drawn.nth(i).locator("svg.main-svg").count() >= 1, f"{name}: chart {i} has no SVG"
    screenshot(page, name)
    assert watch.problems() == [], f"{name}: console/network problems: {watch.problems()}"
    violations = axe_violations(page)
    assert not violations, f"{name}: axe WCAG 2.1 AA violations:\n" + "\n".join(violations)
    if page.viewport_size["width"] < 500:
        assert horizontal_overflow(page) <= 0, f"{name}: the body scrolls sideways at {page.viewport_size['width']}px"


def plans_world(world):
    today = local_today(world.a.time_zone)
    start = today - timedelta(days=35)
    with tenant_context(world.a):
        tp = TouchpointFactory(tenant=world.a, name="Help line")
        other = TouchpointFactory(tenant=world.a, name="Invoices")
    plant_touchpoint_scores(world.a, tp, start - timedelta(days=20), csat=[5] * 12 + [1] * 18, rebuild=False)
    for week in range(5):
        plant_touchpoint_scores(world.a, tp, start + timedelta(days=3 + 7 * week), csat=[5] * (20 + week * 4) + [2] * 6, rebuild=False)
    plant_touchpoint_scores(world.a, other, start + timedelta(days=4), csat=[5] * 6 + [1] * 3)
    plan = action_plan_made(world, tp, today, title="Faster first answer on the help line", target_value=65, today=start)
    action_plan_made(world, other, today, title="Clearer invoices", target_value=80, today=start)
    with tenant_context(world.a):
        case = CaseFactory(tenant=world.a, title="Waited two days for a callback")
    from apps.feedback.plans.services import action_plan_link_case

    with tenant_context(world.a):
        action_plan_link_case(tenant=world.a, acting_member=world.membership(world.carol, world.a), plan=plan, case=case)
    return plan


@needs_chromium
@pytest.mark.parametrize("width", WIDTHS.keys())
def test_the_plan_pages_render_with_their_chart(browse, world, width):
    plan = plans_world(world)
    page, watch = browse.open(WIDTHS[width], user=world.carol)
    assert page.goto("/t/acme/action-plans/").status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Action plans")
    expect(page.locator("[data-plan]")).to_have_count(2)
    check(page, watch, f"feedback-plans-list-{width}", charts=0)

    page.get_by_role("link", name="Faster first answer on the help line").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(plan.title)
    expect(page.locator("[data-verdict]")).to_contain_text("Target reached")
    expect(page.get_by_role("link", name="Waited two days for a callback")).to_be_visible()  # cases:detail
    check(page, watch, f"feedback-plans-detail-{width}", charts=1)
    traces = page.locator("[data-chart] .scatterlayer .trace").count()
    assert traces >= 4  # baseline band edges, baseline, target, interval band, the line

    if width == "desktop":
        page.goto("/t/acme/action-plans/new/")
        page.get_by_label("Title").fill("Onboarding CSAT")
        page.get_by_label("Metric").select_option("csat")
        page.get_by_label("Touchpoint").select_option(label="Help line")
        page.get_by_role("button", name="Preview the baseline").click()
        expect(page.locator("#baseline-preview")).to_contain_text("n =")
        check(page, watch, "feedback-plans-create-preview-desktop", charts=0)


@needs_chromium
@pytest.mark.parametrize("width", WIDTHS.keys())
def test_the_journey_audit_renders_and_downloads_as_pdf(browse, world, width):
    journey, _ = build_journey(world.a)
    page, watch = browse.open(WIDTHS[width], user=world.victor, accept_downloads=True)
    assert page.goto(f"/t/acme/journeys/{journey.uuid}/").status == 200
    page.get_by_role("link", name="Six-monthly audit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(journey.name)
    page.get_by_role("link", name="the last completed half-year", exact=False).first.click()
    page.wait_for_url(f"**end={AUDIT_END}")
    expect(page.locator(".audit-summary")).to_contain_text("Scores rose significantly at Onboard")
    expect(page.locator('[data-significant]')).to_have_count(4)  # Onboard NPS, Billing CSAT, and the whole journey's two
    check(page, watch, f"feedback-audit-{width}", charts=2)

    if width == "desktop":
        with page.expect_download(timeout=90_000) as download_info:
            page.get_by_role("link", name="Download PDF").click(timeout=90_000)
        download = download_info.value
        assert download.suggested_filename.startswith("acme-audit-")
        assert download.suggested_filename.endswith(".pdf")
        data = Path(download.path()).read_bytes()
        assert data.startswith(b"%PDF-")
        assert pdf_pages(data) >= 1
        assert printed(journey.name, pdf_text(data))
        assert printed("Scores rose significantly at Onboard", pdf_text(data))
        (Path(settings.ARTIFACTS_DIR) / "feedback-audit.pdf").write_bytes(data)
        assert watch.problems() == []
        # How it prints: the page at A4's printable width under print rules (what the PDF is made from).
        page.set_viewport_size({"width": PRINT_WIDTH, "height": 1000})
        page.emulate_media(media="print")
        page.goto(f"/t/acme/audits/journeys/{journey.uuid}/?end={AUDIT_END}")
        wait_for_charts(page)
        page.screenshot(path=str(Path(settings.ARTIFACTS_DIR) / "screenshots" / "feedback-audit-print-a4.png"), full_page=True)
        page.emulate_media(media="screen")

    assert page.goto("/t/acme/audits/").status == 200
    check(page, watch, f"feedback-audit-list-{width}", charts=0)
