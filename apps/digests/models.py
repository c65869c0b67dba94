"""Digests (issue 8 item 6): a member's opt-in to a daily or weekly e-mail, and the log of what was
sent (one row per member and period: the unique key keeps a retried run from sending twice)."""

from __future__ import annotations

from django.db import models

from apps.core.models import TimeStampedModel
from apps.tenancy.keys import TenantForeignKey
from apps.tenancy.models import Membership, TenantScopedModel


class Frequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly (Mondays)"


class DigestSubscription(TenantScopedModel, TimeStampedModel):
    membership = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="digest_subscriptions")
    frequency = models.CharField(max_length=8, choices=Frequency.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["membership_id", "frequency"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "membership", "frequency"], name="digests_subscription_unique"),
        ]

    def clean(self):
        self.validate_same_tenant("membership")


class DigestSend(TenantScopedModel):
    """One digest period for one member: sent (with its outbox row) or skipped because there was nothing to say."""

    class Outcome(models.TextChoices):
        SENT = "sent", "Sent"
        NOTHING = "nothing", "Nothing to say: not sent"

    membership = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    frequency = models.CharField(max_length=8, choices=Frequency.choices)
    period_first = models.DateField()
    period_last = models.DateField()
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    outbound_email = TenantForeignKey("messaging.OutboundEmail", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    summary = models.JSONField(default=dict, help_text="What the digest said (counts of items per section).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_last", "-id"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "membership", "frequency", "period_last"], name="digests_send_once"),
        ]
