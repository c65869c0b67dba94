"""Digests (issue 8 item 6): what a member's digest says, that only significant changes are news, that
nothing is sent when there is nothing to say, idempotent sending through the outbox to a real SMTP
server, the 07:00-local scheduling, and the preferences page.

Planted data: responses bulk-written on tenant-local days with chosen scores, rollups refreshed for
those days (the digest reads only rollups, as the dashboards do)."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from apps.core.dates import local_today
from apps.digests import tasks
from apps.digests.models import DigestSend, DigestSubscription
from apps.digests.selectors import digest_build, digest_compose, last_complete_period
from apps.digests.services import digest_preferences_update, digest_render, digest_send
from apps.messaging.models import OutboundEmail
from apps.messaging.services import outbox_deliver
from apps.metrics.models import ClientHealth
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.builders import DIGEST_NOW, high_risk, nps_scores, plant_daily_scores
from tests.smtp_sink import SmtpSink, html_of, text_of

pytestmark = pytest.mark.postgres

DAY = date(2026, 11, 22)  # a Sunday: the daily digest's day; the previous period is the 21st
PAGE = "/t/acme/settings/digests/"


def drop(tenant, day=DAY, **attribution):
    """A big drop of NPS (60 → −20, n = 100 each day): significant."""
    plant_daily_scores(tenant, day - timedelta(days=1), scores_nps=nps_scores(70, 20, 10), **attribution)
    plant_daily_scores(tenant, day, scores_nps=nps_scores(30, 20, 50), **attribution)


def overdue_case(tenant, title, assignee=None, status="open", hours_late=50):
    with tenant_context(tenant):
        return f.CaseFactory(tenant=tenant, title=title, assignee=assignee, status=status, opened_at=DIGEST_NOW - timedelta(days=5),
                             due_at=DIGEST_NOW - timedelta(hours=hours_late))


def subscribe(membership, frequency="daily"):
    with tenant_context(membership.tenant):
        return f.DigestSubscriptionFactory(tenant=membership.tenant, membership=membership, frequency=frequency)


def build(world, user, tenant=None, frequency="daily", period_last=DAY):
    tenant = tenant or world.a
    member = world.membership(user, tenant)
    with tenant_context(tenant):
        return digest_build(tenant=tenant, membership=member, frequency=frequency, period_last=period_last, now=DIGEST_NOW)


def send(world, user, tenant=None, frequency="daily", period_last=DAY):
    tenant = tenant or world.a
    member = world.membership(user, tenant)
    with tenant_context(tenant):
        return digest_send(tenant=tenant, membership=member, frequency=frequency, period_last=period_last, now=DIGEST_NOW)


def outbox(tenant):
    with tenant_context(tenant):
        return list(OutboundEmail.objects.filter(kind="digest"))


# --- significance gating -------------------------------------------------------------------------

def test_it_reports_a_big_significant_drop_overall_and_at_its_touchpoint(world):
    with tenant_context(world.a):
        helpdesk = f.TouchpointFactory(tenant=world.a, name="Help desk")
    drop(world.a, touchpoint=helpdesk)
    digest = build(world, world.alice)
    assert digest.has_news
    changes = {(c.dimension, c.subject, c.metric): c for c in digest.changes}
    assert set(changes) == {("", "all answers", "nps"), ("touchpoint", "Help desk", "nps")}
    overall = changes[("", "all answers", "nps")]
    assert (overall.before, overall.after, overall.delta, overall.better) == ("60", "−20", "−80 points", False)
    assert overall.z <= -1.96
    assert (overall.n, overall.previous_n) == (100, 100)
    assert "NPS fell from 60 to −20" in overall.sentence
    text = digest_render(digest).text
    assert "NPS at touchpoint Help desk fell from 60 to −20" in text


def test_it_does_not_mention_a_small_change_that_is_not_significant(world):
    plant_daily_scores(world.a, DAY - timedelta(days=1), scores_nps=nps_scores(70, 20, 10))
    plant_daily_scores(world.a, DAY, scores_nps=nps_scores(66, 20, 14))  # 60 → 52: z ≈ −0.8
    digest = build(world, world.alice)
    assert digest.changes == ()
    assert not digest.has_news
    nps_line = next(line for line in digest.numbers if line.metric == "nps")
    assert (nps_line.value, nps_line.n) == ("52", 100)  # the numbers are there, just not news
    with tenant_context(world.a):
        assert digest_compose(tenant=world.a, membership=world.membership(world.alice, world.a), frequency="daily",
                              period_last=DAY, now=DIGEST_NOW) is None


def test_it_reports_opposite_moves_of_two_touchpoints_even_when_the_total_holds(world):
    with tenant_context(world.a):
        up, down = f.TouchpointFactory(tenant=world.a, name="Onboarding"), f.TouchpointFactory(tenant=world.a, name="Billing")
    plant_daily_scores(world.a, DAY - timedelta(days=1), scores_nps=nps_scores(35, 10, 5), touchpoint=down)
    plant_daily_scores(world.a, DAY, scores_nps=nps_scores(15, 10, 25), touchpoint=down)
    plant_daily_scores(world.a, DAY - timedelta(days=1), scores_nps=nps_scores(15, 10, 25), touchpoint=up)
    plant_daily_scores(world.a, DAY, scores_nps=nps_scores(35, 10, 5), touchpoint=up)
    digest = build(world, world.carol)
    assert {(c.subject, c.better) for c in digest.changes} == {("Onboarding", True), ("Billing", False)}
    assert all(c.dimension == "touchpoint" for c in digest.changes)


def test_it_does_not_report_a_change_between_low_samples_even_with_a_large_z(world):
    plant_daily_scores(world.a, DAY - timedelta(days=1), scores_nps=nps_scores(8, 1, 1))
    plant_daily_scores(world.a, DAY, scores_nps=nps_scores(1, 1, 8))  # 70 → −70, |z| ≈ 4.9, but n = 10 < min_n_nps = 30
    assert build(world, world.alice).changes == ()


def test_it_reports_a_significant_csat_rise_in_percentage_points(world):
    plant_daily_scores(world.a, DAY - timedelta(days=1), scores_csat=[5] * 20 + [2] * 20)
    plant_daily_scores(world.a, DAY, scores_csat=[5] * 36 + [2] * 4)
    (change,) = build(world, world.alice).changes
    assert (change.metric, change.before, change.after, change.delta, change.better) == ("csat", "50%", "90%", "+40 percentage points", True)


# --- sending: nothing to say, idempotency ---------------------------------------------------------

def test_it_sends_nothing_when_there_is_nothing_to_say_and_records_it_once(world):
    alice = world.membership(world.alice, world.a)
    subscribe(alice)
    plant_daily_scores(world.a, DAY, scores_nps=nps_scores(30, 20, 50))  # numbers, but no previous period: no change to report
    first = send(world, world.alice)
    assert first.outcome == DigestSend.Outcome.NOTHING
    assert first.outbound_email is None
    assert first.summary["changes"] == 0
    assert first.summary["responses"] == 100
    assert outbox(world.a) == []
    overdue_case(world.a, "Arrived after the run")  # news now, but this period was decided
    again = send(world, world.alice)
    assert again.pk == first.pk
    assert again.outcome == DigestSend.Outcome.NOTHING
    assert outbox(world.a) == []
    with tenant_context(world.a):
        assert DigestSend.objects.count() == 1


def test_it_sends_once_through_the_outbox_however_often_it_runs(world):
    alice = world.membership(world.alice, world.a)
    subscribe(alice)
    drop(world.a)
    first, second = send(world, world.alice), send(world, world.alice)
    assert first.pk == second.pk
    assert first.outcome == DigestSend.Outcome.SENT
    (email,) = outbox(world.a)
    assert first.outbound_email_id == email.pk
    assert email.to_email == "alice@example.com"
    assert email.message_id == f"<digest-daily-2026-11-22-{alice.uuid}@cxm.localhost>"
    assert email.subject == "Acme Advisory: your daily digest for Sun 22 Nov 2026 — 1 significant change"
    assert "<script" not in email.body_html
    assert "<table" in email.body_html


def test_it_keeps_daily_and_weekly_apart(world):
    alice = world.membership(world.alice, world.a)
    subscribe(alice, "daily")
    subscribe(alice, "weekly")
    plant_daily_scores(world.a, date(2026, 11, 12), scores_nps=nps_scores(70, 20, 10))  # the week before
    plant_daily_scores(world.a, date(2026, 11, 20), scores_nps=nps_scores(30, 20, 50))  # last week
    weekly = build(world, world.alice, frequency="weekly")
    assert (weekly.period_first, weekly.period_last, weekly.previous_first) == (date(2026, 11, 16), DAY, date(2026, 11, 9))
    assert [c.sentence.split(" (")[0] for c in weekly.changes] == ["NPS fell from 60 to −20"]
    assert build(world, world.alice).changes == ()  # the daily digest of Sunday sees nothing of it
    daily_send, weekly_send = send(world, world.alice), send(world, world.alice, frequency="weekly")
    assert (daily_send.outcome, weekly_send.outcome) == ("nothing", "sent")
    assert (daily_send.period_first, weekly_send.period_first) == (DAY, date(2026, 11, 16))


# --- who reads what --------------------------------------------------------------------------------

def test_a_staff_digest_has_only_their_own_numbers_cases_and_clients(world):
    bob, dana = world.membership(world.bob, world.a), world.membership(world.dana, world.a)
    drop(world.a, staff=bob)  # bob's answers drop
    plant_daily_scores(world.a, DAY - timedelta(days=1), scores_nps=nps_scores(70, 20, 10), staff=dana)  # dana's hold
    plant_daily_scores(world.a, DAY, scores_nps=nps_scores(70, 20, 10), staff=dana)
    overdue_case(world.a, "Bob's late call-back", assignee=bob)
    overdue_case(world.a, "Dana's late refund", assignee=dana)
    overdue_case(world.a, "Nobody's late case")
    overdue_case(world.a, "Bob's resolved case", assignee=bob, status="wont_fix")
    overdue_case(world.a, "Bob's case not due yet", assignee=bob, hours_late=-5)
    with tenant_context(world.a):
        cedar = f.ClientFactory(tenant=world.a, name="Cedar Dental", owner=bob)
        birch = f.ClientFactory(tenant=world.a, name="Birch Law", owner=dana)
    high_risk(cedar), high_risk(birch)

    mine = build(world, world.bob)
    assert mine.audience == "own"
    assert next(line for line in mine.numbers if line.metric == "nps").n == 100  # bob's answers only
    assert [(c.subject, c.better) for c in mine.changes] == [("all answers", False)]
    assert [line.title for line in mine.overdue] == ["Bob's late call-back"]
    assert mine.overdue_count == 1
    assert [line.name for line in mine.at_risk] == ["Cedar Dental"]
    text = digest_render(mine).text
    for other in ("Dana's late refund", "Nobody's late case", "Birch Law"):
        assert other not in text

    lead = build(world, world.carol)
    assert lead.audience == "team"
    assert next(line for line in lead.numbers if line.metric == "nps").n == 200
    assert {line.title for line in lead.overdue} == {"Bob's late call-back", "Dana's late refund", "Nobody's late case"}
    assert {line.name for line in lead.at_risk} == {"Cedar Dental", "Birch Law"}


def test_a_viewer_digest_has_the_numbers_only(world):
    overdue_case(world.a, "A late case")
    with tenant_context(world.a):
        client = f.ClientFactory(tenant=world.a, name="Cedar Dental")
    high_risk(client)
    digest = build(world, world.victor)
    assert (digest.audience, digest.shows_cases, digest.shows_clients) == ("numbers", False, False)
    assert (digest.overdue, digest.at_risk, digest.has_news) == ((), (), False)
    drop(world.a)
    digest = build(world, world.victor)
    assert digest.has_news
    assert "A late case" not in digest_render(digest).text


def test_new_at_risk_means_new_since_the_members_previous_digest(world):
    alice = world.membership(world.alice, world.a)
    subscribe(alice)
    with tenant_context(world.a):
        cedar, birch = f.ClientFactory(tenant=world.a, name="Cedar Dental"), f.ClientFactory(tenant=world.a, name="Birch Law")
    cedar_health = high_risk(cedar)
    first = send(world, world.alice, period_last=DAY - timedelta(days=1))
    assert first.outcome == "sent"
    assert first.summary["at_risk_listed"] == [cedar.pk]
    high_risk(birch, score=70)
    digest = build(world, world.alice)
    assert [line.name for line in digest.at_risk] == ["Birch Law"]
    assert digest.at_risk_new == 1
    assert send(world, world.alice).summary["at_risk_ids"] == sorted([cedar.pk, birch.pk])
    # Cedar leaves the band, then comes back: new again for the next digest.
    with tenant_context(world.a):
        ClientHealth.objects.filter(pk=cedar_health.pk).update(band="medium", score=50)
    assert send(world, world.alice, period_last=DAY + timedelta(days=1)).outcome == "nothing"
    with tenant_context(world.a):
        ClientHealth.objects.filter(pk=cedar_health.pk).update(band="high", score=85)
    assert [line.name for line in build(world, world.alice, period_last=DAY + timedelta(days=2)).at_risk] == ["Cedar Dental"]
    # The weekly digest has its own memory: both are new there.
    assert build(world, world.alice, frequency="weekly").at_risk_new == 2


def test_it_never_shows_another_tenants_data(world):
    drop(world.b)
    overdue_case(world.b, "Globex secret case")
    with tenant_context(world.b):
        secret = f.ClientFactory(tenant=world.b, name="Globex secret client")
    high_risk(secret)
    overdue_case(world.a, "Acme late case")
    digest = build(world, world.alice)
    rendered = digest_render(digest)
    assert [line.title for line in digest.overdue] == ["Acme late case"]
    assert digest.at_risk == ()
    assert all(line.n == 0 for line in digest.numbers)
    assert digest.changes == ()
    for secret_text in ("Globex", "secret"):
        assert secret_text not in rendered.text
        assert secret_text not in rendered.html
    # dana is in both: her Globex (admin) digest is Globex's, her Acme (staff) digest is her own work in Acme.
    assert [line.title for line in build(world, world.dana, tenant=world.b).overdue] == ["Globex secret case"]
    assert build(world, world.dana).overdue == ()


def test_opting_out_is_respected(world):
    alice = world.membership(world.alice, world.a)
    drop(world.a)
    assert send(world, world.alice) is None  # never subscribed
    with tenant_context(world.a):
        digest_preferences_update(tenant=world.a, membership=alice, daily=True, weekly=False)
        digest_preferences_update(tenant=world.a, membership=alice, daily=False, weekly=False)
        assert DigestSubscription.objects.get(membership=alice).is_active is False
    assert send(world, world.alice) is None
    with tenant_context(world.a):
        assert DigestSend.objects.count() == 0
    assert outbox(world.a) == []


def test_an_inactive_member_gets_nothing(world):
    bob = world.membership(world.bob, world.a)
    subscribe(bob)
    overdue_case(world.a, "Late", assignee=bob)
    with tenant_context(world.a):
        type(bob).objects.filter(pk=bob.pk).update(is_active=False)
    assert send(world, world.bob) is None


# --- the e-mail ------------------------------------------------------------------------------------

@pytest.fixture
def smtp_sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def test_the_email_reaches_an_smtp_server_through_the_outbox(world, smtp_sink):
    bob = world.membership(world.bob, world.a)
    subscribe(bob)
    late = overdue_case(world.a, "Call back Cedar about the invoice", assignee=bob)
    with tenant_context(world.a):
        cedar = f.ClientFactory(tenant=world.a, name="Cedar Dental", owner=bob)
    high_risk(cedar, text="No answer to the last three surveys")
    assert send(world, world.bob).outcome == "sent"
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
                           EMAIL_PORT=smtp_sink.port, EMAIL_USE_TLS=False, EMAIL_HOST_USER="", EMAIL_HOST_PASSWORD=""):
        assert outbox_deliver(tenant=world.a)["sent"] == 1
        assert outbox_deliver(tenant=world.a)["sent"] == 0  # a second delivery run has nothing left
    (message,) = smtp_sink.wait_for(1)
    assert message["To"] == "bob@example.com"
    assert message["Message-ID"].strip() == f"<digest-daily-2026-11-22-{bob.uuid}@cxm.localhost>"
    assert message["Subject"].strip().startswith("Acme Advisory: your daily digest for Sun 22 Nov 2026")
    text, html = text_of(message), html_of(message)
    case_link = f"http://127.0.0.1:8000/t/acme/cases/{late.uuid}/"
    for body in (text, html):
        assert case_link in body
        assert "http://127.0.0.1:8000/t/acme/settings/digests/" in body  # manage / stop
        assert "Cedar Dental" in body
        assert "No answer to the last three surveys" in body
        assert "http://127.0.0.1:8000/t/acme/home/" in body  # bob's dashboard
    assert "<script" not in html
    assert re.search(r"<th scope=\"col\"", html)
    with tenant_context(world.a):
        assert OutboundEmail.objects.get(kind="digest").status == "sent"


# --- scheduling -----------------------------------------------------------------------------------

def test_it_is_due_at_seven_local_with_the_weekly_on_mondays(world):
    brussels = "Europe/Brussels"
    monday_0700 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert tasks.digest_units_due(brussels, monday_0700) == [("daily", DAY), ("weekly", DAY)]
    assert tasks.digest_units_due(brussels, monday_0700 - timedelta(minutes=1)) == []  # 06:59
    assert tasks.digest_units_due(brussels, monday_0700 + timedelta(hours=2, minutes=59)) != []  # catch-up until 09:59
    assert tasks.digest_units_due(brussels, monday_0700 + timedelta(hours=3)) == []  # 10:00
    assert tasks.digest_units_due(brussels, monday_0700 + timedelta(days=1)) == [("daily", date(2026, 11, 23))]
    # 07:30 in Brussels is 01:30 in New York and 15:30 in Tokyo; 12:30 UTC is 07:30 in New York.
    assert tasks.tenants_due(DIGEST_NOW) == [world.a.pk]
    assert tasks.tenants_due(datetime(2026, 11, 23, 12, 30, tzinfo=UTC)) == [world.b.pk]
    assert tasks.tenants_due(datetime(2026, 11, 22, 22, 30, tzinfo=UTC)) == [world.c.pk]  # Monday 07:30 in Tokyo
    world.a.is_active = False
    world.a.save()
    assert tasks.tenants_due(DIGEST_NOW) == []
    assert last_complete_period("weekly", date(2026, 11, 23)) == DAY == last_complete_period("weekly", date(2026, 11, 29))
    assert last_complete_period("daily", date(2026, 11, 23)) == DAY


def run_hourly(django_capture_on_commit_callbacks, now: datetime) -> list[Exception]:
    """The beat's hourly fan-out, then what it queued on commit, each callback on its own (as Django's
    robust on-commit runs them: one failing does not stop the next). Returns the failures."""
    with django_capture_on_commit_callbacks() as callbacks:
        tasks.fan_out_send_digests(now.isoformat())
    failures = []
    for callback in callbacks:
        try:
            callback()
        except Exception as exc:  # noqa: BLE001 - collected for the test to assert on
            failures.append(exc)
    return failures


def test_the_hourly_run_sends_each_subscribed_member_once(world, django_capture_on_commit_callbacks):
    alice, bob, victor, carol = (world.membership(u, world.a) for u in (world.alice, world.bob, world.victor, world.carol))
    for member in (alice, bob, victor):
        subscribe(member)
    subscribe(alice, "weekly")
    with tenant_context(world.a):
        digest_preferences_update(tenant=world.a, membership=carol, daily=True, weekly=False)
        digest_preferences_update(tenant=world.a, membership=carol, daily=False, weekly=False)  # opted out
    subscribe(world.membership(world.charlie, world.b))
    drop(world.a)
    overdue_case(world.a, "Bob's late case", assignee=bob)
    assert tasks.tenants_due(DIGEST_NOW) == [world.a.pk]  # Acme only: 07:30 there
    assert run_hourly(django_capture_on_commit_callbacks, DIGEST_NOW) == []
    with tenant_context(world.a):
        sent = {(s.membership_id, s.frequency): s.outcome for s in DigestSend.objects.all()}
    assert sent == {(alice.pk, "daily"): "sent", (alice.pk, "weekly"): "sent", (bob.pk, "daily"): "sent",
                    (victor.pk, "daily"): "sent"}
    for _ in range(2):  # the 08:00 catch-up run, and a doubled beat
        assert run_hourly(django_capture_on_commit_callbacks, DIGEST_NOW + timedelta(hours=1)) == []
    with tenant_context(world.a):
        assert DigestSend.objects.count() == 4
    assert len(outbox(world.a)) == 4
    with tenant_context(world.b):
        assert DigestSend.objects.count() == 0


def test_a_failure_for_one_member_does_not_stop_the_others(world, django_capture_on_commit_callbacks, monkeypatch):
    alice, bob, carol = (world.membership(u, world.a) for u in (world.alice, world.bob, world.carol))
    for member in (alice, bob, carol):
        subscribe(member)
    overdue_case(world.a, "Late", assignee=bob)
    real = tasks.digest_send

    def flaky(*, membership, **kwargs):
        if membership.pk == bob.pk:
            raise RuntimeError("SMTP template exploded for bob")
        return real(membership=membership, **kwargs)

    monkeypatch.setattr(tasks, "digest_send", flaky)
    failures = run_hourly(django_capture_on_commit_callbacks, DIGEST_NOW)
    assert [str(exc) for exc in failures] == ["SMTP template exploded for bob"]
    with tenant_context(world.a):
        assert set(DigestSend.objects.values_list("membership_id", flat=True)) == {alice.pk, carol.pk}
    monkeypatch.setattr(tasks, "digest_send", real)  # fixed: the next hourly run catches bob up
    assert run_hourly(django_capture_on_commit_callbacks, DIGEST_NOW + timedelta(hours=1)) == []
    with tenant_context(world.a):
        assert set(DigestSend.objects.values_list("membership_id", flat=True)) == {alice.pk, bob.pk, carol.pk}


# --- the preferences page --------------------------------------------------------------------------

@pytest.mark.parametrize("user,expected", [("alice", "Every overdue case"), ("carol", "Every overdue case"),
                                           ("bob", "Overdue cases assigned to you"), ("victor", "statistically significant")])
def test_every_role_has_the_page_and_reads_what_its_digest_contains(world, client, user, expected):
    client.force_login(getattr(world, user))
    response = client.get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    assert expected in page
    assert "Preview my digest now" in page
    if user == "victor":
        assert "overdue" not in page.lower().split("what my digest contains")[1].split("preview my digest")[0]


def test_it_404s_for_a_member_of_another_tenant_and_asks_strangers_to_sign_in(world, client):
    client.force_login(world.charlie)
    assert client.get(PAGE).status_code == 404
    client.logout()
    assert client.get(PAGE).status_code == 302


def test_a_member_changes_only_their_own_preferences(world, client):
    alice, bob = world.membership(world.alice, world.a), world.membership(world.bob, world.a)
    subscribe(bob, "weekly")
    client.force_login(world.alice)
    response = client.post(PAGE, {"daily": "on"})
    assert response.status_code == 302
    assert response.url == PAGE
    with tenant_context(world.a):
        assert set(DigestSubscription.objects.filter(is_active=True).values_list("membership_id", "frequency")) == {
            (alice.pk, "daily"), (bob.pk, "weekly")}
    page = client.get(PAGE).content.decode()
    assert "Saved: you receive the daily digest." in page
    assert re.search(r'<input type="checkbox" name="daily"[^>]*checked', page)
    assert not re.search(r'<input type="checkbox" name="weekly"[^>]*checked', page)
    client.post(PAGE, {})
    with tenant_context(world.a):
        assert set(DigestSubscription.objects.filter(is_active=True).values_list("membership_id", "frequency")) == {
            (bob.pk, "weekly")}
    # dana is staff in Acme and admin in Globex: her Globex preferences are her own, apart.
    client.force_login(world.dana)
    client.post("/t/globex/settings/digests/", {"weekly": "on"})
    with tenant_context(world.a):
        assert not DigestSubscription.objects.filter(membership__user=world.dana).exists()
    with tenant_context(world.b):
        assert DigestSubscription.objects.get(membership__user=world.dana).frequency == "weekly"


def test_the_preview_says_when_there_is_nothing_to_say_and_writes_nothing(world, client):
    client.force_login(world.bob)
    response = client.get(PAGE, {"preview": "daily"})
    assert response.status_code == 200
    assert "Nothing to say — no e-mail would be sent." in response.content.decode()
    with tenant_context(world.a):
        assert DigestSend.objects.count() == 0
        assert OutboundEmail.objects.count() == 0


def test_the_preview_shows_the_digest_of_the_last_period(world, client):
    bob = world.membership(world.bob, world.a)
    yesterday = local_today(world.a.time_zone) - timedelta(days=1)
    drop(world.a, day=yesterday, staff=bob)
    with tenant_context(world.a):
        late = f.CaseFactory(tenant=world.a, title="Call back Cedar", assignee=bob, opened_at=DIGEST_NOW - timedelta(days=9),
                             due_at=DIGEST_NOW - timedelta(days=8))
    client.force_login(world.bob)
    page = client.get(PAGE, {"preview": "daily"}).content.decode()
    assert "In short: <strong>1 significant change, 1 overdue case</strong>" in page
    assert f'href="http://127.0.0.1:8000/t/acme/cases/{late.uuid}/"' in page
    assert "NPS" in page
    assert "n = 100<span class=\"visually-hidden\">: the NPS answers behind this number" in page  # the n opens them
    assert "no e-mail would be sent" not in page
    with tenant_context(world.a):
        assert DigestSend.objects.count() == 0
        assert OutboundEmail.objects.count() == 0


def test_a_bad_preview_choice_is_a_clear_400(world, client):
    client.force_login(world.alice)
    response = client.get(PAGE, {"preview": "hourly"})
    assert response.status_code == 400
    assert "Choose the daily or the weekly digest to preview." in response.content.decode()


def _grow(world, n, touchpoints):
    """n more overdue cases, high-risk clients and touchpoints whose NPS dropped yesterday."""
    a = world.a
    yesterday = local_today(a.time_zone) - timedelta(days=1)
    for _ in range(n):
        overdue_case(a, "Late")
        with tenant_context(a):
            client = f.ClientFactory(tenant=a)
            touchpoint = f.TouchpointFactory(tenant=a)
        high_risk(client)
        touchpoints.append(touchpoint)
        plant_daily_scores(a, yesterday - timedelta(days=1), scores_nps=nps_scores(35, 10, 5), touchpoint=touchpoint)
        plant_daily_scores(a, yesterday, scores_nps=nps_scores(15, 10, 25), touchpoint=touchpoint)


def test_the_preview_query_count_does_not_grow_with_rows(world, client, settings):
    settings.METRICS_READ_CACHE_ENTRIES = 0  # every metric read computed both times (a kept one is a version read)
    client.force_login(world.alice)
    touchpoints = []
    _grow(world, 2, touchpoints)
    client.get(PAGE, {"preview": "daily"})  # warm up
    with CaptureQueriesContext(connection) as few:
        page = client.get(PAGE, {"preview": "daily"}).content.decode()
    assert "2 overdue cases" in page
    assert "2 new at-risk clients" in page
    _grow(world, 6, touchpoints)
    with CaptureQueriesContext(connection) as many:
        page = client.get(PAGE, {"preview": "daily"}).content.decode()
    assert "8 overdue cases" in page
    assert "8 new at-risk clients" in page
    assert len(many.captured_queries) == len(few.captured_queries)


# --- comment themes (issue 19 item 5) --------------------------------------------------------------

def _comments_on(tenant, day, texts):
    from django.utils import timezone as tz

    from tests.builders import live_survey

    survey = live_survey(tenant, name=f"Comments {day}")
    with tenant_context(tenant):
        for text in texts:
            f.ResponseFactory(version=survey.current_version, nps=5, comment=text, language="en",
                              submitted_at=tz.make_aware(datetime.combine(day, datetime.min.time()) + timedelta(hours=12)))


def test_it_reports_a_theme_whose_share_changed_significantly_and_nothing_for_a_small_move(world):
    from django.core.management import call_command

    with tenant_context(world.a):
        from apps.surveys.themes.services import theme_create

        theme_create(tenant=world.a, name="Billing", keywords={"en": ["invoice"]})
        theme_create(tenant=world.a, name="Parking", keywords={"en": ["parking"]})
    _comments_on(world.a, DAY - timedelta(days=1), ["Wrong invoice"] * 2 + ["Parking full"] * 5 + ["Fine"] * 18)
    _comments_on(world.a, DAY, ["Wrong invoice"] * 15 + ["Parking full"] * 6 + ["Fine"] * 4)
    call_command("analyse_comments", tenant=[world.a.slug], stdout=io.StringIO())
    digest = build(world, world.carol)
    assert [t.name for t in digest.theme_changes] == ["Billing"]
    [line] = digest.theme_changes
    assert line.sentence.startswith("Comments about Billing rose from 8% to 60% of comments (+52 percentage points; n = 25 → 25, z = +")
    assert digest.has_news
    assert "1 significant change" in digest.headline
    subscribe(world.membership(world.carol, world.a))
    sent = send(world, world.carol)
    assert sent.outcome == DigestSend.Outcome.SENT
    assert sent.summary["theme_changes"] == 1
    [email] = outbox(world.a)
    assert "WHAT CLIENTS TALK ABOUT" in email.body_text
    assert "Comments about Billing rose" in email.body_html


# --- from a digest's number to its answers (issue 19 item 1) ----------------------------------------

def _follow(client, url):
    from django.conf import settings

    assert url.startswith(settings.SITE_URL)
    response = client.get(url[len(settings.SITE_URL):])
    assert response.status_code == 200, url
    return response.context["page"].paginator.count


@pytest.mark.parametrize("who", ["carol", "bob"])
def test_every_number_of_a_digest_opens_exactly_its_answers(who, world, client):
    """Each number of the digest (the period's n per metric, each significant change's n — overall and at its
    touchpoint —, each theme change) links to the responses list holding exactly those answers; a staff member's
    links keep to their own answers, as their numbers do. In the e-mail, text and HTML (the preview page: below)."""
    from django.core.management import call_command

    from apps.digests.services import digest_context
    from apps.metrics.rollups import rollups_refresh_days

    bob = world.membership(world.bob, world.a)
    with tenant_context(world.a):
        helpdesk = f.TouchpointFactory(tenant=world.a, name="Help desk")
        from apps.surveys.themes.services import theme_create

        theme_create(tenant=world.a, name="Billing", keywords={"en": ["invoice"]})
    drop(world.a, touchpoint=helpdesk, staff=bob)
    drop(world.a)  # nobody's: in the lead's numbers, not in bob's
    _comments_on(world.a, DAY - timedelta(days=1), ["Wrong invoice"] * 2 + ["Fine"] * 23)
    _comments_on(world.a, DAY, ["Wrong invoice"] * 15 + ["Fine"] * 10)
    call_command("analyse_comments", tenant=[world.a.slug], stdout=io.StringIO())
    rollups_refresh_days(world.a, [DAY - timedelta(days=1), DAY])  # the commented answers are NPS answers too
    user = getattr(world, who)
    digest = build(world, user)
    context = digest_context(digest)
    client.force_login(user)
    nps = next(line for line, _url in context["numbers"] if line.metric == "nps")
    assert nps.n == (100 if who == "bob" else 225)
    for line, url in context["numbers"]:
        assert _follow(client, url) == line.n, line.metric
    assert len(context["changes"]) >= 2
    for line, url in context["changes"]:
        assert _follow(client, url) == line.n, line.sentence
    if who == "carol":
        [(theme, url)] = context["theme_changes"]
        assert _follow(client, url) == 15
    rendered = digest_render(digest)
    for _line, url in [(line, url) for line, url in context["numbers"] + context["changes"] if line.n]:
        assert url in rendered.text
        assert url.replace("&", "&amp;") in rendered.html
