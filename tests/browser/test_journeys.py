"""Touchpoints and journeys in Chromium: the touchpoint list, the journey editor and the journey map render
cleanly at 1280 and 390 px (axe WCAG 2.1 AA, clean console, no sideways body scroll on a phone); a lead
reorders a stage and a placement with the keyboard only, and by mouse drag and drop."""

import datetime

import pytest
from playwright.sync_api import expect

from apps.journeys.models import Stage, StageTouchpoint
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Team
from tests.browser.conftest import DESKTOP, MOBILE, WIDTHS, assert_page_is_clean
from tests.factories import (
    ClientFactory,
    InteractionFactory,
    JourneyFactory,
    SegmentFactory,
    StageFactory,
    StageTouchpointFactory,
    TeamFactory,
    TouchpointFactory,
)

pytestmark = pytest.mark.services

STAGES = [
    ("Discover", "Find a firm that understands our sector", "neutral"),
    ("Sign", "Agree scope and fees without surprises", "anxious"),
    ("Onboard", "Feel looked after from the first week", "positive"),
    ("Deliver", "Get answers we can act on, on time", "delighted"),
    ("Renew", "Decide to stay, easily", "frustrated"),
]
PLACEMENTS = {
    "Discover": [("Website", "web", "Marketing", False, False, "Clear sector pages and real case studies"),
                 ("Seminar", "in_person", "Marketing", False, False, "")],
    "Sign": [("Proposal call", "phone", "Partners", True, True, "A partner explains the fees line by line"),
             ("Engagement letter", "email", "Partners", False, False, "Signed online in minutes")],
    "Onboard": [("Welcome pack", "mail", "Client service", False, False, ""),
                ("Kick-off meeting", "in_person", "Client service", True, True, "We meet the whole team"),
                ("Client portal", "app", "Client service", False, False, "Documents in one place")],
    "Deliver": [("Help line", "phone", "Support", True, True, "A named person answers, same day"),
                ("Monthly report", "email", "Client service", False, False, "")],
    "Renew": [("Renewal review", "in_person", "Partners", True, True, "The value of the year, in numbers"),
              ("Invoice", "mail", "Finance", False, False, "No surprise on the bill")],
}


def populate(world):
    """A realistic journey in tenant A (and a colliding one in B that must never show)."""
    a = world.a
    bob = world.membership(world.bob, a)
    with tenant_context(a):
        teams = {t.name: t for t in Team.objects.all()}
    for name in ("Marketing", "Partners", "Client service", "Finance"):
        teams[name] = TeamFactory(tenant=a, name=name)
    journey = JourneyFactory(tenant=a, name="Client onboarding", status="active", segment=SegmentFactory(tenant=a, name="Mid-market"),
                             description="From first visit to the first renewal: what a mid-market client lives through.")
    clients = [ClientFactory(tenant=a) for _ in range(3)]
    now = datetime.datetime.now(datetime.UTC)
    for order, (name, goal, emotion) in enumerate(STAGES, start=1):
        stage = StageFactory(journey=journey, order=order, name=name, goal=goal, expected_emotion=emotion)
        for p_order, (tp_name, channel, team, key, mot, expectation) in enumerate(PLACEMENTS[name], start=1):
            tp = TouchpointFactory(tenant=a, name=tp_name, channel=channel, team=teams[team], is_key=key,
                                   description=f"{tp_name} ({team.lower()})")
            StageTouchpointFactory(stage=stage, touchpoint=tp, order=p_order, moment_of_truth=mot, expectation=expectation)
            for i in range((order * 3 + p_order * 2) % 7):
                InteractionFactory(staff=bob, touchpoint=tp, client=clients[i % 3], occurred_at=now - datetime.timedelta(days=i * 9))
    TouchpointFactory(tenant=a, name="Fax line", channel="phone", is_active=False)
    JourneyFactory(tenant=world.b, name="Client onboarding")
    return journey


@pytest.mark.parametrize("width", WIDTHS.keys())
def test_the_touchpoint_list_editor_and_map_render_cleanly(browse, world, width):
    journey = populate(world)
    page, watch = browse.open(WIDTHS[width], user=world.alice)

    page.goto("/t/acme/touchpoints/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Touchpoints")
    expect(page.get_by_role("row", name="Kick-off meeting")).to_contain_text("Moment of truth")
    assert_page_is_clean(page, watch, "touchpoints")

    page.goto(f"/t/acme/journeys/{journey.uuid}/edit/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit “Client onboarding”")
    assert_page_is_clean(page, watch, "journey-editor")

    page.goto(f"/t/acme/journeys/{journey.uuid}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Client onboarding")
    expect(page.locator(".map-col")).to_have_count(5)
    expect(page.locator(".map-card--mot")).to_have_count(4)
    assert_page_is_clean(page, watch, "journey-map")
    # The map scrolls inside its own region on a phone; every column keeps a readable width.
    widths = page.locator(".map-col").evaluate_all("cols => cols.map(c => c.getBoundingClientRect().width)")
    assert min(widths) >= 200

    page.goto("/t/acme/journeys/")
    assert_page_is_clean(page, watch, "journeys")


def focused_id(page):
    return page.evaluate("document.activeElement && document.activeElement.id")


def tab_to(page, locator, limit=200):
    for _ in range(limit):
        page.keyboard.press("Tab")
        if locator.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{locator} is not reachable with Tab")


def submit(page):
    """Enter on the focused button, and wait for the page that answers the POST."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def stored_stages(journey):
    with tenant_context(journey.tenant):
        return list(Stage.objects.filter(journey=journey).order_by("order").values_list("name", flat=True))


def stored_placements(journey, stage_name):
    with tenant_context(journey.tenant):
        return list(StageTouchpoint.objects.filter(stage__journey=journey, stage__name=stage_name).order_by("order")
                    .values_list("touchpoint__name", flat=True))


def test_a_lead_reorders_a_stage_and_a_placement_with_the_keyboard_only(browse, world):
    journey = populate(world)
    page, watch = browse.open(MOBILE, user=world.carol)
    page.goto(f"/t/acme/journeys/{journey.uuid}/edit/")

    # Stage "Renew" up one place: Tab to its "Move up" button, press Enter; focus comes back to it.
    move_up = page.get_by_role("button", name="Move up stage Renew")
    tab_to(page, move_up)
    submit(page)
    expect(page.get_by_role("status").first).to_contain_text("Moved stage “Renew” to position 4 of 5.")
    assert stored_stages(journey) == ["Discover", "Sign", "Onboard", "Renew", "Deliver"]
    expect(page.get_by_role("button", name="Move up stage Renew")).to_be_focused()
    # Enter again: it keeps moving, the focus stays with it.
    submit(page)
    expect(page.get_by_role("button", name="Move up stage Renew")).to_be_focused()
    assert stored_stages(journey) == ["Discover", "Sign", "Renew", "Onboard", "Deliver"]

    # Placement "Client portal" (3rd of Onboard) down is impossible, up works; then to another stage.
    portal_up = page.get_by_role("button", name="Move up Client portal in Onboard")
    tab_to(page, portal_up)
    submit(page)
    assert stored_placements(journey, "Onboard") == ["Welcome pack", "Client portal", "Kick-off meeting"]
    expect(page.get_by_role("button", name="Move up Client portal in Onboard")).to_be_focused()

    select = page.get_by_label("Move Client portal to stage")
    tab_to(page, select)
    select.select_option(label="To 5. Deliver")
    page.keyboard.press("Tab")
    submit(page)
    assert stored_placements(journey, "Onboard") == ["Welcome pack", "Kick-off meeting"]
    assert stored_placements(journey, "Deliver") == ["Help line", "Monthly report", "Client portal"]
    expect(page.get_by_role("button", name="Move Client portal to the chosen stage")).to_be_focused()
    assert watch.problems() == []


def drag(page, source, target):
    """A real mouse drag: press on `source` (a handle), move in steps, release on the top edge of `target`."""
    start, end = source.bounding_box(), target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 5, start["y"] + start["height"] / 2 + 5, steps=3)
    page.mouse.move(end["x"] + 40, end["y"] + 6, steps=12)
    page.mouse.up()


def test_a_lead_reorders_a_stage_and_a_placement_by_drag_and_drop(browse, world):
    journey = populate(world)
    # Tall enough that the whole editor is on screen: a drag starts and ends without scrolling.
    page, watch = browse.open({**DESKTOP, "height": 3200}, user=world.alice)
    page.goto(f"/t/acme/journeys/{journey.uuid}/edit/")
    status = page.locator("#reorder-status")

    # Drag stage "Deliver" above "Sign".
    deliver = page.locator(".stage-item", has=page.get_by_role("heading", name="Deliver"))
    sign = page.locator(".stage-item", has=page.get_by_role("heading", name="Sign"))
    drag(page, deliver.locator("[data-drag=stage]").first, sign.locator(".stage-item__head"))
    expect(status).to_have_text("Moved stage “Deliver” to position 2 of 5.")
    assert stored_stages(journey) == ["Discover", "Deliver", "Sign", "Onboard", "Renew"]
    expect(page.locator(".stage-item").nth(1)).to_be_focused()

    # Drag "Invoice" (Renew) onto the top of "Welcome pack" (Onboard): it moves to another stage.
    invoice = page.locator(".placement-item", has_text="Invoice")
    welcome = page.locator(".placement-item", has_text="Welcome pack")
    drag(page, invoice.locator("[data-drag=placement]"), welcome)
    expect(status).to_have_text("Moved “Invoice” to position 1 of 4 in stage “Onboard”.")
    assert stored_placements(journey, "Onboard") == ["Invoice", "Welcome pack", "Kick-off meeting", "Client portal"]
    assert stored_placements(journey, "Renew") == ["Renewal review"]
    expect(page.locator(".placement-item", has_text="Invoice")).to_be_focused()

    # The page after the drops is the server's truth: a reload shows the same order.
    page.reload()
    names = page.locator(".stage-item__title").all_inner_texts()
    assert [n.split(" ", 2)[-1] for n in names] == ["Discover", "Deliver", "Sign", "Onboard", "Renew"]
    assert watch.problems() == []
