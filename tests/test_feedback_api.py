"""Cases, alert rules and root causes API in the two-tenant world: lists never show another tenant's
cases; staff see only their own and their team's queue (another staff member's case is a 404);
viewers read only; actions refuse with stable codes and write nothing; configuration is for admins
(leads read); a related id of another tenant is rejected."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.feedback.models import AlertRule, Case, CaseNote, RootCause
from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent, Role, Team
from tests import factories as f
from tests.conftest import make_api_key

BASE = "/api/v1/t/acme/"


def case_url(case, action=""):
    return f"{BASE}cases/{case.uuid}/" + (f"{action}/" if action else "")


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def state(tenant, case):
    with tenant_context(tenant):
        c = Case.objects.get(pk=case.pk)
        return (c.status, c.root_cause_id, c.action_taken, c.assignee_id, c.team_id, CaseNote.objects.filter(case=c).count(),
                AuditEvent.objects.count())


# --- reading ------------------------------------------------------------------------------------

def test_it_lists_open_cases_overdue_first_with_uuids(world, desk, api_client):
    api_client.force_login(world.carol)
    rows = results(api_client.get(BASE + "cases/"))
    assert [r["title"] for r in rows][:2] == ["Late invoice", "Rude call"]
    assert {r["title"] for r in rows} == {"Late invoice", "Rude call", "Dana's case", "Queue case"}
    first = rows[0]
    assert first["overdue"] is True
    assert first["id"] == str(desk["a"]["overdue"].uuid)
    assert first["assignee"] == str(desk["a"]["bob"].uuid)
    assert first["client_name"] == "Northwind"
    assert first["rule"] == str(desk["a"]["rule"].uuid)
    assert first["rule_name"] == "Detractors"


def test_it_filters_the_list(world, desk, api_client):
    api_client.force_login(world.alice)
    a = desk["a"]
    assert [r["title"] for r in results(api_client.get(BASE + "cases/", {"overdue": "true"}))] == ["Late invoice"]
    assert [r["title"] for r in results(api_client.get(BASE + "cases/", {"assignee": str(a["dana"].uuid)}))] == ["Dana's case"]
    assert [r["title"] for r in results(api_client.get(BASE + "cases/", {"q": "QUEUE"}))] == ["Queue case"]
    assert results(api_client.get(BASE + "cases/", {"status": "resolved"})) == []
    assert len(results(api_client.get(BASE + "cases/", {"status": "all", "client": str(a["client"].uuid)}))) == 4
    response = api_client.get(BASE + "cases/", {"status": "nonsense"})
    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]


def test_it_shows_staff_only_their_cases_and_their_teams_queue(world, desk, api_client):
    api_client.force_login(world.bob)
    assert {r["title"] for r in results(api_client.get(BASE + "cases/"))} == {"Late invoice", "Rude call", "Queue case"}
    danas = desk["a"]["danas"]
    missing = api_client.get(f"{BASE}cases/00000000-0000-0000-0000-000000000000/")
    foreign = api_client.get(case_url(danas))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content
    before = state(world.a, danas)
    assert api_client.post(case_url(danas, "notes"), {"body": "hi"}, format="json").status_code == 404
    assert state(world.a, danas) == before


def test_it_refuses_a_staff_role_api_key(world, desk, api_client):
    _, raw = make_api_key(world.a, role=Role.STAFF)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api_client.get(BASE + "cases/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_it_reads_a_case_with_its_thread(world, desk, api_client):
    case = desk["a"]["overdue"]
    with tenant_context(world.a):
        f.CaseNoteFactory(case=case, body="Called.", author=desk["a"]["bob"])
    api_client.force_login(world.victor)
    body = api_client.get(case_url(case)).json()
    assert body["title"] == "Late invoice"
    assert body["notes"][0]["body"] == "Called."
    assert body["notes"][0]["author_name"] == "Bob"
    assert body["action_plans"] == []


def test_it_answers_404_for_another_tenants_case(world, desk, api_client):
    api_client.force_login(world.alice)
    foreign = desk["b"]["case"]
    assert api_client.get(case_url(foreign)).status_code == 404
    assert api_client.post(case_url(foreign, "resolve"), {}, format="json").status_code == 404


def test_it_keeps_the_list_at_a_fixed_number_of_queries(world, desk, api_client):
    api_client.force_login(world.carol)
    api_client.get(BASE + "cases/")

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert api_client.get(BASE + "cases/", {"status": "all"}).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    with tenant_context(world.a):
        for i in range(5):
            f.CaseFactory(tenant=world.a, title=f"More {i}", assignee=desk["a"]["dana"], team=desk["a"]["team"], rule=desk["a"]["rule"],
                          contact=desk["a"]["contact"], root_cause=None)
    assert queries() == few


# --- writing ------------------------------------------------------------------------------------

def test_it_lets_viewers_read_only(world, desk, api_client):
    case = desk["a"]["due"]
    api_client.force_login(world.victor)
    before = state(world.a, case)
    for action, body in (("notes", {"body": "x"}), ("assign", {}), ("start", {}), ("resolve", {}), ("wont-fix", {"reason": "x"}),
                         ("reopen", {})):
        response = api_client.post(case_url(case, action), body, format="json")
        assert response.status_code == 403, action
        assert response.json()["error"]["code"] == "permission_denied", action
    assert api_client.post(BASE + "cases/", {"client": str(desk["a"]["client"].uuid), "title": "x"}, format="json").status_code == 403
    assert state(world.a, case) == before


@pytest.mark.parametrize("body,code", [
    ({"action_taken": "Refunded."}, "root_cause_required"),
    ({"root_cause": None, "action_taken": "Refunded."}, "root_cause_required"),
    ({"root_cause": "cause", "action_taken": "  "}, "action_taken_required"),
    ({"root_cause": "archived", "action_taken": "Refunded."}, "root_cause_archived"),
])
def test_it_resolves_only_with_a_root_cause_and_an_action(world, desk, api_client, body, code):
    case = desk["a"]["due"]
    body = {k: (str(desk["a"][v].uuid) if k == "root_cause" and v else v) for k, v in body.items()}
    api_client.force_login(world.bob)
    before = state(world.a, case)
    response = api_client.post(case_url(case, "resolve"), body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["fields"]
    assert state(world.a, case) == before


def test_it_rejects_another_tenants_root_cause(world, desk, api_client):
    case = desk["a"]["due"]
    api_client.force_login(world.carol)
    before = state(world.a, case)
    response = api_client.post(case_url(case, "resolve"), {"root_cause": str(desk["b"]["cause"].uuid), "action_taken": "Done."},
                               format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert "root_cause" in response.json()["error"]["fields"]
    assert state(world.a, case) == before


def test_it_works_a_case_through_the_api(world, desk, api_client):
    case = desk["a"]["queue"]
    api_client.force_login(world.bob)
    body = api_client.post(case_url(case, "start"), format="json").json()
    assert (body["status"], body["assignee"]) == ("in_progress", str(desk["a"]["bob"].uuid))  # starting takes it
    response = api_client.post(case_url(case, "notes"), {"body": "Spoke to Ana."}, format="json")
    assert response.status_code == 201
    assert response.json()["kind"] == "note"
    response = api_client.post(case_url(case, "start"), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_transition"
    response = api_client.post(case_url(case, "resolve"), {"root_cause": str(desk["a"]["cause"].uuid), "action_taken": "Refunded."},
                               format="json", HTTP_IDEMPOTENCY_KEY="resolve-1")
    assert response.status_code == 200
    assert response.json()["status"] == "resolved"
    assert response.json()["root_cause_name"] == "Slow response"
    again = api_client.post(case_url(case, "resolve"), {"root_cause": str(desk["a"]["cause"].uuid), "action_taken": "Refunded."},
                            format="json", HTTP_IDEMPOTENCY_KEY="resolve-1")
    assert again.status_code == 200
    assert again.json() == response.json()  # a retry replays, never resolves twice
    response = api_client.post(case_url(case, "assign"), {"assignee": str(desk["a"]["dana"].uuid)}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "case_closed"
    assert api_client.post(case_url(case, "reopen"), format="json").json()["status"] == "open"
    response = api_client.post(case_url(case, "wont-fix"), {"reason": ""}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "reason_required"
    assert api_client.post(case_url(case, "wont-fix"), {"reason": "Out of scope."}, format="json").json()["status"] == "wont_fix"


def test_it_refuses_a_recovery_survey_to_a_contact_who_opted_out(world, desk, api_client):
    case = desk["a"]["overdue"]
    with tenant_context(world.a):
        desk["a"]["contact"].opted_out = True
        desk["a"]["contact"].save()
    api_client.force_login(world.carol)
    before = state(world.a, case)
    response = api_client.post(case_url(case, "resolve"), {"root_cause": str(desk["a"]["cause"].uuid), "action_taken": "Refunded.",
                                                           "send_recovery_survey": True}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "recovery_refused"
    assert state(world.a, case) == before


def test_it_opens_a_manual_case(world, desk, api_client):
    api_client.force_login(world.carol)
    a = desk["a"]
    response = api_client.post(BASE + "cases/", {"client": str(a["client"].uuid), "contact": str(a["contact"].uuid), "title": "Call back",
                                                 "assignee": str(a["dana"].uuid), "sla_hours": 24}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["source"], body["assignee"], body["client"]) == ("client", str(a["dana"].uuid), str(a["client"].uuid))
    assert body["notes"]
    assert body["notes"][0]["kind"] == "event"
    victor = world.membership(world.victor, world.a)
    response = api_client.post(BASE + "cases/", {"client": str(a["client"].uuid), "title": "x", "assignee": str(victor.uuid)},
                               format="json")
    assert response.status_code == 400
    assert "assignee" in response.json()["error"]["fields"]


# --- configuration ------------------------------------------------------------------------------

def test_it_lets_admins_manage_root_causes_and_leads_read_them(world, desk, api_client):
    api_client.force_login(world.carol)
    names = [r["name"] for r in results(api_client.get(BASE + "root-causes/"))]
    assert names == ["Slow response", "Old cause"]  # active first
    assert api_client.post(BASE + "root-causes/", {"name": "x"}, format="json").status_code == 403
    api_client.force_login(world.alice)
    response = api_client.post(BASE + "root-causes/", {"name": "Billing error"}, format="json")
    assert response.status_code == 201
    uuid = response.json()["id"]
    response = api_client.post(BASE + "root-causes/", {"name": "billing error"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["error"]["fields"]
    assert api_client.delete(f"{BASE}root-causes/{uuid}/").status_code == 204
    assert api_client.get(f"{BASE}root-causes/{uuid}/").json()["is_active"] is False  # archived, never deleted
    assert api_client.patch(f"{BASE}root-causes/{uuid}/", {"is_active": True}, format="json").json()["is_active"] is True
    api_client.force_login(world.bob)
    assert api_client.get(BASE + "root-causes/").status_code == 403


def test_it_lets_admins_manage_alert_rules(world, desk, api_client):
    api_client.force_login(world.alice)
    bob = desk["a"]["bob"]
    body = {"name": "Hard effort", "trigger": "ces_at_most", "threshold": "3", "assign_to": "member", "assignee": str(bob.uuid),
            "sla_hours": 24}
    response = api_client.post(BASE + "alert-rules/", body, format="json")
    assert response.status_code == 201, response.content
    uuid = response.json()["id"]
    assert api_client.patch(f"{BASE}alert-rules/{uuid}/", {"sla_hours": 12}, format="json").json()["sla_hours"] == 12
    response = api_client.patch(f"{BASE}alert-rules/{uuid}/", {"threshold": "8"}, format="json")
    assert response.status_code == 400
    assert "threshold" in response.json()["error"]["fields"]
    response = api_client.post(BASE + "alert-rules/", {**body, "name": "Team", "assign_to": "team", "assignee": None}, format="json")
    assert response.status_code == 400
    assert "team" in response.json()["error"]["fields"]
    with tenant_context(world.b):
        foreign_survey = f.SurveyFactory(tenant=world.b)
    response = api_client.post(BASE + "alert-rules/", {**body, "name": "X", "recovery_survey": str(foreign_survey.uuid)}, format="json")
    assert response.status_code == 400
    assert "recovery_survey" in response.json()["error"]["fields"]
    assert api_client.delete(f"{BASE}alert-rules/{uuid}/").status_code == 204
    with tenant_context(world.a):
        assert not AlertRule.objects.filter(name="Hard effort").exists()
        assert AuditEvent.objects.filter(action__startswith="alert_rule.").count() == 3
    api_client.force_login(world.carol)
    assert [r["name"] for r in results(api_client.get(BASE + "alert-rules/"))] == ["Detractors"]
    assert api_client.post(BASE + "alert-rules/", body, format="json").status_code == 403


def test_it_scopes_rules_and_causes_to_the_tenant(world, desk, api_client):
    api_client.force_login(world.alice)
    assert api_client.get(f"{BASE}alert-rules/{desk['b']['rule'].uuid}/").status_code == 404
    assert api_client.get(f"{BASE}root-causes/{desk['b']['cause'].uuid}/").status_code == 404
    with tenant_context(world.a):
        assert RootCause.objects.count() == 2
        assert Team.objects.count() == 1
