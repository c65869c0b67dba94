"""Action plans write (issue 8 item 5): create (measuring the baseline), update, cancel, link and unlink
cases, and the daily close of plans past their due date.

The baseline is measured once, when the plan is created, over a window before its start (default the
previous 90 days, apps.feedback.plans.selectors.default_baseline_window), and stored with the merged
bucket's sufficient statistics (`baseline_bucket`): later z-tests against the baseline never re-read
history, and the baseline never changes (update refuses to touch it).

A target on the wrong side of the baseline is refused: a plan sets out to IMPROVE the metric (for NPS,
CSAT and CES higher is better), so a target at or below the baseline's value would be "reached" on the
day it is set and would measure nothing. Without a baseline value (no answers in the window) any target
on the metric's scale is accepted — the page says there is no baseline to compare with.

Closing (`action_plans_close_due`, beat, daily): an active plan whose due date has passed (the due day
is counted in full, so it closes the day after) is frozen — final value, interval and n over
starts_on..due_on — and set `met` when the final point estimate is at or beyond the target, else
`missed` (no answers at all: missed). Whether it was met *significantly* is read from the frozen
interval on the page. Running it twice changes nothing the second time (only active plans are closed,
each under a row lock).
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.dates import local_today
from apps.feedback.models import ActionPlan, ActionPlanCase, Case
from apps.feedback.plans.selectors import (
    DEFAULT_BASELINE_DAYS,
    SCOPES,
    baseline_measure,
    default_baseline_window,
    metric_block,
    plan_scope,
    scope_buckets,
    scope_filters,
)
from apps.tenancy.services import audit_event_record

UPDATABLE = ("title", "description", "target_value", "due_on", "owner")


def _user(member):
    return getattr(member, "user", None)


def _check_target(plan: ActionPlan) -> None:
    if plan.baseline_value is not None and plan.target_value is not None and plan.target_value <= plan.baseline_value:
        raise ValidationError({"target_value": (
            f"The target must be above the baseline ({plan.baseline_value:g}): a plan sets out to improve "
            f"{plan.get_metric_display()}, and a target already reached measures nothing.")})


@transaction.atomic
def action_plan_create(*, tenant, acting_member, title: str, metric: str, target_value: float, due_on: date,
                       description: str = "", owner=None, touchpoint=None, stage=None, journey=None, segment=None, survey=None,
                       baseline_days: int = DEFAULT_BASELINE_DAYS, baseline_first: date | None = None,
                       baseline_last: date | None = None, today: date | None = None) -> ActionPlan:
    """A new active plan starting today (tenant-local) with its baseline measured now: over
    baseline_first..baseline_last if given, else the `baseline_days` days before today."""
    today = today or local_today(tenant.time_zone)
    if baseline_first is None or baseline_last is None:
        baseline_first, baseline_last = default_baseline_window(tenant, days=baseline_days, today=today)
    errors = {}
    if baseline_first > baseline_last:
        errors["baseline_first"] = "The baseline window's first day is after its last."
    elif baseline_last >= today:
        errors["baseline_last"] = "The baseline is measured before the plan starts (before today)."
    if metric not in ActionPlan.Metric.values:
        errors["metric"] = "Choose NPS, CSAT or CES."
    if errors:
        raise ValidationError(errors)
    plan = ActionPlan(tenant=tenant, title=title, description=description, metric=metric, touchpoint=touchpoint, stage=stage,
                      journey=journey, segment=segment, survey=survey, baseline_first=baseline_first, baseline_last=baseline_last,
                      target_value=target_value, starts_on=today, due_on=due_on, owner=owner, created_by=acting_member)
    plan.full_clean(exclude=["baseline_bucket"])  # scope rows of this tenant, target on the scale, due after the start (the bucket comes next)
    scope = {name: getattr(plan, f"{name}_id") for name in SCOPES}
    baseline = baseline_measure(tenant, metric=metric, scope=scope, first=baseline_first, last=baseline_last)
    plan.baseline_value, plan.baseline_low, plan.baseline_high = baseline.value, baseline.low, baseline.high
    plan.baseline_n, plan.baseline_bucket = baseline.n, baseline.bucket
    _check_target(plan)
    plan.save()
    audit_event_record(tenant=tenant, acting_user=_user(acting_member), action="action_plan.created", target=plan,
                       changes={"metric": metric, "target_value": target_value, "due_on": due_on.isoformat(),
                                "baseline_value": baseline.value, "baseline_n": baseline.n})
    return plan


def _active(plan: ActionPlan, verb: str) -> None:
    if plan.status != ActionPlan.Status.ACTIVE:
        raise ValidationError(f"A {plan.get_status_display().lower()} plan cannot be {verb}.")


@transaction.atomic
def action_plan_update(*, tenant, acting_member, plan: ActionPlan, **changes) -> ActionPlan:
    """Change the title, description, target, due date or owner of an active plan. The metric, scope and
    baseline never change (a different goal is a new plan)."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise ValidationError({name: "This cannot be changed on a plan; create a new plan instead." for name in sorted(unknown)})
    plan = ActionPlan.objects.select_for_update().get(pk=plan.pk)
    _active(plan, "changed")
    before = {name: getattr(plan, name) for name in changes}
    for name, value in changes.items():
        setattr(plan, name, value)
    plan.full_clean(exclude=["baseline_bucket"])  # the baseline is not edited (an empty one: no answers were counted)
    _check_target(plan)
    if "due_on" in changes and plan.due_on < local_today(tenant.time_zone):
        raise ValidationError({"due_on": "The due date cannot be in the past."})
    plan.save()
    diff = {name: [str(before[name]), str(getattr(plan, name))] for name in changes if before[name] != getattr(plan, name)}
    if diff:
        audit_event_record(tenant=tenant, acting_user=_user(acting_member), action="action_plan.updated", target=plan, changes=diff)
    return plan


@transaction.atomic
def action_plan_cancel(*, tenant, acting_member, plan: ActionPlan, reason: str = "") -> ActionPlan:
    plan = ActionPlan.objects.select_for_update().get(pk=plan.pk)
    _active(plan, "cancelled")
    plan.status = ActionPlan.Status.CANCELLED
    plan.closed_at = timezone.now()
    plan.save(update_fields=["status", "closed_at", "updated_at"])
    audit_event_record(tenant=tenant, acting_user=_user(acting_member), action="action_plan.cancelled", target=plan,
                       changes={"reason": reason[:200]} if reason else {})
    return plan


@transaction.atomic
def action_plan_link_case(*, tenant, acting_member, plan: ActionPlan, case: Case) -> bool:
    """Link a case of this workspace to the plan; True if newly linked (linking twice is a no-op)."""
    if plan.tenant_id != tenant.pk or case.tenant_id != tenant.pk:
        raise ValidationError({"case": "No case with this id in this workspace."})
    if plan.status == ActionPlan.Status.CANCELLED:
        raise ValidationError("A cancelled plan cannot be changed.")
    link, created = ActionPlanCase.objects.get_or_create(tenant=tenant, plan=plan, case=case)
    if created:
        link.full_clean()
        audit_event_record(tenant=tenant, acting_user=_user(acting_member), action="action_plan.case_linked", target=plan,
                           changes={"case": str(case.uuid)})
    return created


@transaction.atomic
def action_plan_unlink_case(*, tenant, acting_member, plan: ActionPlan, case: Case) -> bool:
    deleted, _ = ActionPlanCase.objects.filter(plan=plan, case=case).delete()
    if deleted:
        audit_event_record(tenant=tenant, acting_user=_user(acting_member), action="action_plan.case_unlinked", target=plan,
                           changes={"case": str(case.uuid)})
    return bool(deleted)


def action_plans_close_due(*, tenant, today: date | None = None) -> int:
    """Freeze and close every active plan whose due date has passed (module docstring). Returns how
    many were closed now; a second run returns 0."""
    today = today or local_today(tenant.time_zone)
    closed = 0
    due_ids = list(ActionPlan.objects.filter(status=ActionPlan.Status.ACTIVE, due_on__lt=today).values_list("pk", flat=True))
    for pk in due_ids:
        with transaction.atomic():
            plan = ActionPlan.objects.select_for_update().filter(pk=pk, status=ActionPlan.Status.ACTIVE).first()
            if plan is None:  # closed or cancelled meanwhile
                continue
            bucket = scope_buckets([scope_filters(plan_scope(plan), plan.starts_on, plan.due_on)])[0]
            block = metric_block(tenant, plan.metric, bucket)
            plan.final_value, plan.final_low, plan.final_high, plan.final_n = block["value"], block["ci_low"], block["ci_high"], block["n"]
            met = block["value"] is not None and block["value"] >= plan.target_value
            plan.status = ActionPlan.Status.MET if met else ActionPlan.Status.MISSED
            plan.closed_at = timezone.now()
            plan.save(update_fields=["final_value", "final_low", "final_high", "final_n", "status", "closed_at", "updated_at"])
            audit_event_record(tenant=tenant, acting_user=None, action=f"action_plan.{plan.status}", target=plan,
                               changes={"final_value": plan.final_value, "final_n": plan.final_n, "target_value": plan.target_value})
            closed += 1
    return closed
