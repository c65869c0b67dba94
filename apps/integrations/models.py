"""Outgoing webhooks (issue 8 item 7): endpoints registered by admins, and a delivery log.

Each event is one `WebhookDelivery` per subscribed endpoint (unique on the event id, so emitting an
event twice never delivers twice), signed the Standard Webhooks way at send time, retried with
exponential backoff; every try is a `WebhookAttempt` row (the delivery log admins read).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from apps.core.models import TimeStampedModel
from apps.tenancy.keys import TenantForeignKey
from apps.tenancy.models import Membership, TenantScopedModel

EVENT_TYPES = (
    ("response.created", "A survey response was submitted"),
    ("case.opened", "A follow-up case was opened"),
    ("case.resolved", "A follow-up case was resolved"),
)


class WebhookEndpoint(TenantScopedModel, TimeStampedModel):
    class Kind(models.TextChoices):
        STANDARD = "standard", "Standard Webhooks (signed JSON)"
        SLACK = "slack", "Slack incoming webhook (detractor alerts)"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STANDARD)
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="Event types delivered, e.g. [\"case.opened\"].")
    secret = models.CharField(max_length=100, editable=False,
                              help_text="whsec_<base64>: the signing key (Standard Webhooks). Shown to admins to verify signatures.")
    is_active = models.BooleanField(default=True)
    created_by = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = TenantScopedModel.Meta.constraints

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(TenantScopedModel, TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    endpoint = TenantForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=40)
    event_id = models.CharField(max_length=64, help_text="The webhook-id header: msg_<…>, stable across retries.")
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Set on every pending row (a new row is due at once), empty once sent or failed: the due query is then
    # one range on the (tenant, status, next_attempt_at) index, not an OR over NULL that reads every pending row.
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "endpoint", "event_id"], name="integrations_delivery_once"),
        ]
        indexes = [models.Index(fields=["tenant", "status", "next_attempt_at"], name="integrations_delivery_due")]

    @property
    def error_detail(self) -> str:
        """The last error, unless it only repeats the status code shown beside it."""
        return _error_detail(self.last_error, self.last_status_code)


class WebhookAttempt(TenantScopedModel):
    delivery = TenantForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["attempted_at", "id"]
        constraints = TenantScopedModel.Meta.constraints
        indexes = [models.Index(fields=["tenant", "delivery"], name="integrations_attempt_delivery")]

    @property
    def error_detail(self) -> str:
        return _error_detail(self.error, self.status_code)


def _error_detail(error: str, status_code: int | None) -> str:
    return "" if status_code is not None and error == f"HTTP {status_code}" else error
