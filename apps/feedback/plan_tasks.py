"""Beat jobs of action plans and the experience audit (thin adapters over apps.feedback.services.plans and
apps.feedback.selectors.audit; registered with the worker through CELERY_IMPORTS, cxm/settings/base.py).

- daily: close the plans whose due date has passed (met / missed, values frozen) — idempotent;
- on 1 January and 1 July: tell the CX leads and admins that the six-monthly journey audits are ready
  (one DIGEST e-mail per member and half-year: the message id is the business key, a rerun sends nothing new).
"""

from __future__ import annotations

from celery import shared_task

from apps.tenancy.tasks import fan_out, tenant_task


@tenant_task()
def action_plans_close_due_task(tenant) -> int:
    from apps.feedback.services.plans import action_plans_close_due

    return action_plans_close_due(tenant=tenant)


@shared_task
def fan_out_close_due_plans() -> int:
    return fan_out(action_plans_close_due_task)


@tenant_task()
def audits_ready_notify_task(tenant) -> int:
    from apps.feedback.services.audits import audits_ready_notify

    return audits_ready_notify(tenant)


@shared_task
def fan_out_audits_ready() -> int:
    return fan_out(audits_ready_notify_task)
