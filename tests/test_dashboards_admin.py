"""Configuration health, the admin dashboard (issue 7, page 6): admins only; every count equals the
same count made straight from the rows in Python; another tenant's rows never appear; the period
changes the counts; bad dates answer 400; each table downloads as CSV; htmx gets the fragment; an empty
workspace gets a helpful page; the query count does not grow with rows."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import MembershipInvitation
from apps.clients.models import Contact
from apps.core.dates import days_bounds, local_today
from apps.messaging.models import OutboundEmail
from apps.surveys.models import Invitation, KioskDevice, Response, Survey
from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent, Membership, Role
from tests.builders import R, S, _invite, populate_admin_world
from tests.factories import (
    SurveyFactory,
)

pytestmark = pytest.mark.postgres

URL = "/t/acme/dashboards/health/"


@pytest.fixture
def health(world):
    a = populate_admin_world(world.a, "Acme", admin_user=world.alice)
    populate_admin_world(world.b, "Globex", scale=2, admin_user=world.charlie)
    _invite(SurveyFactory(tenant=world.b, name="Globex secret survey", status=Survey.Status.LIVE), S.BOUNCED)
    return a


def page_of(client, url=URL, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content[:500]
    return response, response.context["page"]


def tile(page, id):
    return next(t for t in page.tiles if t.id == id)


def reading(t, name):
    return dict(t.table.rows)[name]


def section(page, id):
    return next(s for s in page.sections if s.id == id)


# --- what the rows say, counted in Python ---------------------------------------------------------

def expected(tenant, first, last):
    """The period's counts straight from the rows, one row at a time."""
    start, end = days_bounds(tenant.time_zone, first, last)
    with tenant_context(tenant):
        invitations = [i for i in Invitation.objects.all() if start <= i.created_at < end]
        skipped = [i for i in invitations if i.status == S.SKIPPED]
        sent = [i for i in invitations if i.status not in (S.SKIPPED, S.QUEUED)]
        emails = [e for e in OutboundEmail.objects.all() if start <= e.created_at < end]
        contacts = list(Contact.objects.all())
        kiosks = list(KioskDevice.objects.all())
        responses = [r for r in Response.objects.all() if first <= r.local_day <= last and not r.is_bot]
        memberships = list(Membership.objects.all())
        now = timezone.now()
        member_invitations = list(MembershipInvitation.objects.all())
        return {
            "status": Counter(s.status for s in Survey.objects.all()),
            "created": len(invitations),
            "invited": len(invitations) - len(skipped),
            "sent": len(sent),
            "pending": sum(i.status == S.QUEUED for i in invitations),
            "bounced": sum(i.status == S.BOUNCED for i in invitations),
            "failed": sum(i.status == S.FAILED for i in invitations),
            "responded": sum(i.responded_at is not None for i in invitations if i.status != S.SKIPPED),
            "opened": sum(i.opened_at is not None for i in invitations if i.status != S.SKIPPED),
            "skipped": len(skipped),
            "reasons": Counter(str(R(i.skip_reason).label) for i in skipped),
            "gave_up": sum(e.status == "failed" for e in emails),
            "retrying": sum(e.status == "pending" and e.attempts > 0 for e in emails),
            "contacts": len(contacts), "opted_out": sum(c.opted_out for c in contacts),
            "opted_out_in_period": sum(start <= e.created_at < end for e in AuditEvent.objects.filter(action="contact.opted_out")),
            "kiosks_active": sum(k.revoked_at is None for k in kiosks), "kiosks_revoked": sum(k.revoked_at is not None for k in kiosks),
            "kiosk_responses": sum(r.kiosk_id is not None for r in responses),
            "responses_by_survey": Counter(r.survey_id for r in responses),
            "survey_invitations": Counter(i.survey_id for i in invitations),
            "active_by_role": Counter(m.role for m in memberships if m.is_active),
            "inactive_by_role": Counter(m.role for m in memberships if not m.is_active),
            "pending_by_role": Counter(i.role for i in member_invitations if i.status == "pending" and i.expires_at > now),
            "expired_by_role": Counter(i.role for i in member_invitations
                                       if (i.status == "pending" and i.expires_at <= now) or i.status == "expired"),
            "surveys": {s.pk: s.name for s in Survey.objects.all()},
        }


# --- roles and tenants ----------------------------------------------------------------------------

def test_it_renders_for_admins(world, client, health):
    client.force_login(world.alice)
    response, page = page_of(client)
    assert b"Configuration health" in response.content
    assert page.tiles
    assert page.charts
    assert page.sections


@pytest.mark.parametrize("user", ["carol", "bob", "victor"])
def test_it_requires_the_admin_role(world, client, user):
    client.force_login(getattr(world, user))
    assert client.get(URL).status_code == 403


def test_it_404s_for_another_tenant(world, client):
    client.force_login(world.charlie)  # admin of B, not a member of A
    assert client.get(URL).status_code == 404


def test_it_never_shows_another_tenants_rows(world, client, health):
    client.force_login(world.alice)
    response, page = page_of(client)
    html = response.content.decode()
    assert "Globex" not in html
    assert "Acme onboarding" in html
    # B has twice A's rows: any leak would change A's counts, which equal A's rows.
    today = local_today(world.a.time_zone)
    mine = expected(world.a, today - timedelta(days=29), today)
    assert reading(tile(page, "bounces"), "Bounced") == mine["bounced"] == 1
    for csv_id in [t.table.id for t in page.tiles] + [s.table.id for s in page.sections]:
        assert "Globex" not in client.get(URL, {"csv": csv_id}).content.decode()


# --- the counts are the rows' counts --------------------------------------------------------------

def test_its_counts_equal_the_rows(world, client, health):
    client.force_login(world.alice)
    _, page = page_of(client)
    today = local_today(world.a.time_zone)
    e = expected(world.a, today - timedelta(days=29), today)
    assert e["invited"] > 0
    assert e["skipped"] > 0  # the test world is not trivial
    surveys = tile(page, "surveys")
    assert surveys.value == str(e["status"]["live"])
    assert dict(surveys.table.rows) == {str(label): e["status"][value] for value, label in Survey.Status.choices}
    sent = tile(page, "sent")
    assert sent.value == str(e["sent"])
    assert reading(sent, "Created") == e["created"]
    assert reading(sent, "Invited (not skipped)") == e["invited"]
    assert reading(sent, "Still queued") == e["pending"]
    assert reading(sent, "Delivered") == e["invited"] - e["bounced"] - e["failed"] - e["pending"]
    assert reading(sent, "Responded") == e["responded"]
    assert reading(sent, "Opened") == e["opened"]
    assert reading(tile(page, "bounces"), "Bounced") == e["bounced"]
    assert reading(tile(page, "bounces"), "Bounce rate %") == round(100 * e["bounced"] / e["sent"], 1)
    failures = tile(page, "failures")
    assert reading(failures, "Failed invitations") == e["failed"]
    assert reading(failures, "Outbox e-mails given up") == e["gave_up"]
    assert reading(failures, "Outbox e-mails waiting for a retry") == e["retrying"]
    skipped = tile(page, "skipped")
    assert skipped.value == str(e["skipped"])
    assert dict(skipped.table.rows) == {str(label): e["reasons"].get(str(label), 0) for _v, label in R.choices}
    assert "fatigue rule" in skipped.extra[0]  # the most frequent reason, in words
    opt = tile(page, "opt-outs")
    assert (reading(opt, "Contacts"), reading(opt, "Opted out")) == (e["contacts"], e["opted_out"])
    assert reading(opt, "Opted out in the period") == e["opted_out_in_period"] == 1
    kiosks = tile(page, "kiosks")
    assert (reading(kiosks, "Active"), reading(kiosks, "Revoked")) == (e["kiosks_active"], e["kiosks_revoked"])
    assert reading(kiosks, "Responses in the period") == e["kiosk_responses"] == 1
    members = section(page, "members").table
    for label, active, inactive, _joined, pending, expired, _invited in members.rows:
        role = next(value for value, text in Role.choices if str(text) == label)
        assert (active, inactive, pending, expired) == (e["active_by_role"][role], e["inactive_by_role"][role],
                                                        e["pending_by_role"][role], e["expired_by_role"][role]), label
    surveys_table = {row[0]: row for row in section(page, "surveys").table.rows}
    assert set(surveys_table) == set(e["surveys"].values())
    for pk, name in e["surveys"].items():
        assert surveys_table[name][5] == e["survey_invitations"][pk]
        assert surveys_table[name][6] == e["responses_by_survey"][pk]


def test_the_charts_hold_the_same_counts(world, client, health):
    client.force_login(world.alice)
    _, page = page_of(client)
    by_day, reasons = page.charts
    columns = by_day.table.columns
    totals = {name: sum(row[i] for row in by_day.table.rows) for i, name in enumerate(columns) if i}
    today = local_today(world.a.time_zone)
    e = expected(world.a, today - timedelta(days=29), today)
    assert len(by_day.table.rows) == 30  # every day of the period, days without invitations included
    assert totals["Bounced"] == e["bounced"]
    assert totals["Skipped (not sent)"] == e["skipped"]
    assert totals["Delivered"] + totals["Still queued"] + totals["Bounced"] + totals["Failed"] == e["invited"]
    assert by_day.has_data
    assert by_day.figure["layout"]["barmode"] == "stack"
    drawn = reasons.figure["data"][0]
    assert dict(zip(drawn["y"], drawn["x"], strict=True)) == {k: v for k, v in e["reasons"].items() if v}


def test_it_names_what_needs_attention(world, client, health):
    client.force_login(world.alice)
    response, page = page_of(client)
    titles = " | ".join(c.title for c in page.checks)
    assert "1 e-mail gave up" in titles
    assert "Bounce rate" in titles  # 1 of 6 sent
    assert "1 invitation failed to send" in titles
    assert "1 live survey without a response" in titles
    assert "Acme silent survey" in response.content.decode()
    assert "2 kiosks unused for 7 days or more" in titles  # never used, and last used 9 days ago; the revoked one is not counted
    assert "1 member invitation expired unused" in titles
    levels = [c.level for c in page.checks]
    assert levels == sorted(levels, key=["problem", "warning", "info"].index)
    assert "550 Acme mailbox unavailable" in response.content.decode()  # the latest failure's error, in words


# --- filters ---------------------------------------------------------------------------------------

def test_the_period_changes_the_counts(world, client, health):
    client.force_login(world.alice)
    _, last30 = page_of(client)
    _, last90 = page_of(client, period="90d")
    assert reading(tile(last90, "bounces"), "Bounced") == reading(tile(last30, "bounces"), "Bounced") + 1
    assert reading(tile(last90, "skipped"), "No e-mail address") == 1
    assert reading(tile(last30, "skipped"), "No e-mail address") == 0
    today = local_today(world.a.time_zone)
    _, old = page_of(client, period="custom", **{"from": (today - timedelta(days=400)).isoformat(),
                                                 "to": (today - timedelta(days=300)).isoformat()})
    assert tile(old, "sent").value == "0"
    assert reading(tile(old, "opt-outs"), "Opted out in the period") == 0
    assert old.charts[0].empty
    assert old.charts[1].empty


@pytest.mark.parametrize("params,message", [
    ({"period": "custom", "from": "2026-02-30", "to": "2026-03-01"}, "Enter a valid date"),
    ({"period": "custom", "from": "2026-03-10", "to": "2026-03-01"}, "is after"),
    ({"period": "custom", "from": "2026-03-10"}, "needs both"),
    ({"period": "last-decade"}, "Select a valid choice"),
])
def test_invalid_filters_answer_400_with_the_error(world, client, params, message):
    client.force_login(world.alice)
    response = client.get(URL, params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["page"] is None


# --- CSV, htmx, empty, queries ---------------------------------------------------------------------

def test_each_table_downloads_as_csv(world, client, health):
    client.force_login(world.alice)
    _, page = page_of(client)
    assert len({t.id for t in page.tables}) == len(page.tables)  # CSV ids are unique on the page
    for table in page.tables:
        response = client.get(URL, {"csv": table.id})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert f"acme_health_{table.id}_" in response["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert tuple(rows[0]) == table.columns
        assert len(rows) - 1 == len(table.rows)
    members = list(csv.reader(io.StringIO(client.get(URL, {"csv": "members"}).content.decode())))
    assert members[1][:2] == ["Admin", "1"]
    assert client.get(URL, {"csv": "no-such-table"}).status_code == 404


def test_csv_links_carry_the_filters(world, client, health):
    client.force_login(world.alice)
    response, _ = page_of(client, period="90d")
    assert 'href="?period=90d&amp;csv=surveys"' in response.content.decode()


def test_htmx_gets_only_the_dashboard_fragment(world, client, health):
    client.force_login(world.alice)
    response = client.get(URL, {"period": "7d"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="dashboard"')
    assert "<html" not in html
    assert "site-header" not in html
    assert "Invitations per day" in html


def test_an_empty_workspace_gets_a_helpful_page(world, client):
    client.force_login(world.carl)  # admin of Initech: nothing set up
    response = client.get("/t/initech/dashboards/health/")
    assert response.status_code == 200
    html = response.content.decode()
    page = response.context["page"]
    assert page.empty
    assert "Nothing to check yet" in html
    assert "/t/initech/surveys/" in html
    assert "No invitation was created in this period." in html
    assert "No kiosk set up" in html
    assert tile(page, "members").value == "1"


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_rows(world, client):
    client.force_login(world.alice)
    populate_admin_world(world.a, "Few", admin_user=world.alice)
    _queries(client, URL)
    few = _queries(client, URL)
    populate_admin_world(world.a, "Many", scale=4, admin_user=world.alice)
    many = _queries(client, URL)
    assert many == few
