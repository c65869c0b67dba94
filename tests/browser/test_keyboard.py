"""Keyboard use: the skip link comes first and lands in <main>; focus is always visible."""

import re

import pytest
from playwright.sync_api import expect

from apps.tenancy.models import Role
from tests.browser.conftest import MOBILE, WIDTHS

pytestmark = pytest.mark.services

ACTIVE = "document.activeElement"


@pytest.mark.parametrize("width", WIDTHS.keys())
@pytest.mark.parametrize("path, who", [("/accounts/password-reset/", None), ("/t/acme/settings/members/", "alice")],
                         ids=["password-reset", "members"])
def test_it_offers_the_skip_link_first_and_it_moves_focus_to_main(browse, world, width, path, who):
    # (The sign-in page autofocuses its e-mail field instead: there the first Tab goes to the password.)
    page, watch = browse.open(WIDTHS[width], user=getattr(world, who) if who else None)
    page.goto(path)

    page.keyboard.press("Tab")

    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate(f"{ACTIVE}.id") == "main"
    # The next Tab continues inside main, past the header and the section links.
    page.keyboard.press("Tab")
    assert page.evaluate(f"!!{ACTIVE}.closest('main')"), "Tab after the skip link must stay inside main"
    assert watch.problems() == []


def outline(page):
    return page.evaluate(
        f"(() => {{ const s = getComputedStyle({ACTIVE}); return [s.outlineStyle, parseFloat(s.outlineWidth)]; }})()"
    )


def tab_to(page, locator, limit=40):
    for _ in range(limit):
        page.keyboard.press("Tab")
        if locator.evaluate(f"el => el === {ACTIVE}"):
            return
    raise AssertionError(f"{locator} is not reachable with Tab")


@pytest.mark.parametrize("width", WIDTHS.keys())
def test_it_shows_where_the_focus_is(browse, world, width):
    page, _ = browse.open(WIDTHS[width], user=world.alice)
    page.goto("/t/acme/settings/api-keys/")

    for target in [page.get_by_role("button", name="Sign out"),
                   page.get_by_role("link", name="Members"),
                   page.get_by_label("Name"),
                   page.get_by_role("button", name="Create key")]:
        tab_to(page, target)
        style, px = outline(page)
        assert style != "none", f"focus on {target} is not visible: outline {style} {px}px"
        assert px >= 2, f"focus on {target} is not visible: outline {style} {px}px"


def test_it_creates_an_api_key_with_the_keyboard_only(browse, world):
    page, _ = browse.open(MOBILE, user=world.alice)
    page.goto("/t/acme/settings/api-keys/")

    tab_to(page, page.get_by_label("Name"))
    page.keyboard.type("Keyboard key")
    tab_to(page, page.get_by_role("button", name="Create key"))
    page.keyboard.press("Enter")

    expect(page.get_by_label("New key")).to_have_value(re.compile(r"^cxm_"))
    expect(page.get_by_role("row", name="Keyboard key")).to_contain_text(Role.VIEWER.label)
