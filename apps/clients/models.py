"""Clients (accounts), their contacts, and the segments used to filter them (DESIGN.md data model)."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from apps.clients.validators import validate_client_day
from apps.core.models import TimeStampedModel
from apps.tenancy.keys import TenantForeignKey
from apps.tenancy.models import Membership, TenantScopedModel


class Segment(TenantScopedModel, TimeStampedModel):
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=240, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "name"], name="clients_segment_tenant_name"),
        ]

    def __str__(self) -> str:
        return self.name


class AttributeDefinition(TenantScopedModel, TimeStampedModel):
    """A custom attribute the workspace records on its clients or on their contacts (e.g. a client's “region”, a
    contact's “department”): their values live in `Client.attributes` / `Contact.attributes` under its key, travel
    with every survey invitation (hidden fields), are stored on the response and filter responses; survey texts
    may pipe them in as {{client.<key>}} / {{contact.<key>}}."""

    class AppliesTo(models.TextChoices):
        CLIENT = "client", "Clients"
        CONTACT = "contact", "Contacts"

    applies_to = models.CharField(max_length=8, choices=AppliesTo.choices)
    key = models.SlugField(max_length=40, help_text="Lowercase letters, digits and _: e.g. “region”.")
    label = models.CharField(max_length=80)

    class Meta:
        ordering = ["applies_to", "label"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "applies_to", "key"], name="clients_attribute_tenant_key"),
        ]

    def __str__(self) -> str:
        return f"{self.applies_to}.{self.key}"


class Client(TenantScopedModel, TimeStampedModel):
    """An account the tenant serves. Churn is read from `active_from` / `churned_on` (METRICS.md)."""

    class Tier(models.TextChoices):
        STRATEGIC = "strategic", "Strategic"
        KEY = "key", "Key"
        STANDARD = "standard", "Standard"

    class Status(models.TextChoices):
        PROSPECT = "prospect", "Prospect"
        ACTIVE = "active", "Active"
        CHURNED = "churned", "Churned"

    name = models.CharField(max_length=160)
    segment = TenantForeignKey(Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="clients")
    industry = models.CharField(max_length=80, blank=True)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.STANDARD)
    owner = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_clients",
                              help_text="The staff member who owns the relationship.")
    annual_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)])
    active_from = models.DateField(validators=[validate_client_day])
    churned_on = models.DateField(null=True, blank=True, validators=[validate_client_day])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    attributes = models.JSONField(default=dict, blank=True, help_text="Custom attributes: {key: text} (AttributeDefinition).")

    class Meta:
        ordering = ["name"]
        constraints = TenantScopedModel.Meta.constraints
        indexes = [models.Index(fields=["tenant", "name"], name="clients_client_tenant_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        self.validate_same_tenant("segment", "owner")
        # The status and the churn date say the same thing and must agree: churn metrics read the
        # date (METRICS.md), lists and filters read the status.
        errors = {}
        if self.churned_on and self.active_from and self.churned_on < self.active_from:
            errors["churned_on"] = "A client cannot churn before it became active."
        elif self.status == self.Status.CHURNED and not self.churned_on:
            errors["churned_on"] = "Give the date this client churned."
        elif self.churned_on and self.status != self.Status.CHURNED:
            errors["status"] = "A client with a churn date is churned: choose Churned, or clear the churn date."
        if errors:
            raise ValidationError(errors)


class Contact(TenantScopedModel, TimeStampedModel):
    """A person at a client. E-mail is unique within a tenant (imports match on it)."""

    client = TenantForeignKey(Client, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=160)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    locale = models.CharField(max_length=10, default="en")
    role = models.CharField(max_length=80, blank=True, help_text="Their role at the client, e.g. CFO.")
    opted_out = models.BooleanField(default=False, help_text="Never survey or message this contact.")
    attributes = models.JSONField(default=dict, blank=True, help_text="Custom attributes: {key: text} (AttributeDefinition).")

    class Meta:
        ordering = ["name"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint("tenant", Lower("email"), condition=~models.Q(email=""), name="clients_contact_tenant_email"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name

    @property
    def locale_name(self) -> str:
        """The contact's language by name where the product knows it (imports may bring others)."""
        return dict(settings.LANGUAGES).get(self.locale, self.locale)

    def clean(self):
        self.email = (self.email or "").strip().lower()
        self.validate_same_tenant("client")
