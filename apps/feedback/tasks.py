"""Feedback's Celery tasks (every app keeps its tasks in `<app>/tasks.py`, found by autodiscovery): thin
adapters over the parts' services, and the beat fan-outs. Idempotent: a rule opens one case per row
however often it is evaluated; an overdue case is escalated once (escalated_at); a plan is closed once;
the audit e-mail's Message-ID is its business key.

- alert rules (rules/evaluation.py), queued on commit by receivers.py;
- "escalate-overdue-cases", every five minutes (cases/services.py);
- daily: close the plans whose due date has passed (plans/services.py);
- on 1 January and 1 July: tell the CX leads and admins the six-monthly journey audits are ready
  (audits/services.py).

The plan and audit tasks keep the names they had in apps/feedback/plan_tasks.py, so queued messages and
the beat schedule still reach them."""

from __future__ import annotations

from celery import shared_task
from django.utils.dateparse import parse_datetime

from apps.feedback.alerts import evaluation as alerts
from apps.feedback.cases import services as cases
from apps.feedback.models import ESCALATION_DUE
from apps.tenancy.tasks import fan_out, fan_out_due, tenant_task


@tenant_task()
def evaluate_response_rules(tenant, response_id: int) -> int:
    """Queued on commit of a counted response (apps/feedback/receivers.py). Returns cases opened."""
    return sum(created for _, created in alerts.alert_rules_evaluate_response(tenant=tenant, response_id=response_id))


@tenant_task()
def evaluate_interaction_rules(tenant, interaction_id: int) -> int:
    """Queued on commit of an interaction flagged for follow-up (apps/touchpoints/interactions/services.py)."""
    return sum(created for _, created in alerts.alert_rules_evaluate_interaction(tenant=tenant, interaction_id=interaction_id))


@tenant_task()
def escalate_overdue_cases(tenant, now: str | None = None) -> int:
    """E-mail the CX leads about cases past their due time (once each). `now`: an ISO time (tests)."""
    return cases.cases_escalate_overdue(tenant=tenant, now=parse_datetime(now) if now else None)


@shared_task
def fan_out_escalate_overdue_cases() -> int:
    """Every five minutes: the tenants with a case fallen overdue (none when all is quiet) escalate it."""
    return fan_out_due(ESCALATION_DUE, escalate_overdue_cases)


# --- action plans and the experience audit (names kept from apps/feedback/plan_tasks.py) -----------

@tenant_task(name="apps.feedback.plan_tasks.action_plans_close_due_task")
def action_plans_close_due_task(tenant) -> int:
    from apps.feedback.plans.services import action_plans_close_due

    return action_plans_close_due(tenant=tenant)


@shared_task(name="apps.feedback.plan_tasks.fan_out_close_due_plans")
def fan_out_close_due_plans() -> int:
    return fan_out(action_plans_close_due_task)


@tenant_task(name="apps.feedback.plan_tasks.audits_ready_notify_task")
def audits_ready_notify_task(tenant) -> int:
    from apps.feedback.audits.services import audits_ready_notify

    return audits_ready_notify(tenant)


@shared_task(name="apps.feedback.plan_tasks.fan_out_audits_ready")
def fan_out_audits_ready() -> int:
    return fan_out(audits_ready_notify_task)
