"""Tenants, memberships with roles, teams, API keys, the tenant-scoped base model, audit events."""

from __future__ import annotations

import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.core.models import PublicIdModel, TimeStampedModel
from apps.tenancy.context import CrossTenantWrite, TenantNotActive, get_current_tenant
from apps.tenancy.keys import TenantForeignKey
from apps.tenancy.managers import AllTenantsManager, TenantScopedManager


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone (use an IANA name such as Europe/Brussels).")


class Tenant(PublicIdModel, TimeStampedModel):
    """A client organisation. The tenant registry itself is global: it is what scoping keys on."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True, help_text="Appears in every URL: /t/<slug>/")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    locale = models.CharField(max_length=10, choices=settings.LANGUAGES, default="en")
    industry = models.CharField(max_length=80, blank=True)
    sender_name = models.CharField(max_length=120, blank=True, help_text="Name surveys are sent from.")
    sender_email = models.EmailField(blank=True, help_text="Address surveys are sent from.")
    survey_fatigue_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(0), MaxValueValidator(365)],
        help_text="No contact is surveyed more often than once in this many days, across all surveys.",
    )
    min_n_nps = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(10000)],
        help_text="Below this many answers an NPS is flagged as a low sample.",
    )
    min_n_other = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(10000)],
        help_text="Below this many answers a CSAT, CES or smiley score is flagged as a low sample.",
    )
    require_two_factor = models.BooleanField(
        default=False, verbose_name="Require two-factor sign-in",
        help_text="Members without an authenticator app or a passkey are asked to set one up before they see this workspace.",
    )
    # Set with the workspace's single sign-on (apps/accounts/sso/): members' sessions must come through it.
    require_sso = models.BooleanField(default=False, editable=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TenantScopedModel(models.Model):
    """Base of every tenant-owned model, children and through tables included.

    - `objects` (the default manager) returns the active tenant's rows and raises with none;
    - `all_tenants` is the loud escape hatch;
    - `save()` fills the tenant from the context and refuses to write into another tenant;
    - the table gets forced row-level security in its migration (`EnableRLS`) and its tenant keys
      (`TenantKeys`: primary key `(tenant_id, id)`, composite foreign keys; apps/tenancy/keys.py);
    - foreign keys to other tenant models are `TenantForeignKey`s (joins match on the tenant too);
    - an update never writes `tenant_id`.
    The public `uuid` is unique per tenant; every unique constraint includes the tenant.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False, editable=False)
    uuid = models.UUIDField(default=uuid.uuid4, editable=False)

    objects = TenantScopedManager()
    all_tenants = AllTenantsManager()

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(fields=["tenant", "uuid"], name="%(app_label)s_%(class)s_tenant_uuid"),
        ]

    def save(self, *args, **kwargs):
        current = get_current_tenant()
        if self.tenant_id is None:
            if current is None:
                raise TenantNotActive(f"Cannot save a {type(self).__name__} with no active tenant.")
            self.tenant = current
        elif current is not None and self.tenant_id != current.pk:
            raise CrossTenantWrite(f"{type(self).__name__} belongs to another tenant than the active one.")
        super().save(*args, **kwargs)

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update):
        """An UPDATE never writes `tenant_id` (a row's tenant never changes; Citus refuses to modify the
        distribution column) and names the row's tenant, so it goes to one shard."""
        values = [value for value in values if value[0].attname != "tenant_id"]
        base_qs = base_qs.filter(tenant_id=self.tenant_id)
        return super()._do_update(base_qs, using, pk_val, values, update_fields, forced_update)

    def validate_same_tenant(self, *field_names: str) -> None:
        """clean() helper: related rows must belong to this row's tenant."""
        errors = {}
        for name in field_names:
            related = getattr(self, name, None)
            if related is not None and self.tenant_id and related.tenant_id != self.tenant_id:
                errors[name] = "Not found."
        if errors:
            raise ValidationError(errors)


class Role(models.TextChoices):
    """admin > cx_lead > staff inside a tenant, plus the read-only viewer (executives)."""

    ADMIN = "admin", "Admin"
    CX_LEAD = "cx_lead", "CX lead"
    STAFF = "staff", "Staff"
    VIEWER = "viewer", "Viewer"


# Who may do what. Views and APIs name one of these sets.
ADMINS = frozenset({Role.ADMIN})
LEADS = frozenset({Role.ADMIN, Role.CX_LEAD})
STAFF_AND_UP = frozenset({Role.ADMIN, Role.CX_LEAD, Role.STAFF})
EVERYONE = frozenset(Role)


class Team(TenantScopedModel, TimeStampedModel):
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=240, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "name"], name="tenancy_team_tenant_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(TenantScopedModel, TimeStampedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STAFF)
    team = TenantForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="memberships")
    is_active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user__email"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "user"], name="tenancy_membership_tenant_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    def clean(self):
        self.validate_same_tenant("team")


class ApiKey(TenantScopedModel, TimeStampedModel):
    """A tenant's API key. The secret is shown once; only its SHA-256 is stored (keys are random
    and long, so a fast hash is the right tool, as for GitHub tokens)."""

    name = models.CharField(max_length=80)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    prefix = models.CharField(max_length=16, db_index=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "prefix"], name="tenancy_apikey_tenant_prefix"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEvent(TenantScopedModel):
    """An append-only record of an admin-relevant change: who, in which tenant, to what, when (UTC).

    The app database role may only SELECT and INSERT this table (see apps.tenancy.signals).
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=200, help_text="Who acted, as it read at the time.")
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = TenantScopedModel.Meta.constraints
        indexes = [models.Index(fields=["tenant", "-created_at"], name="tenancy_audit_tenant_created")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_label}"


class IdempotencyRecord(TenantScopedModel):
    """The outcome of an API POST sent with an `Idempotency-Key` header, kept for a day so a retry
    with the same key gets the first response back instead of acting twice (apps.tenancy.idempotency).

    Only successful outcomes are stored: a failed request rolls back with everything else it wrote,
    so retrying it runs it again.
    """

    principal = models.CharField(max_length=64, help_text="Who sent it: user:<pk> or api_key:<pk>.")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty while the first request runs.")
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)

    class Meta:
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "principal", "key"], name="tenancy_idempotency_tenant_principal_key"),
        ]
        indexes = [models.Index(fields=["tenant", "created_at"], name="tenancy_idempotency_created")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class TenantLock(TenantScopedModel):
    """A named lock of one tenant: a row that `apps.tenancy.locks.tenant_locks()` locks for the rest of
    the transaction (FOR UPDATE / FOR SHARE). A row lock lives with the tenant's rows, on whichever node
    holds its shard, so it serialises every connection of a Citus cluster, unlike an advisory lock,
    which holds only on the node that took it."""

    uuid = None
    pk = models.CompositePrimaryKey("tenant_id", "name")
    name = models.CharField(max_length=64)

    class Meta:
        constraints = []

    def __str__(self) -> str:
        return self.name


class DeferredTask(models.Model):
    """A Celery task that could not be queued when its transaction committed (the broker was down): the
    work is kept here instead of lost, and `requeue_deferred_tasks` (every minute) sends it once the broker
    is back. Ids and ISO strings only, as every task takes (no personal data); global, like the broker."""

    name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name}{tuple(self.args)}"


class TenantDue(models.Model):
    """When a tenant next has work of one kind due ("outbox", "dispatch", …): how the beat's polling jobs
    find the tenants to wake without queueing a task for every tenant (apps/tenancy/due.py says how it is
    kept exact). Ids, a kind name and times only; global, because the beat's one query reads across
    tenants, which row-level security would forbid on the tenants' own tables."""

    pk = models.CompositePrimaryKey("tenant_id", "kind")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32)
    due_at = models.DateTimeField(null=True, blank=True, help_text="The earliest time work may be due; "
                                  "null: nothing known to be due until a writer notes some.")
    version = models.BigIntegerField(default=0, help_text="Incremented by every note: a task's settle applies "
                                     "only when no note arrived since the task read it.")

    class Meta:
        indexes = [models.Index(fields=["kind", "due_at"], name="tenancy_due_kind_at")]

    def __str__(self) -> str:
        return f"{self.tenant_id}:{self.kind} at {self.due_at}"
