"""Cases core (apps/feedback/cases/services.py): opening idempotently, assigning with e-mails, the
status transitions, resolving only with an active root cause of the tenant and an action, the
recovery survey (created through the distribution rules, fatigue ignored, opt-out respected),
won't fix and reopen, escalation once to the CX leads — all in the two-tenant world."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core.events import case_opened, case_resolved
from apps.feedback.cases import services as svc
from apps.feedback.models import Case, CaseNote
from apps.messaging.models import OutboundEmail
from apps.messaging.services import outbox_deliver
from apps.surveys.models import Invitation
from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent, Role
from tests.builders import live_survey
from tests.factories import (
    AlertRuleFactory,
    ClientFactory,
    ContactFactory,
    InvitationFactory,
    MembershipFactory,
    RootCauseFactory,
    TeamFactory,
    UserFactory,
)


@pytest.fixture
def people(world):
    return {name: world.membership(getattr(world, name), world.a) for name in ("alice", "carol", "bob", "dana", "victor")}


def _open(world, people, **kwargs):
    fields = {"source": "client", "title": "Unhappy with the renewal", "client": ClientFactory(tenant=world.a),
              "assignee": people["bob"]} | kwargs
    with tenant_context(world.a):
        return svc.case_open(tenant=world.a, **fields)


def _emails(tenant, **filters):
    with tenant_context(tenant):
        return list(OutboundEmail.objects.filter(**filters).order_by("pk"))


def _notes(case):
    with tenant_context(case.tenant):
        return list(CaseNote.objects.filter(case=case).values_list("kind", "body"))


def _reload(case):
    with tenant_context(case.tenant):
        return Case.objects.get(pk=case.pk)


# --- opening ------------------------------------------------------------------------------------

def test_it_opens_a_case_due_after_the_sla_with_an_event_and_an_email_to_the_assignee(world, people):
    now = timezone.now().replace(microsecond=0)
    rule = AlertRuleFactory(tenant=world.a, name="Detractors", assignee=people["bob"])
    case, created = _open(world, people, rule=rule, dedupe_key="response:1", sla_hours=24, now=now)
    assert created
    assert case.status == "open"
    assert case.due_at == now + timedelta(hours=24)
    assert case.opened_at == now
    notes = _notes(case)
    assert notes[0] == ("event", "Opened by rule “Detractors”: Unhappy with the renewal. Assigned to Bob; due in 24 h.")
    assert notes[1] == ("event", "E-mailed Bob.")
    [email] = _emails(world.a)
    assert (email.kind, email.to_email, email.invitation_id) == ("case", "bob@example.com", None)
    assert email.message_id == f"<case-{case.uuid}-assigned-{people['bob'].uuid}@cxm.localhost>"
    assert email.subject == "Case assigned to you: Unhappy with the renewal"
    assert f"http://127.0.0.1:8000/t/acme/cases/{case.uuid}/" in email.body_text or f"/cases/{case.uuid}/" in email.body_text
    assert f"/cases/{case.uuid}/" in email.body_html


def test_it_returns_the_same_case_for_the_same_rule_and_row(world, people):
    rule = AlertRuleFactory(tenant=world.a, assignee=people["bob"])
    first, created = _open(world, people, rule=rule, dedupe_key="response:7")
    again, created_again = _open(world, people, rule=rule, dedupe_key="response:7", title="Other words")
    other_rule, created_other = _open(world, people, rule=AlertRuleFactory(tenant=world.a, assignee=people["bob"]),
                                      dedupe_key="response:7")
    assert created
    assert not created_again
    assert again.pk == first.pk
    assert again.title == "Unhappy with the renewal"
    assert created_other
    assert other_rule.pk != first.pk
    with tenant_context(world.a):
        assert Case.objects.count() == 2
    assert len(_emails(world.a)) == 2  # one per case, none for the repeat


def test_it_lets_the_database_settle_a_race_on_the_same_row(world, people, monkeypatch):
    rule = AlertRuleFactory(tenant=world.a, assignee=people["bob"])
    first, _ = _open(world, people, rule=rule, dedupe_key="response:9")
    real_filter = Case.objects.filter
    calls = {"n": 0}

    def blind_first_look(*args, **kwargs):  # the concurrent evaluation has not committed when we look
        calls["n"] += 1
        queryset = real_filter(*args, **kwargs)
        return queryset.none() if calls["n"] == 1 else queryset

    monkeypatch.setattr(Case.objects, "filter", blind_first_look)
    case, created = _open(world, people, rule=rule, dedupe_key="response:9")
    assert not created
    assert case.pk == first.pk


def test_it_sends_case_opened_inside_the_transaction(world, people):
    seen = []

    def receiver(sender, *, tenant, case, **kwargs):
        seen.append((tenant.pk, case.pk, Case.objects.filter(pk=case.pk).exists()))

    case_opened.connect(receiver)
    try:
        case, _ = _open(world, people)
        _open(world, people, rule=None, dedupe_key="")
    finally:
        case_opened.disconnect(receiver)
    assert seen[0] == (world.a.pk, case.pk, True)
    assert len(seen) == 2


def test_it_announces_a_team_queue_case_to_each_active_staff_member_of_the_team(world, people):
    team = TeamFactory(tenant=world.a, name="Care")
    ann = MembershipFactory(tenant=world.a, team=team, user=UserFactory(email="ann@example.com", full_name="Ann"))
    MembershipFactory(tenant=world.a, team=team, is_active=False, user=UserFactory(email="gone@example.com"))
    MembershipFactory(tenant=world.a, team=team, role=Role.VIEWER, user=UserFactory(email="exec@example.com"))
    ben = MembershipFactory(tenant=world.a, team=team, role=Role.CX_LEAD, user=UserFactory(email="ben@example.com", full_name="Ben"))
    case, _ = _open(world, people, assignee=None, team=team)
    emails = _emails(world.a)
    assert sorted(e.to_email for e in emails) == ["ann@example.com", "ben@example.com"]
    assert all(e.subject.startswith("New case in the Care queue") for e in emails)
    assert {e.message_id for e in emails} == {f"<case-{case.uuid}-assigned-{m.uuid}@cxm.localhost>" for m in (ann, ben)}
    assert "Assigned to the Care queue" in _notes(case)[0][1]


@pytest.mark.parametrize("who", ["viewer", "inactive", "other_tenant"])
def test_it_refuses_an_assignee_who_cannot_work_cases_and_writes_nothing(world, people, who):
    if who == "viewer":
        assignee = people["victor"]
    elif who == "inactive":
        assignee = MembershipFactory(tenant=world.a, is_active=False)
    else:
        assignee = world.membership(world.charlie, world.b)
    with pytest.raises(ValidationError) as error:
        _open(world, people, assignee=assignee)
    assert "assignee" in error.value.message_dict
    with tenant_context(world.a):
        assert not Case.objects.exists()
        assert not OutboundEmail.objects.exists()


def test_a_case_opened_by_hand_is_audited_and_the_opener_is_not_emailed(world, people):
    case, _ = _open(world, people, acting_member=people["bob"], assignee=people["bob"])
    assert _emails(world.a) == []
    assert _notes(case)[0][1].startswith("Opened by Bob: ")
    with tenant_context(world.a):
        assert AuditEvent.objects.filter(action="case.opened", target_id=str(case.uuid), actor=world.bob).exists()


# --- assigning, starting, notes -----------------------------------------------------------------

def test_it_assigns_and_emails_the_new_assignee_but_not_the_member_who_takes_it(world, people):
    case, _ = _open(world, people)
    with tenant_context(world.a):
        svc.case_assign(tenant=world.a, acting_member=people["carol"], case=case, assignee=people["dana"])
        svc.case_assign(tenant=world.a, acting_member=people["bob"], case=case, assignee=people["bob"])  # takes it back
        svc.case_assign(tenant=world.a, acting_member=people["carol"], case=case, assignee=people["dana"])  # and again
    to = [e.to_email for e in _emails(world.a)]
    assert to == ["bob@example.com", "dana@example.com", "dana@example.com"]
    dana_ids = [e.message_id for e in _emails(world.a, to_email="dana@example.com")]
    assert dana_ids == [f"<case-{case.uuid}-assigned-{people['dana'].uuid}@cxm.localhost>",
                        f"<case-{case.uuid}-assigned2-{people['dana'].uuid}@cxm.localhost>"]
    assert ("event", "Assigned to Dana by Carol (was Bob).") in _notes(case)
    assert _reload(case).assignee_id == people["dana"].pk


def test_starting_an_unassigned_case_takes_it(world, people):
    case, _ = _open(world, people, assignee=None)
    with tenant_context(world.a):
        started = svc.case_start(tenant=world.a, acting_member=people["dana"], case=case)
    assert (started.status, started.assignee_id) == ("in_progress", people["dana"].pk)
    assert _notes(case)[-1] == ("event", "Started by Dana (took the case).")


def test_it_adds_notes_and_refuses_an_empty_one(world, people):
    case, _ = _open(world, people)
    with tenant_context(world.a):
        note = svc.case_note_add(tenant=world.a, acting_member=people["bob"], case=case, body="  Called, left a message. ")
        with pytest.raises(ValidationError):
            svc.case_note_add(tenant=world.a, acting_member=people["bob"], case=case, body="   ")
    assert (note.kind, note.body, note.author_id) == ("note", "Called, left a message.", people["bob"].pk)
    assert len(_notes(case)) == 3  # opened, e-mailed, the note


# --- transitions --------------------------------------------------------------------------------

@pytest.mark.parametrize("path,refused", [
    (["start"], "start"),
    (["wont_fix"], "start"),
    (["wont_fix"], "wont_fix"),
    (["resolve"], "resolve"),
    (["resolve"], "start"),
    ([], "reopen"),
    (["start"], "reopen"),
])
def test_it_refuses_transitions_outside_the_rules(world, people, path, refused):
    cause = RootCauseFactory(tenant=world.a)
    case, _ = _open(world, people)
    actions = {
        "start": lambda c: svc.case_start(tenant=world.a, acting_member=people["bob"], case=c),
        "resolve": lambda c: svc.case_resolve(tenant=world.a, acting_member=people["bob"], case=c, root_cause=cause,
                                              action_taken="Refunded"),
        "wont_fix": lambda c: svc.case_close_wont_fix(tenant=world.a, acting_member=people["bob"], case=c, reason="Spam"),
        "reopen": lambda c: svc.case_reopen(tenant=world.a, acting_member=people["bob"], case=c),
    }
    with tenant_context(world.a):
        for step in path:
            case = actions[step](case)
        status = case.status
        with pytest.raises(ValidationError) as error:
            actions[refused](case)
    assert error.value.code == "invalid_transition"
    assert _reload(case).status == status


def test_open_to_in_progress_to_resolved_then_reopened_with_a_fresh_sla(world, people):
    cause = RootCauseFactory(tenant=world.a, name="Billing error")
    case, _ = _open(world, people, sla_hours=10, now=timezone.now() - timedelta(hours=30))
    with tenant_context(world.a):
        svc.case_start(tenant=world.a, acting_member=people["bob"], case=case)
        resolved = svc.case_resolve(tenant=world.a, acting_member=people["bob"], case=case, root_cause=cause,
                                    action_taken="  Credited the invoice  ")
        assert (resolved.status, resolved.root_cause_id, resolved.action_taken, resolved.resolved_by_id) == (
            "resolved", cause.pk, "Credited the invoice", people["bob"].pk)
        assert resolved.resolved_at is not None
        Case.objects.filter(pk=case.pk).update(escalated_at=timezone.now())
        reopened = svc.case_reopen(tenant=world.a, acting_member=people["carol"], case=case)
    assert (reopened.status, reopened.root_cause_id, reopened.action_taken, reopened.resolved_at, reopened.escalated_at) == (
        "open", None, "", None, None)
    assert timedelta(hours=9, minutes=59) < reopened.due_at - timezone.now() <= timedelta(hours=10)
    bodies = [body for _, body in _notes(case)]
    assert "Resolved by Bob. Root cause: Billing error. Action taken: Credited the invoice" in bodies
    assert "Reopened by Carol (was resolved: Billing error — Credited the invoice); due again in 10 h." in bodies


def test_wont_fix_needs_a_reason(world, people):
    case, _ = _open(world, people)
    with tenant_context(world.a):
        with pytest.raises(ValidationError) as error:
            svc.case_close_wont_fix(tenant=world.a, acting_member=people["carol"], case=case, reason="  ")
        assert "reason" in error.value.message_dict
        assert Case.objects.get(pk=case.pk).status == "open"
        closed = svc.case_close_wont_fix(tenant=world.a, acting_member=people["carol"], case=case, reason="Duplicate of another")
        assert AuditEvent.objects.filter(action="case.closed_wont_fix", target_id=str(case.uuid)).exists()
    assert closed.status == "wont_fix"
    assert closed.resolved_at is None
    assert _notes(case)[-1] == ("event", "Closed as won't fix by Carol: Duplicate of another")


# --- resolving ----------------------------------------------------------------------------------

def _nothing_resolved(world, case, notes_before):
    fresh = _reload(case)
    assert (fresh.status, fresh.root_cause_id, fresh.resolved_at, fresh.recovery_invitation_id) == ("open", None, None, None)
    assert len(_notes(case)) == notes_before
    with tenant_context(world.a):
        assert not Invitation.objects.exists()
        assert not AuditEvent.objects.filter(action="case.resolved").exists()


@pytest.mark.parametrize("problem", ["no_cause", "no_action", "archived", "other_tenant"])
def test_resolving_without_an_active_root_cause_of_the_tenant_and_an_action_is_refused_with_nothing_written(world, people, problem):
    cause = {"no_cause": None, "no_action": RootCauseFactory(tenant=world.a),
             "archived": RootCauseFactory(tenant=world.a, is_active=False),
             "other_tenant": RootCauseFactory(tenant=world.b)}[problem]
    case, _ = _open(world, people)
    before = len(_notes(case))
    resolved = []
    case_resolved.connect(lambda sender, **kw: resolved.append(kw), weak=False, dispatch_uid="test-resolved")
    try:
        with tenant_context(world.a), pytest.raises(ValidationError) as error:
            svc.case_resolve(tenant=world.a, acting_member=people["bob"], case=case, root_cause=cause,
                             action_taken="" if problem == "no_action" else "Fixed it")
    finally:
        case_resolved.disconnect(dispatch_uid="test-resolved")
    field = "action_taken" if problem == "no_action" else "root_cause"
    assert field in error.value.message_dict
    assert resolved == []
    _nothing_resolved(world, case, before)


def test_resolving_sends_case_resolved_and_is_audited(world, people):
    cause = RootCauseFactory(tenant=world.a)
    case, _ = _open(world, people)
    seen = []
    case_resolved.connect(lambda sender, *, tenant, case, **kw: seen.append((case.pk, case.status)), weak=False, dispatch_uid="t2")
    try:
        with tenant_context(world.a):
            svc.case_resolve(tenant=world.a, acting_member=people["bob"], case=case, root_cause=cause, action_taken="Called back")
            assert AuditEvent.objects.filter(action="case.resolved", target_id=str(case.uuid), actor=world.bob).exists()
    finally:
        case_resolved.disconnect(dispatch_uid="t2")
    assert seen == [(case.pk, "resolved")]


@pytest.fixture
def recovery(world, people):
    world.a.survey_fatigue_days = 30
    world.a.save()
    survey = live_survey(world.a, name="How did we do after your complaint?")
    contact = ContactFactory(client=ClientFactory(tenant=world.a), name="Ann Client", email="ann@client.example")
    rule = AlertRuleFactory(tenant=world.a, assignee=people["bob"], recovery_survey=survey)
    return survey, contact, rule


def test_resolving_with_a_recovery_survey_invites_the_contact_despite_the_fatigue_rule(world, people, recovery,
                                                                                       django_capture_on_commit_callbacks):
    survey, contact, rule = recovery
    InvitationFactory(survey=live_survey(world.a), contact=contact, status="sent", sent_at=timezone.now() - timedelta(days=1))
    cause = RootCauseFactory(tenant=world.a)
    case, _ = _open(world, people, rule=rule, dedupe_key="response:1", contact=contact, client=contact.client)
    with django_capture_on_commit_callbacks(execute=True), tenant_context(world.a):
        resolved = svc.case_resolve(tenant=world.a, acting_member=people["bob"], case=case, root_cause=cause,
                                    action_taken="Apologised and refunded", send_recovery_survey=True)
    with tenant_context(world.a):
        invitation = Invitation.objects.get(pk=resolved.recovery_invitation_id)
        assert (invitation.source, invitation.survey_id, invitation.contact_id, invitation.dedupe_key) == (
            "recovery", survey.pk, contact.pk, f"recovery:{case.uuid}:1")
        assert invitation.status == "sent"
        assert invitation.skip_reason == ""  # dispatched and delivered on commit (eager)
        email = OutboundEmail.objects.get(invitation=invitation)
        assert (email.kind, email.to_email, email.status) == ("invitation", "ann@client.example", "sent")
    assert _notes(case)[-1] == ("event", f"Recovery survey “{survey.name}” sent to Ann Client <ann@client.example>.")
    assert any(m.to == ["ann@client.example"] for m in mail.outbox)


@pytest.mark.parametrize("problem,message", [
    ("opted_out", "Ann Client opted out of surveys"),
    ("no_email", "Ann Client has no e-mail address"),
    ("paused", "The recovery survey is not open"),
    ("no_contact", "This case has no contact"),
    ("no_survey", "Choose the recovery survey"),
    ("other_tenant_survey", "Not found."),
])
def test_a_recovery_survey_that_cannot_be_sent_refuses_the_resolution(world, people, recovery, problem, message):
    survey, contact, rule = recovery
    with tenant_context(world.a):
        if problem == "opted_out":
            contact.opted_out = True
            contact.save()
        if problem == "no_email":
            contact.email = ""
            contact.save()
        if problem == "paused":
            survey.status = "paused"
            survey.save()
    other = live_survey(world.b) if problem == "other_tenant_survey" else None
    case, _ = _open(world, people, rule=None if problem == "no_survey" else rule, dedupe_key="response:1",
                    contact=None if problem == "no_contact" else contact, client=contact.client)
    before = len(_notes(case))
    with tenant_context(world.a), pytest.raises(ValidationError) as error:
        svc.case_resolve(tenant=world.a, acting_member=people["bob"], case=case, root_cause=RootCauseFactory(tenant=world.a),
                         action_taken="Refunded", send_recovery_survey=True, recovery_survey=other)
    assert message in str(error.value)
    _nothing_resolved(world, case, before)


# --- escalation ---------------------------------------------------------------------------------

def test_an_overdue_case_escalates_once_to_every_cx_lead(world, people):
    second_lead = MembershipFactory(tenant=world.a, role=Role.CX_LEAD, user=UserFactory(email="lea@example.com", full_name="Lea"))
    overdue, _ = _open(world, people, now=timezone.now() - timedelta(hours=50), sla_hours=48)
    _open(world, people, title="Not yet due")
    closed, _ = _open(world, people, now=timezone.now() - timedelta(hours=50), title="Closed")
    with tenant_context(world.a):
        svc.case_close_wont_fix(tenant=world.a, acting_member=people["carol"], case=closed, reason="Spam")
        assert svc.cases_escalate_overdue(tenant=world.a) == 1
        assert svc.cases_escalate_overdue(tenant=world.a) == 0
        assert svc.cases_escalate_overdue(tenant=world.a, now=timezone.now() + timedelta(days=3)) == 1  # the other one, later
    escalations = _emails(world.a, kind="escalation", subject__contains="Unhappy")
    assert sorted(e.to_email for e in escalations) == ["carol@example.com", "lea@example.com"]
    assert escalations[0].subject == "Overdue case: Unhappy with the renewal"
    assert "past its due time" in escalations[0].body_text
    assert f"/cases/{overdue.uuid}/" in escalations[0].body_html
    assert _reload(overdue).escalated_at is not None
    assert _notes(overdue)[-1][1].endswith("escalated to Carol, Lea.")
    assert second_lead.pk


def test_without_a_cx_lead_the_admins_get_the_escalation(world, people):
    with tenant_context(world.a):
        people["carol"].role = Role.STAFF
        people["carol"].save()
    _open(world, people, now=timezone.now() - timedelta(hours=3), sla_hours=1)
    with tenant_context(world.a):
        assert svc.cases_escalate_overdue(tenant=world.a) == 1
    assert [e.to_email for e in _emails(world.a, kind="escalation")] == ["alice@example.com"]


def test_staff_emails_are_delivered_without_a_survey_unsubscribe_link(world, people):
    _open(world, people)
    mail.outbox.clear()
    assert outbox_deliver(tenant=world.a)["sent"] == 1
    [message] = mail.outbox
    assert message.to == ["bob@example.com"]
    assert "List-Unsubscribe" not in message.extra_headers
    assert "__cxm_invitation_token__" not in message.body
    assert message.extra_headers["Message-ID"].startswith("<case-")


def test_a_reopened_case_can_escalate_again_in_its_new_sla_period(world, people):
    cause = RootCauseFactory(tenant=world.a)
    case, _ = _open(world, people, now=timezone.now() - timedelta(hours=5), sla_hours=2)
    with tenant_context(world.a):
        assert svc.cases_escalate_overdue(tenant=world.a) == 1
        svc.case_resolve(tenant=world.a, acting_member=people["bob"], case=case, root_cause=cause, action_taken="Called back")
        svc.case_reopen(tenant=world.a, acting_member=people["carol"], case=case)
        assert svc.cases_escalate_overdue(tenant=world.a) == 0  # a fresh two hours
        assert svc.cases_escalate_overdue(tenant=world.a, now=timezone.now() + timedelta(hours=3)) == 1
    assert len({e.message_id for e in _emails(world.a, kind="escalation")}) == 2
