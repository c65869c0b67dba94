"""Demo: closing the loop (issue 8) — root causes, three alert rules, and the cases those rules would
have opened on the last weeks' detractors and flagged follow-ups, worked the way a team works them:
most resolved with a root cause and an action (some late), a few closed as won't fix, a few still
open and overdue (escalated to the CX lead), the newest just opened. Resolved NPS cases often sent
the short recovery survey, and many clients answered it (mostly won back), so the recovery dashboard
has data.

Everything goes through the real services (`alert_rules_evaluate_*`, `case_*`, `response_submit`) with
the history's times stamped afterwards (notes, resolution, invitations), so the rows are exactly what
the product writes. Once per tenant: a tenant with root causes is left alone. The e-mails the services
wrote to the outbox (case notifications, escalations) are marked sent — history, not news to deliver.
"""

from __future__ import annotations

import random
import secrets
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import Count, F, Max, Q

from apps.feedback.alerts import evaluation as alerts
from apps.feedback.cases import services as cases
from apps.feedback.models import AlertRule, Case, CaseNote, RootCause
from apps.messaging.models import OutboundEmail
from apps.surveys.builder import services as builder
from apps.surveys.distribution.services import invitation_token, token_hash
from apps.surveys.models import Invitation, QuestionType, Response, Survey
from apps.surveys.respond.services import response_submit
from apps.tenancy.models import Membership, Role, Tenant
from apps.touchpoints.models import Interaction

ROOT_CAUSES = [
    ("Slow response", "We answered or acted later than the client needed."),
    ("Billing error", "An invoice, price or credit was wrong."),
    ("Product defect", "The product or deliverable did not work as promised."),
    ("Staff attitude", "The way we spoke to or treated the client."),
    ("Process unclear", "The client did not know what happens next or what we need."),
]
CAUSE_WEIGHTS = [34, 22, 16, 10, 18]
ACTIONS = {
    "Slow response": ["Called the client the same day, apologised and agreed a callback time.",
                      "Escalated to the team lead and answered the open question in full."],
    "Billing error": ["Corrected the invoice and credited the difference.", "Refunded the duplicate charge and explained the fix."],
    "Product defect": ["Fixed the deliverable and walked the client through it.", "Logged the defect and sent a workaround the same week."],
    "Staff attitude": ["The team lead called to apologise; coached the staff member.", "Apologised in person and assigned a new contact."],
    "Process unclear": ["Sent a written summary of the next steps and dates.", "Walked the client through the process on a call."],
}
RECOVERY_COMMENTS = {
    True: ["Thanks for calling back so quickly.", "Sorted now, appreciated.", "Much better, thank you for fixing it."],
    False: ["Still waiting for a proper answer.", "Fixed, but it took too long.", "Not convinced yet."],
}
DETRACTOR_DAYS = 35
FOLLOW_UP_DAYS = 21
MAX_RESPONSE_CASES = 48
MAX_FOLLOW_UP_CASES = 12


def feedback_counts() -> dict[str, int]:
    return {"cases": Case.objects.count(), "cases_open": Case.objects.filter(status__in=cases.OPEN_STATUSES).count(),
            "root_causes": RootCause.objects.count()}


def seed_feedback(*, tenant: Tenant, spec, today) -> dict[str, int]:
    """Seed the tenant's loop (once; module docstring). Runs with the tenant active, after the surveys."""
    if RootCause.objects.exists() or not Response.objects.exists():
        return feedback_counts()
    rng = random.Random(f"{spec.seed}:feedback")
    now = datetime.combine(today, time(7, 0), tzinfo=ZoneInfo(tenant.time_zone))
    members = list(Membership.objects.filter(is_active=True).select_related("user").order_by("pk"))
    lead = next((m for m in members if m.role == Role.CX_LEAD), None) or next(m for m in members if m.role == Role.ADMIN)

    causes = []
    for name, description in ROOT_CAUSES:
        cause = RootCause(tenant=tenant, name=name, description=description)
        cause.full_clean()
        cause.save()
        causes.append(cause)
    recovery = _recovery_survey(tenant, now, spec.slug)
    rules = [
        AlertRule(tenant=tenant, name="Detractors to the client owner", trigger=AlertRule.Trigger.NPS_AT_MOST, threshold=6,
                  assign_to=AlertRule.AssignTo.CLIENT_OWNER, assignee=lead, sla_hours=48, recovery_survey=recovery),
        AlertRule(tenant=tenant, name="Very dissatisfied (CSAT 1–2)", trigger=AlertRule.Trigger.CSAT_AT_MOST, threshold=2,
                  assign_to=AlertRule.AssignTo.MEMBER, assignee=lead, sla_hours=24),
        AlertRule(tenant=tenant, name="Follow-ups flagged by staff", trigger=AlertRule.Trigger.INTERACTION_FOLLOW_UP, threshold=0,
                  assign_to=AlertRule.AssignTo.STAFF, assignee=lead, sla_hours=72),
    ]
    for rule in rules:
        rule.full_clean()
        rule.save()

    # The rules fire on the recent detractors and follow-ups, as the worker would have (minutes later).
    detractors = list(Response.objects.filter(is_bot=False, contact__isnull=False, submitted_at__gte=now - timedelta(days=DETRACTOR_DAYS),
                                              submitted_at__lt=now).filter(Q(nps__lte=6) | Q(csat__lte=2))
                      .order_by("-submitted_at", "-pk").values_list("pk", "submitted_at")[:MAX_RESPONSE_CASES])
    for pk, submitted_at in sorted(detractors, key=lambda row: (row[1], row[0])):
        mark = _mark()
        for case, created in alerts.alert_rules_evaluate_response(tenant=tenant, response_id=pk,
                                                                  now=submitted_at + timedelta(minutes=rng.randint(2, 15))):
            if created:
                _stamp(case, mark, case.opened_at)
    follow_ups = list(Interaction.objects.filter(follow_up=True, follow_up_done_at__isnull=True, occurred_at__lt=now,
                                                 occurred_at__gte=now - timedelta(days=FOLLOW_UP_DAYS))
                      .order_by("-occurred_at", "-pk").values_list("pk", "occurred_at")[:MAX_FOLLOW_UP_CASES])
    for pk, occurred_at in sorted(follow_ups, key=lambda row: (row[1], row[0])):
        mark = _mark()
        for case, created in alerts.alert_rules_evaluate_interaction(tenant=tenant, interaction_id=pk,
                                                                     now=occurred_at + timedelta(minutes=5)):
            if created:
                _stamp(case, mark, case.opened_at)

    every_case = list(Case.objects.select_related("assignee__user", "contact", "rule").order_by("opened_at", "pk"))
    # One late case is always left as it was, whatever the random rolls give: the demo always shows an overdue case
    # escalated to the CX lead (with ~15 older cases and a 10% chance each, some runs had none).
    late = [case for case in every_case if case.due_at < now - timedelta(hours=1) and now - case.opened_at >= timedelta(days=2)]
    forgotten = late[-1].pk if late else None
    for case in every_case:
        if case.pk != forgotten:
            _work(tenant, case, rng=rng, now=now, lead=lead, causes=causes)

    mark = _mark()
    cases.cases_escalate_overdue(tenant=tenant, now=now)
    CaseNote.objects.filter(pk__gt=mark).update(created_at=now)
    OutboundEmail.objects.filter(kind__in=[OutboundEmail.Kind.CASE, OutboundEmail.Kind.ESCALATION],
                                 status=OutboundEmail.Status.PENDING).update(
        status=OutboundEmail.Status.SENT, sent_at=F("created_at"), next_attempt_at=None, attempts=1)
    return feedback_counts()


def _recovery_survey(tenant: Tenant, now: datetime, spec_slug: str) -> Survey:
    from apps.demo.surveys import PLANS

    second = PLANS[spec_slug][0] if spec_slug in PLANS else None
    survey = builder.survey_create(tenant=tenant, acting_user=None, name="After your complaint", kind="nps",
                                   languages=["en", second] if second else ["en"], default_language="en")
    version = builder.survey_publish(tenant=tenant, acting_user=None, survey=survey)
    started = now - timedelta(days=120)
    Survey.objects.filter(pk=survey.pk).update(created_at=started)
    version.__class__.objects.filter(pk=version.pk).update(published_at=started, created_at=started)
    survey.refresh_from_db()
    return survey


def _mark() -> int:
    return CaseNote.objects.aggregate(m=Max("pk"))["m"] or 0


def _stamp(case: Case, mark: int, moment: datetime) -> None:
    """Date the thread entries the last service call wrote (after `mark`) at the history's moment."""
    CaseNote.objects.filter(case=case, pk__gt=mark).update(created_at=moment)


def _work(tenant: Tenant, case: Case, *, rng: random.Random, now: datetime, lead: Membership, causes: list[RootCause]) -> None:
    """What the team did with one case, by its age: the newest stay open, most others are resolved."""
    worker = case.assignee or lead
    age = now - case.opened_at
    roll = rng.random()
    if age < timedelta(days=2):
        if roll < 0.5:
            mark = _mark()
            cases.case_start(tenant=tenant, acting_member=worker, case=case)
            _stamp(case, mark, case.opened_at + timedelta(hours=rng.randint(1, 6)))
        return
    if roll < 0.1:
        return  # forgotten: overdue, escalated below
    if roll < 0.16:
        mark = _mark()
        cases.case_close_wont_fix(tenant=tenant, acting_member=lead, case=case,
                                  reason="Duplicate of another case for the same client." if roll < 0.13 else
                                  "The client asked us not to follow up.")
        _stamp(case, mark, case.opened_at + timedelta(hours=rng.randint(3, 30)))
        return
    resolved_at = case.opened_at + timedelta(hours=rng.choice([3, 6, 10, 20, 30, 44, 60, 80]) + rng.random())
    if resolved_at >= now:
        return
    mark = _mark()
    started = case.opened_at + (resolved_at - case.opened_at) / 3
    cases.case_start(tenant=tenant, acting_member=worker, case=case)
    _stamp(case, mark, started)
    cause = rng.choices(causes, weights=CAUSE_WEIGHTS)[0]
    action = rng.choice(ACTIONS[cause.name])
    wants_recovery = case.trigger_metric == "nps" and case.rule is not None and case.rule.recovery_survey_id and rng.random() < 0.9
    mark = _mark()
    try:
        resolved = cases.case_resolve(tenant=tenant, acting_member=worker, case=case, root_cause=cause, action_taken=action,
                                      send_recovery_survey=bool(wants_recovery))
    except ValidationError:  # opted out, no e-mail, already invited …: resolved without the survey
        resolved = cases.case_resolve(tenant=tenant, acting_member=worker, case=case, root_cause=cause, action_taken=action)
    Case.objects.filter(pk=case.pk).update(resolved_at=resolved_at, updated_at=resolved_at)
    _stamp(case, mark, resolved_at)
    if resolved.recovery_invitation_id:
        _recovery_answer(tenant, resolved, rng=rng, sent_at=resolved_at, now=now)


def _recovery_answer(tenant: Tenant, case: Case, *, rng: random.Random, sent_at: datetime, now: datetime) -> None:
    """The recovery invitation as sent at resolution; most clients answer within a few days, mostly won back."""
    invitation = Invitation.objects.select_related("version").get(pk=case.recovery_invitation_id)
    invitation.token_salt = secrets.token_urlsafe(32)
    invitation.token_hash = token_hash(invitation_token(invitation))
    invitation.status, invitation.sent_at, invitation.send_after = Invitation.Status.SENT, sent_at, sent_at
    invitation.expires_at = sent_at + timedelta(days=invitation.survey.invitation_valid_days)
    invitation.save(update_fields=["token_salt", "token_hash", "status", "sent_at", "send_after", "expires_at", "updated_at"])
    answered_at = sent_at + timedelta(hours=rng.randint(2, 96))
    if rng.random() > 0.85 or answered_at >= now:
        return
    recovered = rng.random() < 0.68
    score = rng.randint(7, 10) if recovered else rng.randint(max(0, (case.trigger_score or 0) - 1), 6)
    questions = list(invitation.version.questions.order_by("order"))
    scored = next(q.key for q in questions if q.type == QuestionType.NPS)
    answers = {scored: score}
    text = next((q.key for q in questions if q.type == QuestionType.TEXT), None)
    if text and rng.random() < 0.6:
        answers[text] = rng.choice(RECOVERY_COMMENTS[recovered])
    response, _ = response_submit(tenant=tenant, version=invitation.version, answers=answers, channel=Response.Channel.EMAIL,
                                  language=invitation.language, invitation=invitation, submitted_at=answered_at)
    # The rules see the recovery answer now (the on-commit task then finds nothing left to do).
    mark = _mark()
    for new_case, created in alerts.alert_rules_evaluate_response(tenant=tenant, response_id=response.pk,
                                                                  now=answered_at + timedelta(minutes=5)):
        if created:
            _stamp(new_case, mark, new_case.opened_at)


def seed_action_plans(*, tenant: Tenant, today) -> int:
    """Three action plans through the real service, once the rollups exist (their baselines are measured
    from them): one closed in the past (met or missed as the data says), two running — CSAT at the
    touchpoint with the most CSAT answers, and NPS over the first journey — each with a target above its
    baseline and the open cases of its scope linked. The lead subscribes to the weekly digest. Idempotent."""
    from apps.digests.services import digest_preferences_update
    from apps.feedback.models import ActionPlan
    from apps.feedback.plans import services as plans
    from apps.feedback.plans.selectors import SCOPES, baseline_measure
    from apps.journeys.models import Journey

    if ActionPlan.objects.exists():
        return ActionPlan.objects.count()
    members = list(Membership.objects.filter(is_active=True).select_related("user").order_by("pk"))
    lead = next((m for m in members if m.role == Role.CX_LEAD), None) or next(m for m in members if m.role == Role.ADMIN)
    touchpoint_id = (Response.objects.filter(is_bot=False, csat__isnull=False, touchpoint__isnull=False)
                     .values("touchpoint").annotate(n=Count("pk")).order_by("-n").values_list("touchpoint", flat=True).first())
    journey = Journey.objects.order_by("pk").first()
    wanted = []
    if touchpoint_id:
        from apps.touchpoints.models import Touchpoint

        touchpoint = Touchpoint.objects.get(pk=touchpoint_id)
        wanted.append(dict(title=f"Lift CSAT at {touchpoint.name}", metric=ActionPlan.Metric.CSAT, touchpoint=touchpoint, step=8,
                           description="Call back every dissatisfied client within a day; fix the top root cause."))
    if journey is not None:
        wanted.append(dict(title=f"Fewer detractors in {journey.name}", metric=ActionPlan.Metric.NPS, journey=journey, step=10,
                           description="Review every detractor case weekly with the journey's owners."))
    made = 0
    for n, spec in enumerate(wanted):
        step = spec.pop("step")
        past = n == 0  # the first also ran once before, for a closed plan
        for start in ([today - timedelta(days=200)] if past else []) + [today]:
            window = dict(baseline_first=start - timedelta(days=90), baseline_last=start - timedelta(days=1))
            baseline = baseline_measure(tenant, metric=spec["metric"], scope={k: getattr(spec.get(k), "pk", None) for k in SCOPES},
                                        first=window["baseline_first"], last=window["baseline_last"])
            if baseline.value is None:
                continue
            high = 100 if spec["metric"] != ActionPlan.Metric.CES else 7
            target = min(high, round(baseline.value + step))
            if target <= baseline.value:
                continue
            plan = plans.action_plan_create(tenant=tenant, acting_member=lead, owner=lead, target_value=target,
                                            due_on=start + timedelta(days=90 if start != today else 120), today=start, **window, **spec)
            made += 1
            scope_cases = Case.objects.filter(status__in=cases.OPEN_STATUSES)
            scope_cases = scope_cases.filter(response__touchpoint=spec["touchpoint"]) if "touchpoint" in spec else \
                scope_cases.filter(response__journey=spec["journey"])
            for case in scope_cases.order_by("pk")[:3]:
                plans.action_plan_link_case(tenant=tenant, acting_member=lead, plan=plan, case=case)
    plans.action_plans_close_due(tenant=tenant, today=today)
    digest_preferences_update(tenant=tenant, membership=lead, daily=False, weekly=True)
    return made
