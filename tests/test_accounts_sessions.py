"""Each user's sessions (issue 21 item 4): recorded at sign-in with device and address, listed on the account's
Sessions page, ended one by one or all but this one — the ended browser is signed out at its next request, even
when the cache forgot — never another user's, and no query per page between touches."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.accounts import sessions
from apps.accounts.models import UserSession
from tests.factories import PASSWORD

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"


def browser(agent: str, address: str, email: str = "carol@example.com") -> Client:
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=address)
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def test_sessions_are_recorded_listed_and_ended_from_another_device(world):
    laptop = browser(FIREFOX, "203.0.113.7")
    phone = browser(SAFARI, "198.51.100.23")
    rows = list(UserSession.objects.filter(user=world.carol).order_by("created_at"))
    assert [(r.user_agent, r.ip_address, r.ended_at) for r in rows] == [(FIREFOX, "203.0.113.7", None), (SAFARI, "198.51.100.23", None)]

    page = laptop.get("/account/sessions/").content.decode()
    assert "Firefox on Windows" in page
    assert "Safari on iPhone" in page
    assert page.count("This device") == 1
    assert "Sign out every other session (1)" in page

    phone_row = rows[1]
    response = laptop.post(f"/account/sessions/{phone_row.uuid}/end/")
    assert response.status_code == 302
    assert "Signed out Safari on iPhone." in laptop.get("/account/sessions/").content.decode()
    phone_row.refresh_from_db()
    assert phone_row.ended_at is not None

    # The phone's next request: signed out, told why.
    response = phone.get("/t/acme/", follow=True)
    assert response.redirect_chain[0][0].startswith("/accounts/login/")
    assert sessions.ENDED_MESSAGE in response.content.decode()
    assert phone.get("/account/sessions/").status_code == 302  # no longer signed in
    assert laptop.get("/account/sessions/").status_code == 200  # the laptop is untouched


def test_every_other_session_can_be_ended_at_once_and_the_current_one_stays(world):
    here = browser(FIREFOX, "203.0.113.7")
    others = [browser(SAFARI, f"198.51.100.{n}") for n in range(3)]
    response = here.post("/account/sessions/end-others/", follow=True)
    assert "Signed out 3 other sessions." in response.content.decode()
    for other in others:
        assert other.get("/account/sessions/").status_code == 302
    assert here.get("/account/sessions/").status_code == 200
    current = UserSession.objects.get(user=world.carol, ended_at__isnull=True)
    response = here.post(f"/account/sessions/{current.uuid}/end/", follow=True)
    assert "This is the session you are using: sign out instead." in response.content.decode()
    assert here.get("/account/sessions/").status_code == 200


def test_an_ended_session_is_signed_out_even_when_the_cache_forgot(world, monkeypatch):
    here = browser(FIREFOX, "203.0.113.7")
    there = browser(SAFARI, "198.51.100.1")
    row = UserSession.objects.get(user_agent=SAFARI)
    sessions.session_end(user=world.carol, session=row)
    cache.clear()  # the flag is gone: the next touch reads ended_at
    monkeypatch.setattr(sessions, "TOUCH_SECONDS", -1)
    assert there.get("/account/sessions/").status_code == 302
    assert here.get("/account/sessions/").status_code == 200


def test_signing_out_ends_the_session_and_nobody_ends_another_users(world):
    carol = browser(FIREFOX, "203.0.113.7")
    alice = browser(FIREFOX, "203.0.113.8", email="alice@example.com")
    alices = UserSession.objects.get(user=world.alice)
    assert carol.post(f"/account/sessions/{alices.uuid}/end/").status_code == 404
    alices.refresh_from_db()
    assert alices.ended_at is None
    assert "203.0.113.8" not in carol.get("/account/sessions/").content.decode()
    alice.post("/accounts/logout/")
    alices.refresh_from_db()
    assert alices.ended_at is not None
    assert carol.get("/account/sessions/").status_code == 200
    assert carol.get(f"/account/sessions/{alices.uuid}/end/").status_code == 405  # ending is a POST


def test_pages_between_touches_cost_no_session_query(world):
    carol = browser(FIREFOX, "203.0.113.7")
    carol.get("/account/sessions/")
    with CaptureQueriesContext(connection) as queries:
        assert carol.get("/workspaces/").status_code == 200
    assert not [q["sql"] for q in queries.captured_queries if "accounts_usersession" in q["sql"]]


@pytest.mark.parametrize("agent, label", [
    (FIREFOX, "Firefox on Windows"), (SAFARI, "Safari on iPhone"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36", "Chrome on Linux"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/131.0 Safari/537.36 Edg/131.0", "Edge on macOS"),
    ("curl/8.5.0", "curl"), ("", "Unknown device"),
])
def test_devices_are_named_from_their_user_agent(agent, label):
    assert sessions.device_label(agent) == label


def test_ended_and_expired_sessions_are_forgotten_at_the_next_sign_in(world):
    from django.utils import timezone

    first = browser(FIREFOX, "203.0.113.7")
    first.post("/accounts/logout/")
    browser(SAFARI, "198.51.100.1")  # the ended one is forgotten now
    assert list(UserSession.objects.filter(user=world.carol).values_list("ip_address", flat=True)) == ["198.51.100.1"]
    UserSession.objects.filter(user_agent=SAFARI).update(last_seen_at=timezone.now() - timezone.timedelta(days=30))
    browser(FIREFOX, "203.0.113.9")  # and the expired one now
    assert list(UserSession.objects.filter(user=world.carol).values_list("ip_address", flat=True)) == ["203.0.113.9"]
