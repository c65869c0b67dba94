"""Receivers of domain events (apps.core.events), connected in FeedbackConfig.ready().

A counted response, or an interaction flagged for follow-up, queues the alert-rule evaluation once
its transaction commits (the rules never slow the respondent or the staff member down; the tasks are
idempotent). Only when the tenant has an active rule of that kind: one indexed query, no task for the
many tenants without rules."""

from __future__ import annotations

from django.dispatch import receiver

from apps.core.events import churn_risk_scored, interaction_follow_up_flagged, response_changed, response_created
from apps.feedback.models import AlertRule
from apps.tenancy.tasks import enqueue_on_commit


@receiver(response_created, dispatch_uid="feedback.evaluate_response_rules")
@receiver(response_changed, dispatch_uid="feedback.evaluate_changed_response_rules")
def queue_response_rules(sender, *, tenant, response, **kwargs) -> None:
    """A new response, or one recorded from an e-mail click and then changed or completed: the response rules look at
    it (each rule opens at most one case per response, so a rule that matched the click does not match again)."""
    if response.is_bot:
        return
    if not AlertRule.objects.filter(is_active=True, trigger__in=AlertRule.RESPONSE_TRIGGERS).exists():
        return
    from apps.feedback.tasks import evaluate_response_rules

    enqueue_on_commit(evaluate_response_rules, tenant.pk, response.pk)


@receiver(interaction_follow_up_flagged, dispatch_uid="feedback.evaluate_interaction_rules")
def queue_interaction_rules(sender, *, tenant, interaction, **kwargs) -> None:
    if not AlertRule.objects.filter(is_active=True, trigger=AlertRule.Trigger.INTERACTION_FOLLOW_UP).exists():
        return
    from apps.feedback.tasks import evaluate_interaction_rules

    enqueue_on_commit(evaluate_interaction_rules, tenant.pk, interaction.pk)


@receiver(churn_risk_scored, dispatch_uid="feedback.evaluate_churn_risk_rules")
def evaluate_churn_risk_rules(sender, *, tenant, changes, **kwargs) -> int:
    """Churn-risk alert rules (alerts/evaluation.py): evaluate the clients whose score crossed an active
    rule's threshold upward in this refresh (previous < threshold ≤ new), in the refresh's transaction.
    Returns how many cases were opened."""
    from apps.feedback.alerts.evaluation import alert_rules_evaluate_client_risk, churn_risk_thresholds, crossed

    thresholds = churn_risk_thresholds()
    if not thresholds:
        return 0
    opened = 0
    for client_id, before, score in changes:
        if any(crossed(before, score, t) for t in thresholds):
            results = alert_rules_evaluate_client_risk(tenant=tenant, client_id=client_id, previous_score=before, score=score)
            opened += sum(created for _, created in results)
    return opened
