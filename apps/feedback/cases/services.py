"""Cases: open (by a rule or by hand), assign, start, note, resolve (root cause + action, optionally a
recovery survey to the client), close as won't fix, reopen, and escalate the overdue ones.

Rules applied here (issue 8 items 1–3):

- **One case per rule and source row.** `case_open` with a rule and a `dedupe_key` (e.g.
  `response:<id>`) returns the existing case (created=False) — the database's unique constraint
  (tenant, rule, dedupe_key) settles a race: the loser's IntegrityError returns the winner's row.
- **Status transitions** (`TRANSITIONS`): open → in_progress / resolved / wont_fix; in_progress →
  resolved / wont_fix; resolved / wont_fix → open (reopen). Anything else is a ValidationError.
- **Resolving needs an active root cause of the tenant and the action taken**; nothing is written
  otherwise. With `send_recovery_survey`, the client's contact gets the recovery survey (the one
  given, else the rule's) through the distribution machinery (`invitation_create`, source
  RECOVERY): opt-out, a missing e-mail, a closed survey, a churned client or an open invitation of
  the same survey refuse the resolution with the reason; the fatigue rule does not apply to a
  recovery invitation (it answers the client's own complaint).
- **Due time** = opened_at + SLA hours; a reopened case gets a fresh SLA of the same length.
- **Notifications** go through the outbox (kind CASE): the assignee, or each active staff-and-up
  member of the team when the case sits in a team's queue; never the member who acted. Overdue
  open/in-progress cases are escalated once (escalated_at) to every active CX lead, or to the admins
  when there is none (kind ESCALATION).
- **The thread**: every change writes a CaseNote event (kind event); members' notes are kind note.
  Admin-relevant changes (opened by hand, assigned, resolved, closed, reopened, escalated) are audit
  events too. `case_opened` / `case_resolved` are sent inside the transaction (apps.core.events).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone

from apps.core.events import case_opened, case_resolved
from apps.feedback.cases import emails
from apps.feedback.models import ESCALATION_DUE, AlertRule, Case, CaseNote, RootCause
from apps.messaging.models import OutboundEmail
from apps.surveys.models import Invitation, Survey
from apps.tenancy.due import due_settle, due_version
from apps.tenancy.models import STAFF_AND_UP, Membership, Role, Team, Tenant
from apps.tenancy.services import audit_event_record

Status = Case.Status
OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)
TRANSITIONS = {
    Status.OPEN: {Status.IN_PROGRESS, Status.RESOLVED, Status.WONT_FIX},
    Status.IN_PROGRESS: {Status.RESOLVED, Status.WONT_FIX},
    Status.RESOLVED: {Status.OPEN},
    Status.WONT_FIX: {Status.OPEN},
}
ESCALATION_BATCH = 500


# --- helpers ------------------------------------------------------------------------------------

def _user(member: Membership | None):
    return member.user if member is not None else None


def _name(member: Membership | None) -> str:
    if member is None:
        return "the system"
    return member.user.full_name or member.user.email


def _check_transition(case: Case, to: str) -> None:
    if to not in TRANSITIONS.get(case.status, set()):
        raise ValidationError(f"A case that is {case.get_status_display().lower()} cannot become "
                              f"{Status(to).label.lower()}.", code="invalid_transition")


def _check_member(tenant: Tenant, member: Membership | None, field: str) -> None:
    if member is None:
        return
    if member.tenant_id != tenant.pk:
        raise ValidationError({field: "Not found."})
    if not member.is_active or member.role not in STAFF_AND_UP:
        raise ValidationError({field: "Cases go to an active member with a staff role or above."})


def _check_team(tenant: Tenant, team: Team | None) -> None:
    if team is not None and team.tenant_id != tenant.pk:
        raise ValidationError({"team": "Not found."})


def _event(tenant: Tenant, case: Case, body: str, author: Membership | None = None) -> CaseNote:
    note = CaseNote(tenant=tenant, case=case, kind=CaseNote.Kind.EVENT, author=author, body=body)
    note.full_clean()
    note.save()
    return note


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update(of=("self",)).select_related("rule", "contact", "client").get(pk=case.pk)


def team_members(team: Team) -> list[Membership]:
    """The members a team-queue case is announced to: active, staff role or above."""
    return list(Membership.objects.filter(team=team, is_active=True, role__in=STAFF_AND_UP).select_related("user").order_by("pk"))


def _message_id(case: Case, what: str, member: Membership) -> str:
    """Deterministic from (case, what, member); a later, distinct notification of the same kind (the
    member was assigned again after someone else) gets the next free number."""
    base = emails.message_id(case, what, member)
    candidate, n = base, 1
    while OutboundEmail.objects.filter(message_id=candidate).exists():
        n += 1
        candidate = base.replace(f"-{what}-", f"-{what}{n}-", 1)
    return candidate


def _notify_assignment(tenant: Tenant, case: Case, *, acting_member: Membership | None) -> list[str]:
    """E-mail the assignee, or each member of the case's team when it sits in the team's queue.
    Returns the names written to (for the thread)."""
    from apps.messaging.services import email_enqueue

    if case.assignee_id:
        recipients, queue = [case.assignee], False
    elif case.team_id:
        recipients, queue = team_members(case.team), True
    else:
        return []
    written = []
    for member in recipients:
        if acting_member is not None and member.pk == acting_member.pk or not member.user.email:
            continue
        rendered = emails.render_case_assigned(tenant=tenant, case=case, recipient=member, queue=queue)
        email_enqueue(tenant=tenant, kind=OutboundEmail.Kind.CASE, to_email=member.user.email, subject=rendered.subject,
                      body_text=rendered.text, body_html=rendered.html, message_id=_message_id(case, "assigned", member))
        written.append(_name(member))
    return written


def _assignment_words(case: Case) -> str:
    if case.assignee_id:
        return _name(case.assignee) + (f" ({case.team.name})" if case.team_id else "")
    if case.team_id:
        return f"the {case.team.name} queue"
    return "nobody"


# --- opening ------------------------------------------------------------------------------------

@transaction.atomic
def case_open(*, tenant: Tenant, source: str, title: str, acting_member: Membership | None = None, rule: AlertRule | None = None,
              dedupe_key: str = "", client=None, contact=None, response=None, interaction=None, description: str = "",
              assignee: Membership | None = None, team: Team | None = None, sla_hours: int = 48, trigger_metric: str = "",
              trigger_score: int | None = None, now: datetime | None = None) -> tuple[Case, bool]:
    """Open a case, or return the one this rule already opened for `dedupe_key`: (case, created).

    Due `sla_hours` after `now` (default: the current time). The assignee (or, with only a team, each
    member of the team's queue) is e-mailed; the thread starts with "Opened by …"; `case_opened` is
    sent in this transaction."""
    dedupe_key = (dedupe_key or "").strip()
    if dedupe_key:
        existing = Case.objects.filter(rule=rule, dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing, False
    if source not in Case.Source.values:
        raise ValidationError({"source": f"Unknown source {source!r}."})
    if not isinstance(sla_hours, int) or isinstance(sla_hours, bool) or not 1 <= sla_hours <= 24 * 90:
        raise ValidationError({"sla_hours": "Give the SLA in hours, from 1 to 2160 (90 days)."})
    if not (title or "").strip():
        raise ValidationError({"title": "Give the case a title."})
    _check_member(tenant, assignee, "assignee")
    _check_team(tenant, team)
    if contact is not None and client is None:
        client = contact.client
    now = now or timezone.now()
    case = Case(
        tenant=tenant, rule=rule, dedupe_key=dedupe_key, source=source, response=response, interaction=interaction, client=client,
        contact=contact, title=title.strip()[:200], description=(description or "").strip(), trigger_metric=trigger_metric or "",
        trigger_score=trigger_score, assignee=assignee, team=team, status=Status.OPEN, opened_at=now,
        due_at=now + timedelta(hours=sla_hours), opened_by=acting_member,
    )
    case.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:
        if not dedupe_key:
            raise
        # A concurrent evaluation of the same rule and row won the race: its case is the case.
        return Case.objects.get(rule=rule, dedupe_key=dedupe_key), False

    opener = f"rule “{rule.name}”" if rule is not None else _name(acting_member)
    body = f"Opened by {opener}: {case.title}. Assigned to {_assignment_words(case)}; due in {sla_hours} h."
    _event(tenant, case, body, author=acting_member)
    if rule is None:
        audit_event_record(tenant=tenant, acting_user=_user(acting_member), action="case.opened", target=case,
                           changes={"assignee": [None, _assignment_words(case)]})
    case_opened.send(sender=Case, tenant=tenant, case=case)
    notified = _notify_assignment(tenant, case, acting_member=acting_member)
    if notified:
        _event(tenant, case, f"E-mailed {', '.join(notified)}.")
    return case, True


# --- working a case -----------------------------------------------------------------------------

@transaction.atomic
def case_assign(*, tenant: Tenant, acting_member: Membership | None, case: Case, assignee: Membership | None = None,
                team: Team | None = None) -> Case:
    """Give the case to `assignee` (and/or put it in `team`'s queue; neither = unassigned). The new
    assignee (or the queue) is e-mailed, unless it is the acting member taking it."""
    _check_member(tenant, assignee, "assignee")
    _check_team(tenant, team)
    case = _locked(case)
    if not case.is_open:
        raise ValidationError("This case is closed: reopen it before assigning it.", code="case_closed")
    before = _assignment_words(case)
    if (case.assignee_id, case.team_id) == (getattr(assignee, "pk", None), getattr(team, "pk", None)):
        return case
    case.assignee, case.team = assignee, team
    case.full_clean(validate_unique=False, validate_constraints=False)
    case.save(update_fields=["assignee", "team", "updated_at"])
    after = _assignment_words(case)
    _event(tenant, case, f"Assigned to {after} by {_name(acting_member)} (was {before}).", author=acting_member)
    audit_event_record(tenant=tenant, acting_user=_user(acting_member), action="case.assigned", target=case,
                       changes={"assignee": [before, after]})
    notified = _notify_assignment(tenant, case, acting_member=acting_member)
    if notified:
        _event(tenant, case, f"E-mailed {', '.join(notified)}.")
    return case


@transaction.atomic
def case_start(*, tenant: Tenant, acting_member: Membership | None, case: Case) -> Case:
    """Open → in progress. An unassigned case is taken by the member who starts it."""
    case = _locked(case)
    _check_transition(case, Status.IN_PROGRESS)
    fields = ["status", "updated_at"]
    case.status = Status.IN_PROGRESS
    took = case.assignee_id is None and acting_member is not None and acting_member.is_active and acting_member.role in STAFF_AND_UP
    if took:
        case.assignee = acting_member
        fields.append("assignee")
    case.save(update_fields=fields)
    _event(tenant, case, f"Started by {_name(acting_member)}" + (" (took the case)." if took else "."), author=acting_member)
    return case


@transaction.atomic
def case_note_add(*, tenant: Tenant, acting_member: Membership | None, case: Case, body: str) -> CaseNote:
    """A member's note on the thread (any status)."""
    if case.tenant_id != tenant.pk:
        raise ValidationError({"case": "Not found."})
    if len(body or "") > 10_000:
        raise ValidationError({"body": "At most 10,000 characters."})
    note = CaseNote(tenant=tenant, case=case, kind=CaseNote.Kind.NOTE, author=acting_member, body=(body or "").strip())
    note.full_clean()
    note.save()
    Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())
    return note


def _recovery_refusal(reason: str, contact) -> str:
    who = contact.name if contact is not None else "the client"
    return {
        Invitation.SkipReason.OPTED_OUT: f"{who} opted out of surveys: no recovery survey can be sent.",
        Invitation.SkipReason.NO_EMAIL: f"{who} has no e-mail address: no recovery survey can be sent.",
        Invitation.SkipReason.SURVEY_CLOSED: "The recovery survey is not open (publish it or resume it first).",
        Invitation.SkipReason.CHURNED: "The client has churned: no recovery survey is sent to former clients.",
        Invitation.SkipReason.DUPLICATE: f"{who} already has an open invitation to this survey.",
    }.get(reason, f"The recovery survey cannot be sent ({reason}).")


def _recovery_invitation(*, tenant: Tenant, case: Case, survey: Survey, acting_member: Membership | None,
                         resolutions: int) -> Invitation:
    from apps.surveys.distribution.services import invitation_create, skip_reason

    contact = case.contact
    if contact is None:
        raise ValidationError({"send_recovery_survey": "This case has no contact to send a recovery survey to."})
    reason = skip_reason(tenant=tenant, survey=survey, contact=contact, client=contact.client, now=timezone.now(),
                         ignore_fatigue=True)
    if reason:
        raise ValidationError({"send_recovery_survey": _recovery_refusal(reason, contact)})
    # One recovery invitation per resolution: a retried resolve finds it by its dedupe key.
    invitation = invitation_create(tenant=tenant, survey=survey, contact=contact, source=Invitation.Source.RECOVERY,
                                   dedupe_key=f"recovery:{case.uuid}:{resolutions}", acting_member=acting_member)
    if invitation.status == Invitation.Status.SKIPPED:  # pragma: no cover - checked just above, in this transaction
        raise ValidationError({"send_recovery_survey": _recovery_refusal(invitation.skip_reason, contact)})
    return invitation


@transaction.atomic
def case_resolve(*, tenant: Tenant, acting_member: Membership | None, case: Case, root_cause: RootCause | None, action_taken: str,
                 send_recovery_survey: bool = False, recovery_survey: Survey | None = None) -> Case:
    """Resolve with an active root cause of the tenant and the action taken (else ValidationError,
    nothing written). With `send_recovery_survey`, invite the case's contact to the recovery survey
    (`recovery_survey`, else the rule's); a refusal (opted out, no e-mail, survey not open …) refuses
    the resolution with its reason."""
    case = _locked(case)
    _check_transition(case, Status.RESOLVED)
    errors = {}
    if root_cause is None or root_cause.tenant_id != tenant.pk:
        errors["root_cause"] = "Choose the root cause."
    elif not RootCause.objects.filter(pk=root_cause.pk, is_active=True).exists():
        errors["root_cause"] = "This root cause is archived: choose an active one."
    action_taken = (action_taken or "").strip()
    if not action_taken:
        errors["action_taken"] = "Say what was done."
    survey = None
    if send_recovery_survey:
        survey = recovery_survey or (case.rule.recovery_survey if case.rule_id else None)
        if survey is None:
            errors["recovery_survey"] = "Choose the recovery survey to send."
        elif survey.tenant_id != tenant.pk:
            errors["recovery_survey"] = "Not found."
    if errors:
        raise ValidationError(errors)

    now = timezone.now()
    if survey is not None:
        resolutions = Invitation.objects.filter(source=Invitation.Source.RECOVERY, dedupe_key__startswith=f"recovery:{case.uuid}:").count() + 1
        case.recovery_invitation = _recovery_invitation(tenant=tenant, case=case, survey=survey, acting_member=acting_member,
                                                        resolutions=resolutions)
    case.status, case.root_cause, case.action_taken = Status.RESOLVED, root_cause, action_taken
    case.resolved_at, case.resolved_by = now, acting_member
    case.full_clean(validate_unique=False, validate_constraints=False)
    case.save(update_fields=["status", "root_cause", "action_taken", "resolved_at", "resolved_by", "recovery_invitation", "updated_at"])
    _event(tenant, case, f"Resolved by {_name(acting_member)}. Root cause: {root_cause.name}. Action taken: {action_taken}",
           author=acting_member)
    if survey is not None:
        invitation = case.recovery_invitation
        _event(tenant, case, f"Recovery survey “{survey.name}” sent to {case.contact.name} <{invitation.email}>.")
    audit_event_record(tenant=tenant, acting_user=_user(acting_member), action="case.resolved", target=case,
                       changes={"status": ["open", Status.RESOLVED.value], "root_cause": [None, root_cause.name],
                                "recovery_survey": [None, survey.name if survey else None]})
    case_resolved.send(sender=Case, tenant=tenant, case=case)
    return case


@transaction.atomic
def case_close_wont_fix(*, tenant: Tenant, acting_member: Membership | None, case: Case, reason: str) -> Case:
    """Close without a fix; the reason is required and goes on the thread."""
    case = _locked(case)
    _check_transition(case, Status.WONT_FIX)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why nothing will be done."})
    before = case.status
    case.status = Status.WONT_FIX
    case.save(update_fields=["status", "updated_at"])
    _event(tenant, case, f"Closed as won't fix by {_name(acting_member)}: {reason}", author=acting_member)
    audit_event_record(tenant=tenant, acting_user=_user(acting_member), action="case.closed_wont_fix", target=case,
                       changes={"status": [before, Status.WONT_FIX.value], "reason": [None, reason[:200]]})
    return case


@transaction.atomic
def case_reopen(*, tenant: Tenant, acting_member: Membership | None, case: Case) -> Case:
    """A resolved or won't-fix case opens again with a fresh SLA of the same length; its resolution is
    cleared (the thread keeps it); a recovery survey already sent stays on the case."""
    case = _locked(case)
    _check_transition(case, Status.OPEN)
    before = case.status
    was = f" (was {case.get_status_display().lower()}"
    was += f": {case.root_cause.name} — {case.action_taken}" if case.root_cause_id else ""
    was += ")"
    now = timezone.now()
    sla = max(case.due_at - case.opened_at, timedelta(hours=1))
    case.status, case.root_cause, case.action_taken, case.resolved_at, case.resolved_by = Status.OPEN, None, "", None, None
    case.due_at, case.escalated_at = now + sla, None
    case.save(update_fields=["status", "root_cause", "action_taken", "resolved_at", "resolved_by", "due_at", "escalated_at",
                             "updated_at"])
    hours = int(sla.total_seconds() // 3600)
    _event(tenant, case, f"Reopened by {_name(acting_member)}{was}; due again in {hours} h.", author=acting_member)
    audit_event_record(tenant=tenant, acting_user=_user(acting_member), action="case.reopened", target=case,
                       changes={"status": [before, Status.OPEN.value]})
    return case


# --- escalation ---------------------------------------------------------------------------------

def escalation_recipients() -> list[Membership]:
    """Every active CX lead of the active tenant; the admins when there is none."""
    members = Membership.objects.filter(is_active=True).select_related("user").order_by("pk")
    leads = list(members.filter(role=Role.CX_LEAD))
    return leads or list(members.filter(role=Role.ADMIN))


@transaction.atomic
def cases_escalate_overdue(*, tenant: Tenant, now: datetime | None = None) -> int:
    """Escalate every open or in-progress case past its due time that was not escalated yet: e-mail
    each CX lead (admins when there is none) once, set escalated_at, note it on the thread.
    Rows are claimed with `select_for_update(skip_locked=True)`: two runs never escalate one case
    twice. Returns how many cases were escalated."""
    from apps.messaging.services import email_enqueue

    now = now or timezone.now()
    version = due_version(tenant.pk, ESCALATION_DUE)  # before looking at the rows (apps/tenancy/due.py)
    due = (Case.objects.select_for_update(skip_locked=True, of=("self",))
           .select_related("client", "assignee__user", "team")
           .filter(status__in=OPEN_STATUSES, due_at__lt=now, escalated_at__isnull=True).order_by("due_at", "pk"))
    cases = list(due[:ESCALATION_BATCH])
    due_settle(tenant.pk, ESCALATION_DUE, version, now if len(cases) >= ESCALATION_BATCH else
               Case.objects.filter(status__in=OPEN_STATUSES, escalated_at__isnull=True, due_at__gte=now)
               .aggregate(t=Min("due_at"))["t"])
    if not cases:
        return 0
    from apps.messaging.tasks import deliver_outbox
    from apps.tenancy.tasks import enqueue_on_commit

    recipients = [m for m in escalation_recipients() if m.user.email]
    for case in cases:
        case.escalated_at = now
        case.save(update_fields=["escalated_at", "updated_at"])
        for member in recipients:
            rendered = emails.render_case_escalated(tenant=tenant, case=case, recipient=member, now=now)
            # One escalation per SLA period: a reopened case (new due time) may escalate again.
            what = f"escalated-{int(case.due_at.timestamp())}"
            email_enqueue(tenant=tenant, kind=OutboundEmail.Kind.ESCALATION, to_email=member.user.email,
                          subject=rendered.subject, body_text=rendered.text, body_html=rendered.html,
                          message_id=emails.message_id(case, what, member), deliver=False)
        names = ", ".join(_name(m) for m in recipients) or "nobody (no CX lead or admin has an e-mail address)"
        _event(tenant, case, f"Overdue since {timezone.localtime(case.due_at, timezone=_tz(tenant)):%Y-%m-%d %H:%M}: "
                             f"escalated to {names}.")
        audit_event_record(tenant=tenant, acting_user=None, action="case.escalated", target=case,
                           changes={"escalated_to": [None, [m.user.email for m in recipients]]})
    if recipients:
        enqueue_on_commit(deliver_outbox, tenant.pk)
    return len(cases)


def _tz(tenant: Tenant):
    from zoneinfo import ZoneInfo

    return ZoneInfo(tenant.time_zone)
