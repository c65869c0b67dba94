"""Case pages and the cases' configuration pages, in the two-tenant world: A's pages never show B's
cases; staff see only their own cases and their team's unassigned queue (another staff member's case
is a 404); viewers read only (no forms, POST → 403); resolving needs a root cause of the tenant and
the action taken (else a clear error and nothing changes); admins configure, leads read."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.feedback.cases.selectors import cases_for_member, sla_text
from apps.feedback.models import AlertRule, Case, CaseNote, RootCause
from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent
from tests import factories as f

A = "acme"


def url(name, **kwargs):
    ns = "alerts" if name in ("rules", "rule_create", "rule_edit", "rule_delete", "root_causes", "root_cause_edit",
                               "root_cause_archive", "root_cause_restore") else "cases"
    return reverse(f"{ns}:{name}", kwargs={"tenant_slug": A, **kwargs})


def state(tenant, case):
    with tenant_context(tenant):
        c = Case.objects.get(pk=case.pk)
        return (c.status, c.root_cause_id, c.action_taken, c.assignee_id, CaseNote.objects.filter(case=c).count(),
                AuditEvent.objects.count())


# --- list ---------------------------------------------------------------------------------------

def test_it_lists_this_tenants_open_cases_overdue_first_with_the_sla_in_words(world, desk, client):
    client.force_login(world.carol)
    response = client.get(url("list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert str(desk["a"]["overdue"].uuid) in body
    assert str(desk["b"]["case"].uuid) not in body
    assert body.index("Late invoice") < body.index("Rude call")  # overdue first, then by due time
    assert "Overdue</strong> · overdue by 2 d" in body
    assert "due in 3 h" in body
    assert 'class="row--overdue"' in body
    # Status chips with counts: 4 open (1 overdue).
    assert "Open and in progress <span class=\"case-chip__n\">4</span>" in body
    assert "Overdue <span class=\"case-chip__n\">1</span>" in body


def test_it_filters_cases_by_the_url(world, desk, client):
    client.force_login(world.alice)
    a = desk["a"]
    body = client.get(url("list"), {"overdue": "on"}).content.decode()
    assert "Late invoice" in body
    assert "Rude call" not in body
    body = client.get(url("list"), {"assignee": str(a["dana"].uuid)}).content.decode()
    assert "Dana&#x27;s case" in body
    assert "Rude call" not in body
    body = client.get(url("list"), {"team": str(a["team"].uuid), "unassigned": "on"}).content.decode()
    assert "Queue case" in body
    assert "Rude call" not in body
    body = client.get(url("list"), {"q": "rude"}).content.decode()
    assert "Rude call" in body
    assert "Late invoice" not in body
    body = client.get(url("list"), {"rule": str(a["rule"].uuid)}).content.decode()
    assert "Late invoice" in body
    assert "Rude call" not in body
    body = client.get(url("list"), {"client": str(a["client"].uuid), "status": "all"}).content.decode()
    assert "Client: <strong>Northwind</strong>" in body
    body = client.get(url("list"), {"mine": "on"}).content.decode()  # alice has none
    assert "No cases match these filters." in body


def test_it_refuses_a_filter_naming_another_tenants_row(world, desk, client):
    client.force_login(world.alice)
    for param, obj in (("rule", desk["b"]["rule"]), ("root_cause", desk["b"]["cause"])):
        response = client.get(url("list"), {param: str(obj.uuid)})
        assert response.status_code == 400
        assert "Some filters are not valid" in response.content.decode()


def test_it_shows_staff_only_their_own_cases_and_their_teams_queue(world, desk, client):
    client.force_login(world.bob)
    body = client.get(url("list")).content.decode()
    assert "Late invoice" in body
    assert "Rude call" in body
    assert "Queue case" in body
    assert "Dana&#x27;s case" not in body
    assert client.get(url("detail", uuid=desk["a"]["danas"].uuid)).status_code == 404
    assert client.post(url("note", uuid=desk["a"]["danas"].uuid), {"body": "hi"}).status_code == 404


def test_it_keeps_the_list_at_a_fixed_number_of_queries(world, desk, client):
    client.force_login(world.carol)
    client.get(url("list"))

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url("list"), {"status": "all"}).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    with tenant_context(world.a):
        for i in range(6):
            case = f.CaseFactory(tenant=world.a, title=f"More {i}", assignee=desk["a"]["dana"], team=desk["a"]["team"],
                                 rule=desk["a"]["rule"], contact=desk["a"]["contact"])
            f.CaseNoteFactory(case=case)
    assert queries() == few


# --- detail -------------------------------------------------------------------------------------

def test_it_shows_a_case_with_its_trigger_thread_and_forms(world, desk, client):
    case = desk["a"]["overdue"]
    with tenant_context(world.a):
        f.CaseNoteFactory(case=case, body="Called the client.", author=desk["a"]["bob"])
        f.CaseNoteFactory(case=case, body="Escalated to the CX leads.", kind="event")
    client.force_login(world.carol)
    response = client.get(url("detail", uuid=case.uuid))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Northwind" in body
    assert "Called the client." in body
    assert "Escalated to the CX leads." in body
    assert "<strong>Overdue</strong>" in body
    assert 'name="root_cause"' in body
    assert "Slow response" in body
    assert "Old cause" not in body  # active causes only
    # The rule has a recovery survey and the contact can be written to: the box is ticked.
    assert 'name="send_recovery_survey"' in body
    assert ("checked" in body.split('name="send_recovery_survey"')[1].split(">")[0] + \
        body.split('name="send_recovery_survey"')[0].rsplit("<", 1)[1])


def test_it_offers_the_recovery_survey_only_when_it_can_be_sent(world, desk, client):
    case = desk["a"]["overdue"]
    client.force_login(world.carol)
    with tenant_context(world.a):
        desk["a"]["contact"].opted_out = True
        desk["a"]["contact"].save()
    body = client.get(url("detail", uuid=case.uuid)).content.decode()
    assert 'name="send_recovery_survey"' not in body
    assert "No recovery survey: Ana Lima opted out of surveys." in body
    with tenant_context(world.a):
        desk["a"]["contact"].opted_out = False
        desk["a"]["contact"].save()
        desk["a"]["survey"].status = "paused"
        desk["a"]["survey"].save()
    body = client.get(url("detail", uuid=case.uuid)).content.decode()
    assert "No recovery survey: “Recovery check” is not open" in body


def test_it_resolves_and_sends_the_recovery_survey(world, desk, client):
    from apps.surveys.models import Invitation

    case = desk["a"]["overdue"]
    client.force_login(world.bob)
    response = client.post(url("resolve", uuid=case.uuid), {"root_cause": str(desk["a"]["cause"].uuid), "action_taken": "Called.",
                                                            "send_recovery_survey": "on"})
    assert response.status_code == 302
    with tenant_context(world.a):
        case.refresh_from_db()
        assert case.status == "resolved"
        assert case.recovery_invitation.source == Invitation.Source.RECOVERY
        assert case.recovery_invitation.contact_id == desk["a"]["contact"].pk


def test_it_answers_404_for_another_tenants_case(world, desk, client):
    client.force_login(world.alice)
    assert client.get(url("detail", uuid=desk["b"]["case"].uuid)).status_code == 404
    assert client.post(url("resolve", uuid=desk["b"]["case"].uuid), {}).status_code == 404


def test_it_lets_viewers_read_but_not_write(world, desk, client):
    case = desk["a"]["overdue"]
    client.force_login(world.victor)
    body = client.get(url("detail", uuid=case.uuid)).content.decode()
    assert "Late invoice" in body
    assert 'name="root_cause"' not in body
    assert 'name="body"' not in body
    before = state(world.a, case)
    for name in ("note", "assign", "take", "start", "resolve", "wont_fix", "reopen"):
        assert client.post(url(name, uuid=case.uuid), {"body": "x"}).status_code == 403, name
    assert client.post(url("detail", uuid=case.uuid)).status_code == 405  # the page only reads; its forms post elsewhere
    assert client.get(url("create")).status_code == 403
    assert state(world.a, case) == before


def test_it_resolves_only_with_a_root_cause_and_an_action(world, desk, client):
    case = desk["a"]["due"]
    client.force_login(world.bob)
    before = state(world.a, case)
    response = client.post(url("resolve", uuid=case.uuid), {"root_cause": "", "action_taken": "Refunded."})
    assert response.status_code == 400
    assert "Choose the root cause: a case is resolved only with one." in response.content.decode()
    response = client.post(url("resolve", uuid=case.uuid), {"root_cause": str(desk["b"]["cause"].uuid), "action_taken": "Refunded."})
    assert response.status_code == 400
    assert "Choose one of the active root causes." in response.content.decode()
    response = client.post(url("resolve", uuid=case.uuid), {"root_cause": str(desk["a"]["archived"].uuid), "action_taken": "x"})
    assert response.status_code == 400
    response = client.post(url("resolve", uuid=case.uuid), {"root_cause": str(desk["a"]["cause"].uuid), "action_taken": "  "})
    assert response.status_code == 400
    assert "Say what was done" in response.content.decode()
    assert state(world.a, case) == before
    response = client.post(url("resolve", uuid=case.uuid), {"root_cause": str(desk["a"]["cause"].uuid), "action_taken": "Refunded."})
    assert response.status_code == 302
    with tenant_context(world.a):
        case.refresh_from_db()
        assert (case.status, case.root_cause_id, case.action_taken) == ("resolved", desk["a"]["cause"].pk, "Refunded.")


def test_it_works_a_case_through_its_life(world, desk, client):
    case = desk["a"]["queue"]
    client.force_login(world.bob)
    assert client.post(url("take", uuid=case.uuid)).status_code == 302
    assert client.post(url("start", uuid=case.uuid)).status_code == 302
    assert client.post(url("note", uuid=case.uuid), {"body": "Spoke to Ana."}).status_code == 302
    assert client.post(url("wont_fix", uuid=case.uuid), {"reason": ""}).status_code == 400
    assert client.post(url("wont_fix", uuid=case.uuid), {"reason": "Out of scope."}).status_code == 302
    with tenant_context(world.a):
        case.refresh_from_db()
        assert (case.status, case.assignee_id) == ("wont_fix", desk["a"]["bob"].pk)
    body = client.get(url("detail", uuid=case.uuid)).content.decode()
    assert "Spoke to Ana." in body
    assert "Reopen case" in body
    assert client.post(url("reopen", uuid=case.uuid)).status_code == 302
    with tenant_context(world.a):
        case.refresh_from_db()
        assert case.status == "open"
    # A second reopen is refused with the reason, nothing changes.
    response = client.post(url("reopen", uuid=case.uuid), follow=True)
    assert "cannot become open" in response.content.decode()


def test_it_assigns_and_refuses_a_viewer_as_assignee(world, desk, client):
    case = desk["a"]["due"]
    client.force_login(world.carol)
    victor = world.membership(world.victor, world.a)
    response = client.post(url("assign", uuid=case.uuid), {"assignee": str(victor.uuid), "team": ""})
    assert response.status_code == 400
    response = client.post(url("assign", uuid=case.uuid), {"assignee": str(desk["a"]["dana"].uuid), "team": ""})
    assert response.status_code == 302
    with tenant_context(world.a):
        case.refresh_from_db()
        assert case.assignee_id == desk["a"]["dana"].pk


def test_it_sends_staff_back_to_the_list_when_they_give_a_case_away(world, desk, client):
    case = desk["a"]["due"]
    client.force_login(world.bob)
    response = client.post(url("assign", uuid=case.uuid), {"assignee": str(desk["a"]["dana"].uuid), "team": ""})
    assert response.status_code == 302
    assert response["Location"] == url("list")
    assert client.get(url("detail", uuid=case.uuid)).status_code == 404


def test_it_opens_a_manual_case_for_a_client(world, desk, client):
    client.force_login(world.bob)
    a = desk["a"]
    page = client.get(url("create") + f"?client={a['client'].uuid}")
    assert page.status_code == 200
    assert "New case for Northwind" in page.content.decode()
    response = client.post(url("create"), {"client": str(a["client"].uuid), "contact": str(a["contact"].uuid), "title": "Call back",
                                           "description": "", "assignee": str(a["bob"].uuid), "team": "", "sla_hours": "24"})
    assert response.status_code == 302
    with tenant_context(world.a):
        case = Case.objects.get(title="Call back")
        assert (case.source, case.assignee_id, case.opened_by_id, case.rule_id) == ("client", a["bob"].pk, a["bob"].pk, None)
        assert round((case.due_at - case.opened_at).total_seconds() / 3600) == 24
    response = client.post(url("create"), {"client": str(desk["b"]["case"].client.uuid), "title": "x", "sla_hours": "24"})
    assert response.status_code == 400


def test_it_links_the_announcement_only_when_that_page_exists(world, desk, client):
    from django.urls import NoReverseMatch

    case = desk["a"]["due"]
    with tenant_context(world.a):
        Case.objects.filter(pk=case.pk).update(status="resolved", root_cause=desk["a"]["cause"], action_taken="Done.",
                                               resolved_at=timezone.now())
    client.force_login(world.carol)
    body = client.get(url("detail", uuid=case.uuid)).content.decode()
    try:
        reverse("announcements:new_for_case", kwargs={"tenant_slug": A, "uuid": case.uuid})
    except NoReverseMatch:
        assert "Tell the respondents" not in body
    else:
        assert "Tell the respondents (you said, we did)" in body


# --- the staff home's "My cases" ----------------------------------------------------------------

def test_it_gives_staff_their_open_cases_overdue_first(world, desk):
    with tenant_context(world.a):
        mine = cases_for_member(tenant=world.a, member=desk["a"]["bob"])
    assert [r.title for r in mine.rows] == ["Late invoice", "Rude call"]
    assert (mine.total, mine.overdue, mine.queue) == (2, 1, 1)
    assert mine.rows[0].overdue
    assert mine.rows[0].sla == "overdue by 2 d"


def test_it_says_the_sla_in_words():
    now = timezone.now()
    case = Case(status="open", due_at=now + datetime.timedelta(minutes=30))
    assert sla_text(case, now) == "due in 30 min"
    case.due_at = now - datetime.timedelta(hours=5)
    assert sla_text(case, now) == "overdue by 5 h"
    case.status = "resolved"
    assert sla_text(case, now) == "resolved"


# --- configuration ------------------------------------------------------------------------------

RULE_FORM = {"name": "Unhappy CSAT", "trigger": "csat_at_most", "threshold": "2", "touchpoint": "", "survey": "", "assign_to": "member",
             "assignee": "", "team": "", "sla_hours": "24", "recovery_survey": "", "is_active": "on"}


def test_it_lets_admins_create_edit_and_delete_alert_rules(world, desk, client):
    client.force_login(world.alice)
    assert client.get(url("rule_create")).status_code == 200
    data = {**RULE_FORM, "assignee": str(desk["a"]["bob"].uuid)}
    assert client.post(url("rule_create"), data).status_code == 302
    with tenant_context(world.a):
        rule = AlertRule.objects.get(name="Unhappy CSAT")
        assert (rule.trigger, float(rule.threshold), rule.assignee_id) == ("csat_at_most", 2.0, desk["a"]["bob"].pk)
        assert AuditEvent.objects.filter(action="alert_rule.created").exists()
    assert client.post(url("rule_edit", uuid=rule.uuid), {**data, "sla_hours": "12"}).status_code == 302
    with tenant_context(world.a):
        rule.refresh_from_db()
        assert rule.sla_hours == 12
    body = client.get(url("rules")).content.decode()
    assert "Unhappy CSAT" in body
    assert "Detractors" in body
    assert client.post(url("rule_delete", uuid=rule.uuid)).status_code == 302
    with tenant_context(world.a):
        assert not AlertRule.objects.filter(name="Unhappy CSAT").exists()


@pytest.mark.parametrize("changes,field,message", [
    ({"threshold": "9"}, "threshold", "Choose a threshold from 1 to 5."),
    ({"threshold": ""}, "threshold", "Enter a number from 1 to 5."),
    ({"assignee": ""}, "assignee", "Name the member who receives these cases."),
    ({"assign_to": "team", "assignee": ""}, "team", "Name the team whose queue receives these cases."),
    ({"name": "Detractors"}, "name", "There is already an alert rule called"),
])
def test_it_explains_what_is_wrong_with_a_rule(world, desk, client, changes, field, message):
    client.force_login(world.alice)
    before = AlertRule.all_tenants.count() if hasattr(AlertRule, "all_tenants") else None
    response = client.post(url("rule_create"), {**RULE_FORM, "assignee": str(desk["a"]["bob"].uuid), **changes})
    assert response.status_code == 400
    assert message in response.content.decode()
    if before is not None:
        assert AlertRule.all_tenants.count() == before


def test_it_refuses_another_tenants_rows_and_viewers_in_a_rule(world, desk, client):
    client.force_login(world.alice)
    with tenant_context(world.b):
        foreign_member = world.membership(world.charlie, world.b)
    victor = world.membership(world.victor, world.a)
    for assignee in (foreign_member, victor):
        response = client.post(url("rule_create"), {**RULE_FORM, "assignee": str(assignee.uuid)})
        assert response.status_code == 400
    with tenant_context(world.a):
        assert not AlertRule.objects.filter(name="Unhappy CSAT").exists()


def test_it_lets_leads_read_the_configuration_but_not_change_it(world, desk, client):
    client.force_login(world.carol)
    body = client.get(url("rules")).content.decode()
    assert "Detractors" in body
    assert "New rule" not in body
    body = client.get(url("root_causes")).content.decode()
    assert "Slow response" in body
    assert 'name="name"' not in body
    assert client.post(url("root_causes"), {"name": "Sneaky"}).status_code == 403
    assert client.get(url("rule_create")).status_code == 403
    assert client.post(url("rule_delete", uuid=desk["a"]["rule"].uuid)).status_code == 403
    client.force_login(world.bob)
    assert client.get(url("rules")).status_code == 403
    assert client.get(url("root_causes")).status_code == 403


def test_it_lets_admins_manage_root_causes(world, desk, client):
    client.force_login(world.alice)
    assert client.post(url("root_causes"), {"name": "Billing error", "description": ""}).status_code == 302
    response = client.post(url("root_causes"), {"name": "billing ERROR", "description": ""})
    assert response.status_code == 400
    assert "There is already a root cause called" in response.content.decode()
    with tenant_context(world.a):
        cause = RootCause.objects.get(name="Billing error")
    assert client.post(url("root_cause_edit", uuid=cause.uuid), {"name": "Billing mistake", "description": "Wrong invoice"}).status_code == 302
    assert client.post(url("root_cause_archive", uuid=cause.uuid)).status_code == 302
    with tenant_context(world.a):
        cause.refresh_from_db()
        assert (cause.name, cause.is_active) == ("Billing mistake", False)
        assert AuditEvent.objects.filter(action="root_cause.updated").count() == 2
    assert client.post(url("root_cause_restore", uuid=cause.uuid)).status_code == 302
    with tenant_context(world.a):
        cause.refresh_from_db()
        assert cause.is_active


def test_it_shows_my_cases_on_the_staff_home_at_a_fixed_number_of_queries(world, desk, client):
    client.force_login(world.bob)
    home = "/t/acme/home/"
    body = client.get(home).content.decode()
    assert 'data-section="my-cases"' in body
    assert body.index("Late invoice") < body.index("Rude call")
    assert "Dana&#x27;s case" not in body
    assert "<strong>Overdue</strong> · overdue by 2 d" in body
    assert "1 case waiting in your team's queue" in body

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(home).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    with tenant_context(world.a):
        for i in range(12):
            f.CaseFactory(tenant=world.a, title=f"Mine {i}", assignee=desk["a"]["bob"], client=desk["a"]["client"])
            f.CaseFactory(tenant=world.a, title=f"Queue {i}", team=desk["a"]["team"])
    assert queries() == few
    assert "more: <a" in client.get(home).content.decode()  # ten shown, the rest one link away
