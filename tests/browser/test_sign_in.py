"""Signing in and out with the keyboard only, and moving between workspaces."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD

pytestmark = pytest.mark.services


def sign_in_with_keyboard(page, email, password=PASSWORD):
    page.goto("/accounts/login/")
    page.get_by_label("E-mail").focus()
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_password", "Tab from e-mail must reach the password"
    page.keyboard.type(password)
    page.keyboard.press("Enter")


def test_it_signs_a_one_workspace_member_in_with_the_keyboard_and_out_again(browse, world):
    page, watch = browse.open()

    sign_in_with_keyboard(page, world.bob.email)

    expect(page).to_have_url(browse.url("/t/acme/home/"))  # the workspace opens on the staff home
    expect(page.get_by_role("heading", level=1)).to_have_text("My home")
    expect(page.get_by_role("banner")).to_contain_text("bob@example.com")

    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.goto("/t/acme/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/t/acme/$"))
    assert watch.problems() == []


def test_it_refuses_a_wrong_password_and_says_why(browse, world):
    page, watch = browse.open()

    sign_in_with_keyboard(page, world.bob.email, password="not-the-password")

    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("alert")).to_contain_text("do not match an account")
    # The failed POST answers 200 with the form again: nothing else may go wrong.
    assert watch.console_errors == []
    assert watch.page_errors == []


def test_it_lets_a_two_workspace_member_pick_and_switch_workspaces(browse, world):
    page, watch = browse.open()

    sign_in_with_keyboard(page, world.dana.email)

    expect(page).to_have_url(browse.url("/workspaces/"))
    page.get_by_role("link", name=re.compile("Acme Advisory")).click()
    expect(page).to_have_url(browse.url("/t/acme/home/"))  # dana is staff here
    expect(page.get_by_role("navigation", name="Workspace")).to_contain_text("Acme Advisory")

    page.get_by_role("link", name=re.compile("Workspace: Acme Advisory")).click()
    expect(page).to_have_url(browse.url("/workspaces/"))
    page.get_by_role("link", name=re.compile("Globex Legal")).click()

    expect(page).to_have_url(browse.url("/t/globex/dashboards/"))  # and admin there
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    expect(page.get_by_role("navigation", name="Workspace")).to_contain_text("Admin")
    # The home link now remembers the workspace used last.
    page.get_by_role("link", name="CXM").click()
    expect(page).to_have_url(browse.url("/t/globex/dashboards/"))
    assert watch.problems() == []


def test_it_keeps_a_member_out_of_a_workspace_they_do_not_belong_to(browse, world):
    page, _ = browse.open(user=world.bob)

    response = page.goto("/t/globex/")

    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    assert "Globex" not in page.content()
