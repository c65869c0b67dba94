"""Touchpoints (where a client meets the firm) and the interactions staff log at them."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.clients.models import Client, Contact
from apps.core.models import TimeStampedModel
from apps.tenancy.keys import TenantForeignKey
from apps.tenancy.models import Membership, Team, TenantScopedModel


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone"
    WEB = "web", "Web"
    IN_PERSON = "in_person", "In person"
    CHAT = "chat", "Chat"
    SMS = "sms", "SMS"
    SOCIAL = "social", "Social media"
    APP = "app", "App"
    KIOSK = "kiosk", "Kiosk"
    MAIL = "mail", "Mail"


class Touchpoint(TenantScopedModel, TimeStampedModel):
    name = models.CharField(max_length=120)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    team = TenantForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="touchpoints",
                             help_text="The team that owns this touchpoint.")
    description = models.TextField(blank=True)
    is_key = models.BooleanField(default=False, help_text="A key touchpoint: one that shapes the whole relationship.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "name"], name="touchpoints_touchpoint_tenant_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        self.validate_same_tenant("team")


class Interaction(TenantScopedModel, TimeStampedModel):
    """One contact between a staff member and a client, logged by the staff member."""

    class Outcome(models.TextChoices):
        RESOLVED = "resolved", "Resolved"
        UNRESOLVED = "unresolved", "Unresolved"
        ESCALATED = "escalated", "Escalated"

    class Sentiment(models.IntegerChoices):
        VERY_NEGATIVE = -2, "Very negative"
        NEGATIVE = -1, "Negative"
        NEUTRAL = 0, "Neutral"
        POSITIVE = 1, "Positive"
        VERY_POSITIVE = 2, "Very positive"

    client = TenantForeignKey(Client, on_delete=models.CASCADE, related_name="interactions")
    contact = TenantForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions")
    touchpoint = TenantForeignKey(Touchpoint, on_delete=models.PROTECT, related_name="interactions")
    staff = TenantForeignKey(Membership, on_delete=models.PROTECT, related_name="interactions")
    occurred_at = models.DateTimeField()
    channel = models.CharField(max_length=16, choices=Channel.choices)
    summary = models.CharField(max_length=280)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    staff_sentiment = models.SmallIntegerField(choices=Sentiment.choices, null=True, blank=True)
    predicted_score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(10)],
        help_text="What would this client answer today if asked to recommend us (0–10)?",
    )
    # VADER compound score of the summary, in [-1, 1]; filled by a background task.
    text_sentiment = models.FloatField(null=True, blank=True)
    follow_up = models.BooleanField(default=False)
    follow_up_due = models.DateField(null=True, blank=True)
    follow_up_done_at = models.DateTimeField(null=True, blank=True)
    # The form's or API caller's idempotency key: posting the same key twice returns the first row.
    idempotency_key = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "staff", "idempotency_key"], condition=~models.Q(idempotency_key=""),
                                    name="touchpoints_interaction_idempotency"),
        ]
        indexes = [
            models.Index(fields=["tenant", "client", "-occurred_at"], name="touchpoints_int_client"),
            models.Index(fields=["tenant", "staff", "-occurred_at"], name="touchpoints_int_staff"),
            models.Index(fields=["tenant", "touchpoint", "-occurred_at"], name="touchpoints_int_touchpoint"),
            models.Index(fields=["tenant", "staff", "follow_up_due"], condition=models.Q(follow_up=True, follow_up_done_at=None),
                         name="touchpoints_int_open_followup"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d} {self.client} — {self.summary[:40]}"

    def clean(self):
        self.validate_same_tenant("client", "contact", "touchpoint", "staff")
        errors = {}
        if self.contact_id and self.client_id and self.contact.client_id != self.client_id:
            errors["contact"] = "This contact works at another client."
        if self.follow_up and not self.follow_up_due:
            errors["follow_up_due"] = "Give the follow-up a due date."
        if not self.follow_up and self.follow_up_due:
            errors["follow_up_due"] = "A due date needs the follow-up box ticked."
        if errors:
            raise ValidationError(errors)
