"""Alert rules (apps/feedback/alerts/evaluation.py, tasks, triggers): thresholds and scopes, bots never,
one case per rule and row however often it is evaluated, the assignee per `assign_to` with its
fallbacks, follow-up interactions, churn-risk crossings (and the refresh that finds them), and the
on-commit triggers — in the two-tenant world."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps.feedback.alerts import evaluation as alerts
from apps.feedback.models import AlertRule, Case
from apps.feedback.tasks import escalate_overdue_cases, evaluate_response_rules
from apps.messaging.models import OutboundEmail
from apps.metrics.churn.risk import churn_risk_refresh
from apps.metrics.models import ClientHealth
from apps.surveys.respond.services import response_submit
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role
from apps.touchpoints.interactions.services import interaction_log, interaction_update
from tests.builders import live_survey
from tests.factories import (
    AlertRuleFactory,
    ClientFactory,
    ContactFactory,
    InteractionFactory,
    MembershipFactory,
    ResponseFactory,
    TeamFactory,
    TouchpointFactory,
)


@pytest.fixture
def people(world):
    return {name: world.membership(getattr(world, name), world.a) for name in ("alice", "carol", "bob", "dana", "victor")}


@pytest.fixture
def survey(world):
    return live_survey(world.a, name="Relationship NPS")


def _response(survey, **fields):
    contact = fields.pop("contact", None) or ContactFactory(client=ClientFactory(tenant=survey.tenant, name="Acme Corp"),
                                                            name="Jane Doe")
    return ResponseFactory(version=survey.current_version, client=contact.client, contact=contact, **fields)


def _evaluate(response):
    with tenant_context(response.tenant):
        return alerts.alert_rules_evaluate_response(tenant=response.tenant, response_id=response.pk)


def _cases(tenant):
    with tenant_context(tenant):
        return list(Case.objects.select_related("assignee", "team").order_by("pk"))


# --- thresholds, scopes, bots -------------------------------------------------------------------

@pytest.mark.parametrize("trigger,threshold,field,value,fires", [
    ("nps_at_most", 6, "nps", 6, True),
    ("nps_at_most", 6, "nps", 7, False),
    ("nps_at_most", 0, "nps", 0, True),
    ("csat_at_most", 2, "csat", 2, True),
    ("csat_at_most", 2, "csat", 3, False),
    ("ces_at_most", 3, "ces", 3, True),
    ("ces_at_most", 3, "ces", 4, False),
])
def test_score_rules_fire_at_or_below_their_threshold(world, people, survey, trigger, threshold, field, value, fires):
    AlertRuleFactory(tenant=world.a, trigger=trigger, threshold=threshold, assignee=people["bob"])
    response = _response(survey, **{"nps": None, field: value})
    results = _evaluate(response)
    assert [created for _, created in results] == ([True] if fires else [])
    if fires:
        case = results[0][0]
        assert (case.source, case.response_id, case.dedupe_key, case.trigger_metric, case.trigger_score) == (
            "response", response.pk, f"response:{response.pk}", field, value)
        assert case.contact_id == response.contact_id
        assert case.client_id == response.client_id


def test_a_negative_comment_rule_reads_the_comment_sentiment(world, people, survey):
    AlertRuleFactory(tenant=world.a, trigger="negative_comment", threshold=-0.5, assignee=people["bob"])
    angry = _response(survey, nps=9, comment="Terrible, rude and useless service. I am furious and disappointed.")
    mild = _response(survey, nps=9, comment="It was fine, thanks.")
    silent = _response(survey, nps=9, comment="")
    [(case, created)] = _evaluate(angry)
    assert created
    assert case.trigger_metric == ""
    assert case.trigger_score is None
    assert "negative comment (sentiment -0." in case.description
    assert "furious" in case.description
    assert _evaluate(mild) == []
    assert _evaluate(silent) == []


@pytest.mark.parametrize("language,comment", [
    ("fr", "Service très décevant, facture fausse et équipe désagréable."),
    ("de", "Enttäuschend: Rechnung falsch, Antwort unfreundlich und viel zu spät."),
    ("es", "Un servicio pésimo, la factura estaba mal y nadie nos ayudó."),
])
def test_a_negative_comment_is_read_in_its_own_language(world, people, survey, language, comment):
    """VADER alone reads these as neutral (it knows English words only); the rule scores each in its language."""
    from apps.core.nlp.lexicons import vader

    assert abs(vader().polarity_scores(comment)["compound"]) < 0.3
    AlertRuleFactory(tenant=world.a, trigger="negative_comment", threshold=-0.3, assignee=people["bob"])
    [(case, created)] = _evaluate(_response(survey, nps=9, comment=comment, language=language))
    assert created
    assert "negative comment (sentiment -0." in case.description


def test_it_describes_the_case_in_words(world, people, survey):
    touchpoint = TouchpointFactory(tenant=world.a, name="Helpdesk call")
    AlertRuleFactory(tenant=world.a, assignee=people["bob"])
    response = _response(survey, nps=3, comment="Waited two weeks for an answer.", touchpoint=touchpoint)
    [(case, _)] = _evaluate(response)
    assert case.title == "NPS 3 of 10 from Jane Doe (Acme Corp): “Waited two weeks for an answer.”"
    assert case.description.startswith(
        f"Jane Doe (Acme Corp) answered the survey “Relationship NPS” at Helpdesk call on {response.local_day:%Y-%m-%d}: NPS 3 of 10.")
    assert case.description.endswith("Comment: “Waited two weeks for an answer.”")


def test_rules_scoped_to_a_touchpoint_or_survey_ignore_other_responses(world, people, survey):
    desk, shop = TouchpointFactory(tenant=world.a), TouchpointFactory(tenant=world.a)
    other_survey = live_survey(world.a)
    at_desk = AlertRuleFactory(tenant=world.a, name="Desk", touchpoint=desk, assignee=people["bob"])
    on_survey = AlertRuleFactory(tenant=world.a, name="Survey", survey=other_survey, assignee=people["bob"])
    [(case, _)] = _evaluate(_response(survey, nps=2, touchpoint=desk))
    assert case.rule_id == at_desk.pk
    assert _evaluate(_response(survey, nps=2, touchpoint=shop)) == []
    [(case, _)] = _evaluate(_response(other_survey, nps=2))
    assert case.rule_id == on_survey.pk


def test_bots_inactive_rules_and_other_tenants_rules_never_open_cases(world, people, survey):
    AlertRuleFactory(tenant=world.a, is_active=False, assignee=people["bob"])
    AlertRuleFactory(tenant=world.b, assignee=world.membership(world.charlie, world.b))
    assert _evaluate(_response(survey, nps=0)) == []
    AlertRuleFactory(tenant=world.a, assignee=people["bob"])
    assert _evaluate(_response(survey, nps=0, is_bot=True, bot_reason="honeypot")) == []
    assert len(_evaluate(_response(survey, nps=0))) == 1
    with tenant_context(world.b):
        assert not Case.objects.exists()


def test_evaluating_a_response_twice_opens_one_case_per_rule(world, people, survey):
    AlertRuleFactory(tenant=world.a, name="Detractors", assignee=people["bob"])
    AlertRuleFactory(tenant=world.a, name="Angry", trigger="negative_comment", threshold=-0.3, assignee=people["dana"])
    response = _response(survey, nps=1, comment="Awful, rude and terrible. I am furious.")
    first = _evaluate(response)
    second = _evaluate(response)
    with tenant_context(world.a):
        evaluate_response_rules.delay(world.a.pk, response.pk)  # the task, eagerly
    assert [c for _, c in first] == [True, True]
    assert [c for _, c in second] == [False, False]
    assert len(_cases(world.a)) == 2
    with tenant_context(world.a):
        assert OutboundEmail.objects.filter(kind="case").count() == 2


# --- assignees ----------------------------------------------------------------------------------

def test_the_assignee_follows_assign_to_with_fallbacks(world, people, survey):
    team = TeamFactory(tenant=world.a, name="Care")
    owner_client = ClientFactory(tenant=world.a, owner=people["dana"])
    orphan_client = ClientFactory(tenant=world.a)
    gone = MembershipFactory(tenant=world.a, is_active=False)
    staff_rule = AlertRule(tenant=world.a, assign_to="staff", assignee=people["bob"])
    owner_rule = AlertRule(tenant=world.a, assign_to="client_owner", assignee=people["bob"], team=team)
    assert alerts.assignee_for(AlertRule(tenant=world.a, assign_to="member", assignee=people["carol"])) == (people["carol"], None)
    assert alerts.assignee_for(AlertRule(tenant=world.a, assign_to="team", team=team, assignee=people["bob"])) == (None, team)
    assert alerts.assignee_for(owner_rule, client=owner_client) == (people["dana"], team)
    assert alerts.assignee_for(owner_rule, client=orphan_client) == (people["bob"], team)
    assert alerts.assignee_for(staff_rule, staff=people["dana"]) == (people["dana"], None)
    assert alerts.assignee_for(staff_rule, staff=None) == (people["bob"], None)
    assert alerts.assignee_for(staff_rule, staff=gone) == (people["bob"], None)
    assert alerts.assignee_for(staff_rule, staff=people["victor"]) == (people["bob"], None)  # a viewer works no cases
    nobody = AlertRule(tenant=world.a, assign_to="client_owner", assignee=gone, team=team)
    assert alerts.assignee_for(nobody, client=orphan_client) == (None, team)


def test_a_staff_rule_gives_the_case_to_the_staff_member_of_the_responses_interaction(world, people, survey):
    AlertRuleFactory(tenant=world.a, assign_to="staff", assignee=people["carol"])
    interaction = InteractionFactory(staff=people["dana"])
    [(case, _)] = _evaluate(_response(survey, nps=4, interaction=interaction, staff=people["dana"]))
    assert case.assignee_id == people["dana"].pk
    with tenant_context(world.a):
        assert OutboundEmail.objects.get().to_email == "dana@example.com"


def test_a_client_owner_rule_gives_the_case_to_the_owner(world, people, survey):
    AlertRuleFactory(tenant=world.a, assign_to="client_owner", assignee=people["carol"])
    contact = ContactFactory(client=ClientFactory(tenant=world.a, owner=people["bob"]))
    [(case, _)] = _evaluate(_response(survey, nps=4, contact=contact))
    assert case.assignee_id == people["bob"].pk


# --- the on-commit trigger ----------------------------------------------------------------------

def test_a_detractor_submitted_opens_a_case_once_its_transaction_commits(world, people, survey, django_capture_on_commit_callbacks):
    AlertRuleFactory(tenant=world.a, assignee=people["bob"], sla_hours=24)
    with django_capture_on_commit_callbacks(execute=True), tenant_context(world.a):
        response, _ = response_submit(tenant=world.a, version=survey.current_version, answers={"nps": 2, "reason": "Slow"},
                                      channel="web", language="en")
        assert not Case.objects.exists()  # not before the commit
    [case] = _cases(world.a)
    assert (case.response_id, case.assignee_id, case.trigger_score) == (response.pk, people["bob"].pk, 2)


def test_no_task_is_queued_without_a_rule_or_for_a_bot(world, people, survey, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, tenant_context(world.a):
        response_submit(tenant=world.a, version=survey.current_version, answers={"nps": 2}, channel="web", language="en")
    without_rule = len(callbacks)  # the response counts itself in its transaction: nothing queued for a web-link answer
    AlertRuleFactory(tenant=world.a, assignee=people["bob"])
    with django_capture_on_commit_callbacks() as callbacks, tenant_context(world.a):
        response_submit(tenant=world.a, version=survey.current_version, answers={"nps": 2}, channel="web", language="en",
                        submission_key="bot", is_bot=True, bot_reason="honeypot")
    assert callbacks == []  # no rule evaluation for a bot, whatever the rules
    with django_capture_on_commit_callbacks() as callbacks, tenant_context(world.a):
        response_submit(tenant=world.a, version=survey.current_version, answers={"nps": 2}, channel="web", language="en")
    assert len(callbacks) == without_rule + 1


# --- interactions -------------------------------------------------------------------------------

def test_an_interaction_flagged_for_follow_up_opens_a_case_for_its_staff_member(world, people, django_capture_on_commit_callbacks):
    desk = TouchpointFactory(tenant=world.a, name="Front desk")
    AlertRuleFactory(tenant=world.a, trigger="interaction_follow_up", threshold=0, assign_to="staff", assignee=people["carol"])
    contact = ContactFactory(client=ClientFactory(tenant=world.a, name="Acme Corp"), name="Jane Doe")
    with django_capture_on_commit_callbacks(execute=True), tenant_context(world.a):
        plain, _ = interaction_log(tenant=world.a, staff=people["dana"], client=contact.client, contact=contact, touchpoint=desk,
                                   outcome="resolved", summary="Explained the invoice")
        flagged, _ = interaction_log(tenant=world.a, staff=people["dana"], client=contact.client, contact=contact, touchpoint=desk,
                                     outcome="unresolved", summary="Promised a call back about the refund", follow_up=True,
                                     follow_up_due=date(2026, 12, 1))
    [case] = _cases(world.a)
    assert (case.source, case.interaction_id, case.assignee_id, case.dedupe_key) == (
        "interaction", flagged.pk, people["dana"].pk, f"interaction:{flagged.pk}")
    assert case.title == "Follow-up for Jane Doe (Acme Corp): Promised a call back about the refund"
    assert "Dana flagged a Front desk interaction with Jane Doe (Acme Corp)" in case.description
    assert "(due 2026-12-01)" in case.description
    # Flagging the other one later opens its case; flagging the first again changes nothing.
    with django_capture_on_commit_callbacks(execute=True), tenant_context(world.a):
        interaction_update(tenant=world.a, acting_member=people["dana"], interaction=plain, follow_up=True, follow_up_due=date(2026, 12, 2))
        interaction_update(tenant=world.a, acting_member=people["dana"], interaction=flagged, follow_up=True, follow_up_due=date(2026, 12, 3))
    assert len(_cases(world.a)) == 2


def test_a_follow_up_already_done_or_at_another_touchpoint_opens_nothing(world, people):
    desk, shop = TouchpointFactory(tenant=world.a), TouchpointFactory(tenant=world.a)
    AlertRuleFactory(tenant=world.a, trigger="interaction_follow_up", threshold=0, touchpoint=desk, assignee=people["carol"])
    done = InteractionFactory(staff=people["bob"], touchpoint=desk, follow_up=True, follow_up_done_at=timezone.now())
    elsewhere = InteractionFactory(staff=people["bob"], touchpoint=shop, follow_up=True)
    with tenant_context(world.a):
        assert alerts.alert_rules_evaluate_interaction(tenant=world.a, interaction_id=done.pk) == []
        assert alerts.alert_rules_evaluate_interaction(tenant=world.a, interaction_id=elsewhere.pk) == []


# --- churn risk ---------------------------------------------------------------------------------

def test_a_risk_rule_fires_only_on_an_upward_crossing_and_keeps_one_open_case_per_client(world, people):
    rule = AlertRuleFactory(tenant=world.a, trigger="churn_risk_above", threshold=60, assign_to="client_owner",
                            assignee=people["carol"])
    client = ClientFactory(tenant=world.a, name="Acme Corp", owner=people["bob"])
    ContactFactory(client=client, name="Opted", opted_out=True)
    reachable = ContactFactory(client=client, name="Reachable")
    with tenant_context(world.a):
        ClientHealth.objects.create(tenant=world.a, client=client, score=72, band="high", method="rules", computed_at=timezone.now(),
                                    reasons=[{"code": "nps", "text": "NPS fell from 9 to 3", "weight": 30}])

        def evaluate(previous, score):
            return alerts.alert_rules_evaluate_client_risk(tenant=world.a, client_id=client.pk, previous_score=previous, score=score)

        assert evaluate(50, 59) == []
        assert evaluate(60, 72) == []
        assert evaluate(70, 80) == []
        [(case, created)] = evaluate(59, 72)
        assert created
        assert ((case.source, case.client_id, case.contact_id, case.assignee_id, case.rule_id) == (
            "client", client.pk, reachable.pk, people["bob"].pk, rule.pk))
        assert case.dedupe_key == f"client:{client.pk}:risk:{timezone.localdate(timezone=ZoneInfo('Europe/Brussels')):%Y-%m-%d}"
        assert case.title == "Churn risk 72 for Acme Corp: NPS fell from 9 to 3"
        assert "rose to 72 of 100 (was 59; the rule's threshold is 60)" in case.description
        [(same, again)] = evaluate(40, 90)  # crossing again while the first case is open: no second case
        assert not again
        assert same.pk == case.pk
        Case.objects.filter(pk=case.pk).update(status="resolved")
        Case.objects.filter(pk=case.pk).update(dedupe_key="client:old")  # as if it was opened on an earlier day
        [(new, created_new)] = evaluate(None, 65)
        assert created_new
        assert new.pk != case.pk


def test_the_churn_refresh_opens_cases_for_clients_whose_risk_crossed(world, people):
    AlertRuleFactory(tenant=world.a, trigger="churn_risk_above", threshold=0, assignee=people["carol"], name="Any risk")
    clients = [ClientFactory(tenant=world.a, active_from=date(2024, 1, 1)) for _ in range(2)]
    with tenant_context(world.a):
        first = churn_risk_refresh(world.a, today=date(2026, 3, 1))
        again = churn_risk_refresh(world.a, today=date(2026, 3, 2))
        cases = list(Case.objects.order_by("client_id"))
    assert first["cases_opened"] == 2
    assert again["cases_opened"] == 0  # scored before: no crossing the second time
    assert [c.client_id for c in cases] == [c.pk for c in clients]
    assert {c.source for c in cases} == {"client"}


# --- escalation task ----------------------------------------------------------------------------

def test_the_escalation_task_takes_a_now(world, people, survey):
    AlertRuleFactory(tenant=world.a, assignee=people["bob"], sla_hours=4)
    _evaluate(_response(survey, nps=1))
    later = (timezone.now() + timedelta(hours=5)).isoformat()
    assert escalate_overdue_cases.delay(world.a.pk).get() == 0
    assert escalate_overdue_cases.delay(world.a.pk, later).get() == 1
    assert escalate_overdue_cases.delay(world.a.pk, later).get() == 0
    with tenant_context(world.a):
        assert [e.to_email for e in OutboundEmail.objects.filter(kind="escalation")] == ["carol@example.com"]
    assert Role.CX_LEAD == people["carol"].role


def test_the_beat_runs_the_escalation_fan_out_every_five_minutes():
    from django.conf import settings

    from cxm.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["escalate-overdue-cases"]
    assert entry["task"] in app.tasks
    assert entry["options"]["expires"] < 5 * 60
    assert entry["schedule"].minute == set(range(0, 60, 5))
