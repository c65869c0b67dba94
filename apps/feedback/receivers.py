"""Receivers of domain events (apps.core.events), connected in FeedbackConfig.ready().

A counted response queues the alert-rule evaluation once its transaction commits (the rules never
slow the respondent down; the task is idempotent). Only when the tenant has an active response rule:
one indexed query, no task for the many tenants without rules."""

from __future__ import annotations

from django.dispatch import receiver

from apps.core.events import response_created
from apps.feedback.models import AlertRule
from apps.tenancy.tasks import enqueue_on_commit


@receiver(response_created, dispatch_uid="feedback.evaluate_response_rules")
def queue_response_rules(sender, *, tenant, response, **kwargs) -> None:
    if response.is_bot:
        return
    if not AlertRule.objects.filter(is_active=True, trigger__in=AlertRule.RESPONSE_TRIGGERS).exists():
        return
    from apps.feedback.tasks import evaluate_response_rules

    enqueue_on_commit(evaluate_response_rules, tenant.pk, response.pk)
