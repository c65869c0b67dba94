"""Response pages in Chromium at desktop (1280) and phone (390) width: they render, the console stays
clean, axe finds no WCAG 2.1 A/AA violation, the body never scrolls sideways; staff tag a response
from the keyboard-reachable form."""

import datetime

import pytest
from playwright.sync_api import expect

from apps.surveys.models import ResponseTag
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.browser.conftest import WIDTHS, assert_page_is_clean
from tests.builders import answer, responses_world

pytestmark = pytest.mark.services


def populate(world):
    ns = responses_world(world)
    f.ResponseTagFactory(response=ns.promoter, tag=f.TagFactory(tenant=world.a, name="Praise"))
    f.ResponseTagFactory(response=ns.detractor, tag=f.TagFactory(tenant=world.a, name="Call back"))
    now = datetime.datetime.now(datetime.UTC)
    for i, (score, comment) in enumerate([(6, "Waited twenty minutes on hold before anyone picked up, then was transferred twice."),
                                          (9, "Sorted in one call."), (4, ""), (7, "Fine, nothing special.")]):
        r = f.ResponseFactory(version=ns.nps_v1, nps=score, comment=comment, client=ns.cedar, contact=ns.jordan, touchpoint=ns.desk,
                              stage=ns.stage, channel="email", submitted_at=now - datetime.timedelta(days=10 + i))
        answer(r, "nps", score)
    return ns


PAGES = {
    "responses-list": (lambda ns: "/t/acme/responses/", "carol", "Responses"),
    "responses-list-filtered": (lambda ns: "/t/acme/responses/?band=nps_detractor&has_comment=yes", "victor", "Responses"),
    "response-detail": (lambda ns: f"/t/acme/responses/{ns.promoter.uuid}/", "bob", "Response to After the call"),
    "response-detail-anonymous": (lambda ns: f"/t/acme/responses/{ns.detractor.uuid}/", "victor", "Response to After the call"),
}


@pytest.mark.parametrize("width", WIDTHS.keys())
@pytest.mark.parametrize("name", PAGES.keys())
def test_it_renders_the_response_pages_cleanly(browse, world, name, width):
    ns = populate(world)
    path, who, heading = PAGES[name]
    page, watch = browse.open(WIDTHS[width], user=getattr(world, who))

    response = page.goto(path(ns))

    assert response.status == 200
    assert page.get_by_role("heading", level=1).inner_text().strip() == heading
    expect(page.locator(".subnav [aria-current]")).to_have_text("Responses")
    assert_page_is_clean(page, watch, name)


def test_it_filters_and_tags_from_the_keyboard(browse, world):
    ns = populate(world)
    page, watch = browse.open(WIDTHS["desktop"], user=world.bob)
    page.goto("/t/acme/responses/")
    page.get_by_label("Score band").select_option("nps_promoter")
    page.get_by_role("button", name="Apply filters").press("Enter")
    expect(page.locator("#responses-count")).to_contain_text("2 responses match")
    page.get_by_role("row").nth(1).get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Response to After the call")

    page.get_by_label("Add a tag").fill("Needs follow-up")
    page.get_by_label("Add a tag").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Tagged “Needs follow-up”")
    with tenant_context(world.a):
        assert set(ResponseTag.objects.filter(response=ns.promoter).values_list("tag__name", flat=True)) == {"Praise", "Needs follow-up"}
    page.get_by_role("button", name="Remove tag Praise").click()
    expect(page.locator(".tag-list")).not_to_contain_text("Praise")
    assert watch.problems() == []
