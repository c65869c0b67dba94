"""The product-wide outbox: every e-mail the product sends (survey invitations and reminders, case
notifications, digests, "you said, we did", password resets) is one OutboundEmail row.

The model moved here from `surveys` (its table keeps its name, `surveys_outboundemail`, and with it
the data and the row-level-security policy: see migrations/0001_outbound_email_from_surveys.py).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from apps.core.models import TimeStampedModel
from apps.tenancy.keys import TenantForeignKey
from apps.tenancy.models import TenantScopedModel


class OutboundEmail(TenantScopedModel, TimeStampedModel):
    """The outbox: a row per e-mail, written in the same transaction as what caused it, sent by a
    Celery task over SMTP with retries and backoff. The Message-ID is fixed when the row is written,
    so a retry after an unknown outcome is recognisable as the same message.

    `invitation` links a survey invitation or reminder to its invitation (a lazy reference: the outbox
    never imports surveys; surveys prepares and follows those rows through apps/messaging/signals.py)."""

    class Kind(models.TextChoices):
        INVITATION = "invitation", "Invitation"
        REMINDER = "reminder", "Reminder"
        TEST = "test", "Test"
        CASE = "case", "Case notification"
        ESCALATION = "escalation", "Overdue case escalation"
        DIGEST = "digest", "Digest"
        ANNOUNCEMENT = "announcement", "You said, we did"
        PASSWORD_RESET = "password_reset", "Password reset"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"  # gave up after the last attempt

    invitation = TenantForeignKey("surveys.Invitation", null=True, blank=True, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    to_email = models.EmailField()
    subject = models.CharField(max_length=200)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    message_id = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Set on every pending row (a new row is due at once), empty once sent or failed: the due query is then
    # one range on the (tenant, status, next_attempt_at) index, not an OR over NULL that reads every pending row.
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "surveys_outboundemail"
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "message_id"], name="surveys_outbound_message_id"),
        ]
        indexes = [models.Index(fields=["tenant", "status", "next_attempt_at"], name="surveys_outbound_due")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_email} ({self.status})"
