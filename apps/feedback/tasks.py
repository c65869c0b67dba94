"""Feedback tasks: thin adapters over services/alerts.py and services/cases.py, and the beat fan-out
(CELERY_BEAT_SCHEDULE "escalate-overdue-cases", every five minutes). Idempotent: a rule opens one case
per row however often it is evaluated; an overdue case is escalated once (escalated_at)."""

from __future__ import annotations

from celery import shared_task
from django.utils.dateparse import parse_datetime

from apps.feedback.services import alerts, cases
from apps.tenancy.tasks import fan_out, tenant_task


@tenant_task()
def evaluate_response_rules(tenant, response_id: int) -> int:
    """Queued on commit of a counted response (apps/feedback/receivers.py). Returns cases opened."""
    return sum(created for _, created in alerts.alert_rules_evaluate_response(tenant=tenant, response_id=response_id))


@tenant_task()
def evaluate_interaction_rules(tenant, interaction_id: int) -> int:
    """Queued on commit of an interaction flagged for follow-up (apps/touchpoints/services.py)."""
    return sum(created for _, created in alerts.alert_rules_evaluate_interaction(tenant=tenant, interaction_id=interaction_id))


@tenant_task()
def escalate_overdue_cases(tenant, now: str | None = None) -> int:
    """E-mail the CX leads about cases past their due time (once each). `now`: an ISO time (tests)."""
    return cases.cases_escalate_overdue(tenant=tenant, now=parse_datetime(now) if now else None)


@shared_task
def fan_out_escalate_overdue_cases() -> int:
    return fan_out(escalate_overdue_cases)
