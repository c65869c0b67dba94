"""Closing the loop end to end on real parts: Postgres (the app role, RLS on), Redis, a Celery worker
process and an SMTP server (aiosmtpd on 127.0.0.1, started and stopped here).

A contact answers an invitation over HTTP with a detractor score → on commit the worker evaluates the
alert rule and opens exactly one case (the task run twice more changes nothing) → the client's owner
gets the case e-mail → past the SLA the escalation task e-mails the CX lead once → resolving without a
root cause is refused → resolving with one sends the recovery survey (the fatigue rule does not hold
it back: the contact was surveyed minutes ago) → the contact answers it over HTTP from the link in the
e-mail → the recovery shows in the recovery report."""

import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.feedback.cases.services import case_resolve
from apps.feedback.models import Case, CaseNote
from apps.feedback.tasks import escalate_overdue_cases, evaluate_response_rules
from apps.messaging.models import OutboundEmail
from apps.metrics.params import MetricFilters
from apps.surveys.models import Invitation, Response
from apps.tenancy.context import tenant_context
from tests.builders import live_survey, send
from tests.factories import AlertRuleFactory, ClientFactory, ContactFactory, RootCauseFactory
from tests.live_parts import SURVEY_LINK, hidden_inputs, wait_until
from tests.smtp_sink import html_of, text_of

pytestmark = [pytest.mark.postgres, pytest.mark.services]


def answer(client, message, score: int, reason: str):
    token = SURVEY_LINK.search(text_of(message)).group(1)
    page = client.get(f"/s/{token}/")
    assert page.status_code == 200
    answered = client.post(f"/s/{token}/", hidden_inputs(page.content.decode()) | {"q_nps": str(score), "q_reason": reason})
    assert answered.status_code == 200, answered.content.decode()[:500]


def count(tenant, model, **filters) -> int:
    with tenant_context(tenant):
        return model.objects.filter(**filters).count()


def test_a_detractor_opens_one_case_that_escalates_once_resolves_with_a_root_cause_and_recovers(world, sink, worker, client):
    a = world.a
    bob, carol = world.membership(world.bob, a), world.membership(world.carol, a)
    survey = live_survey(a, name="Relationship NPS")
    recovery = live_survey(a, name="After your complaint")
    rule = AlertRuleFactory(tenant=a, name="Detractors to the owner", trigger="nps_at_most", threshold=6, assign_to="client_owner",
                            assignee=carol, sla_hours=48, recovery_survey=recovery)
    ann = ContactFactory(client=ClientFactory(tenant=a, name="Northwind", owner=bob), name="Ann Answer", email="ann@northwind.example")

    # 1. Ann is asked, and answers 3 over HTTP.
    send(world, survey, [ann])
    [invitation_email] = sink.wait_for(1)
    answer(client, invitation_email, 3, "Nobody called me back for two weeks.")
    with tenant_context(a):
        response = Response.objects.get(survey=survey)

    # 2. The worker opens exactly one case; the task run twice more changes nothing.
    wait_until(lambda: count(a, Case) == 1, "the case opened by the worker")
    assert evaluate_response_rules.delay(a.pk, response.pk).get(timeout=60) == 0
    assert evaluate_response_rules.delay(a.pk, response.pk).get(timeout=60) == 0
    with tenant_context(a):
        case = Case.objects.get()
        assert Case.objects.count() == 1
    assert (case.rule_id, case.response_id, case.contact_id, case.assignee_id, case.trigger_metric, case.trigger_score) == (
        rule.pk, response.pk, ann.pk, bob.pk, "nps", 3)
    assert case.title.startswith("NPS 3 of 10 from Ann Answer (Northwind)")

    # 3. Bob, the client's owner, gets the case e-mail with the case's link.
    sink.wait_for(2)
    [to_bob] = sink.to("bob@example.com")
    assert str(to_bob["Subject"]).strip().startswith("Case assigned to you: NPS 3 of 10")
    assert str(to_bob["Message-ID"]).strip() == f"<case-{case.uuid}-assigned-{bob.uuid}@cxm.localhost>"
    assert f"/t/acme/cases/{case.uuid}/" in text_of(to_bob)
    assert f"/t/acme/cases/{case.uuid}/" in html_of(to_bob)
    assert "List-Unsubscribe" not in to_bob

    # 4. Not overdue yet; past the SLA the CX lead is told once.
    assert escalate_overdue_cases.delay(a.pk).get(timeout=60) == 0
    later = (case.due_at + timedelta(minutes=1)).isoformat()
    assert escalate_overdue_cases.delay(a.pk, later).get(timeout=60) == 1
    assert escalate_overdue_cases.delay(a.pk, later).get(timeout=60) == 0
    sink.wait_for(3)
    [escalation] = sink.to("carol@example.com")
    assert str(escalation["Subject"]).strip() == f"Overdue case: {case.title}"
    assert "past its due time" in text_of(escalation)
    with tenant_context(a):
        assert Case.objects.get().escalated_at is not None
        assert Case.objects.get().is_overdue(timezone.now() + timedelta(hours=49))

    # 5. Resolving without a root cause is refused; with one, the recovery survey goes to Ann (whom the
    #    fatigue rule would otherwise protect: she was surveyed minutes ago).
    cause = RootCauseFactory(tenant=a, name="Slow response")
    with tenant_context(a), pytest.raises(ValidationError):
        case_resolve(tenant=a, acting_member=bob, case=case, root_cause=None, action_taken="Called her", send_recovery_survey=True)
    assert count(a, Case, status="open") == 1
    assert count(a, Invitation, source="recovery") == 0
    with tenant_context(a):
        case_resolve(tenant=a, acting_member=bob, case=case, root_cause=cause, action_taken="Called her and fixed the invoice",
                     send_recovery_survey=True)
    sink.wait_for(4)
    with tenant_context(a):
        resolved = Case.objects.select_related("recovery_invitation").get()
        assert (resolved.status, resolved.root_cause_id) == ("resolved", cause.pk)
        assert resolved.recovery_invitation.source == "recovery"
        assert resolved.recovery_invitation.survey_id == recovery.pk
    recovery_email = next(m for m in sink.to(ann.email) if m["Message-ID"] == f"<invitation-{resolved.recovery_invitation.uuid}@cxm.localhost>")

    # 6. Ann answers the recovery survey from the e-mail's link: 9 this time.
    answer(client, recovery_email, 9, "Thanks for sorting it out.")
    with tenant_context(a):
        recovered = Response.objects.get(survey=recovery)
        assert recovered.invitation_id == resolved.recovery_invitation_id
        assert recovered.nps == 9
        assert Invitation.objects.get(pk=resolved.recovery_invitation_id).status == "responded"
    time.sleep(2)  # a wrongful second case (or e-mail) from the recovery answer would have arrived by now
    assert count(a, Case) == 1
    assert len(sink.to("carol@example.com")) == 1
    assert len(sink.to("bob@example.com")) == 1
    with tenant_context(a):
        assert OutboundEmail.objects.filter(kind="escalation").count() == 1
        assert CaseNote.objects.filter(case=case, body__startswith="Recovery survey").count() == 1

    # 7. The recovery shows in the recovery report: one detractor, recovered, +6 NPS points.
    from apps.feedback.recovery.selectors import recovery_report

    today = recovered.local_day
    with tenant_context(a):
        report = recovery_report(a, MetricFilters(first=today - timedelta(days=1), last=today + timedelta(days=1)))
    assert (report.overall["n"], report.overall["recovered"]) == (1, 1)
    assert report.overall["change"]["mean"] == 6
    assert [(row["label"], row["n"], row["recovered"]) for row in report.root_causes] == [("Slow response", 1, 1)]
    assert [(row["label"], row["n"]) for row in report.staff] == [("Bob", 1)]
