"""Writes for tenants, memberships, teams and API keys. Each admin-relevant change is audited.

Convention (STYLE.md): keyword-only, atomic, full_clean(), audit event, side effects on commit.
`acting_user` is a User, an API-key principal (`apps.tenancy.authentication.ApiKeyPrincipal`) or None (system).
"""

from __future__ import annotations

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.forms.models import model_to_dict
from django.utils import timezone

from apps.core.events import tenant_time_zone_changed
from apps.tenancy.models import ApiKey, AuditEvent, Membership, Role, Team, Tenant

API_KEY_PREFIX = "cxm"
TENANT_SETTINGS_FIELDS = (
    "name", "time_zone", "locale", "industry", "sender_name", "sender_email",
    "survey_fatigue_days", "min_n_nps", "min_n_other", "require_two_factor",
)


# --- audit --------------------------------------------------------------------------------------

def _actor_fields(acting_user) -> dict:
    if acting_user is None:
        return {"actor": None, "actor_label": "system"}
    api_key = getattr(acting_user, "api_key", None)
    if api_key is not None:
        return {"actor": None, "actor_label": f"API key “{api_key.name}” ({api_key.prefix}…)"}
    return {"actor": acting_user, "actor_label": acting_user.email}


def audit_event_record(
    *, tenant: Tenant, acting_user, action: str, target=None, target_label: str = "",
    changes: dict | None = None, ip_address: str | None = None,
) -> AuditEvent:
    """Append one audit event (actor, tenant, target, UTC time) in the caller's transaction."""
    event = AuditEvent(
        tenant=tenant,
        action=action,
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=str(getattr(target, "uuid", "") or "") if target is not None else "",
        target_label=(target_label or (str(target) if target is not None else ""))[:200],
        changes=changes or {},
        ip_address=ip_address,
        **_actor_fields(acting_user),
    )
    event.full_clean()
    event.save()
    return event


def audit_changes(before: dict, after: dict) -> dict:
    """{field: [old, new]} for the fields that changed: an audit event's `changes`."""
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


# --- tenant settings ------------------------------------------------------------------------------

@transaction.atomic
def tenant_update(*, tenant: Tenant, acting_user, data: dict) -> Tenant:
    """Change the tenant's settings (only the fields admins may edit); audit the difference."""
    unknown = set(data) - set(TENANT_SETTINGS_FIELDS)
    if unknown:
        raise ValidationError({k: "This setting cannot be changed here." for k in unknown})
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = model_to_dict(tenant, fields=TENANT_SETTINGS_FIELDS)
    for key, value in data.items():
        setattr(tenant, key, value)
    tenant.full_clean()
    changes = audit_changes(before, model_to_dict(tenant, fields=TENANT_SETTINGS_FIELDS))
    if changes:
        tenant.save()
        audit_event_record(tenant=tenant, acting_user=acting_user, action="tenant.updated", target=tenant, changes=changes)
        if "time_zone" in changes:
            # Days are cut in the tenant's zone: metrics re-dates every response and rebuilds the rollups.
            tenant_time_zone_changed.send(sender=Tenant, tenant=tenant)
    return tenant


# --- memberships ----------------------------------------------------------------------------------

def _ensure_an_admin_remains(membership: Membership, *, new_role: str | None = None, deactivating: bool = False) -> None:
    if membership.role != Role.ADMIN or not membership.is_active:
        return
    if new_role == Role.ADMIN and not deactivating:
        return
    others = Membership.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=membership.pk)
    if not others.exists():
        raise ValidationError("A tenant must keep at least one active admin.")


@transaction.atomic
def membership_update(*, tenant: Tenant, acting_user, membership: Membership, role: str | None = None,
                      team: Team | None | str = "unchanged") -> Membership:
    """Change a member's role and/or team. The last active admin cannot be demoted."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    before = {"role": membership.role, "team": str(membership.team or "")}
    if role is not None and role != membership.role:
        _ensure_an_admin_remains(membership, new_role=role)
        membership.role = role
    if team != "unchanged":
        membership.team = team
    membership.full_clean()
    after = {"role": membership.role, "team": str(membership.team or "")}
    changes = audit_changes(before, after)
    if changes:
        membership.save()
        audit_event_record(tenant=tenant, acting_user=acting_user, action="member.updated",
                           target=membership, target_label=membership.user.email, changes=changes)
    return membership


@transaction.atomic
def membership_deactivate(*, tenant: Tenant, acting_user, membership: Membership) -> Membership:
    """Deactivate a member and end all of that user's sessions (the session hash changes)."""
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    if not membership.is_active:
        return membership
    _ensure_an_admin_remains(membership, deactivating=True)
    membership.is_active = False
    membership.deactivated_at = timezone.now()
    membership.save(update_fields=["is_active", "deactivated_at", "updated_at"])
    user_end_sessions(user=membership.user)
    audit_event_record(tenant=tenant, acting_user=acting_user, action="member.deactivated",
                       target=membership, target_label=membership.user.email)
    return membership


@transaction.atomic
def membership_reactivate(*, tenant: Tenant, acting_user, membership: Membership) -> Membership:
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    if membership.is_active:
        return membership
    membership.is_active = True
    membership.deactivated_at = None
    membership.save(update_fields=["is_active", "deactivated_at", "updated_at"])
    audit_event_record(tenant=tenant, acting_user=acting_user, action="member.reactivated",
                       target=membership, target_label=membership.user.email)
    return membership


def user_end_sessions(*, user) -> None:
    """End every session of `user`: Django compares the session auth hash on each request."""
    type(user).objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)


# --- teams ----------------------------------------------------------------------------------------

@transaction.atomic
def team_create(*, tenant: Tenant, acting_user, name: str, description: str = "") -> Team:
    team = Team(tenant=tenant, name=name.strip(), description=description.strip())
    team.full_clean()
    team.save()
    audit_event_record(tenant=tenant, acting_user=acting_user, action="team.created", target=team)
    return team


@transaction.atomic
def team_update(*, tenant: Tenant, acting_user, team: Team, name: str | None = None, description: str | None = None) -> Team:
    before = {"name": team.name, "description": team.description}
    if name is not None:
        team.name = name.strip()
    if description is not None:
        team.description = description.strip()
    team.full_clean()
    changes = audit_changes(before, {"name": team.name, "description": team.description})
    if changes:
        team.save()
        audit_event_record(tenant=tenant, acting_user=acting_user, action="team.updated", target=team, changes=changes)
    return team


@transaction.atomic
def team_delete(*, tenant: Tenant, acting_user, team: Team) -> None:
    audit_event_record(tenant=tenant, acting_user=acting_user, action="team.deleted", target=team)
    team.delete()


# --- API keys -------------------------------------------------------------------------------------

def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def split_api_key(raw_key: str) -> str | None:
    """Return the prefix of a well-formed key `cxm_<12 hex>_<secret>`, else None."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or len(parts[1]) != 12 or len(parts[2]) < 32:
        return None
    if any(c not in "0123456789abcdef" for c in parts[1]):
        return None
    return parts[1]


@transaction.atomic
def api_key_create(*, tenant: Tenant, acting_user, name: str, role: str) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never retrievable again."""
    prefix = secrets.token_hex(6)
    raw_key = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    created_by = acting_user if getattr(acting_user, "api_key", None) is None else None
    api_key = ApiKey(tenant=tenant, name=name.strip(), role=role, prefix=prefix,
                     hashed_key=hash_api_key(raw_key), created_by=created_by)
    api_key.full_clean()
    api_key.save()
    audit_event_record(tenant=tenant, acting_user=acting_user, action="api_key.created", target=api_key,
                       changes={"role": [None, role]})
    return api_key, raw_key


@transaction.atomic
def api_key_revoke(*, tenant: Tenant, acting_user, api_key: ApiKey) -> ApiKey:
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at", "updated_at"])
        audit_event_record(tenant=tenant, acting_user=acting_user, action="api_key.revoked", target=api_key)
    return api_key
