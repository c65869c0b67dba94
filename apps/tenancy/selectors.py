"""Reads for tenancy. Functions named *_including_cross_tenant are the only cross-tenant reads."""

from __future__ import annotations

import dataclasses
import hmac

from django.db.models import QuerySet

from apps.tenancy.context import rows_by_key_including_cross_tenant
from apps.tenancy.models import ApiKey, AuditEvent, Membership, Team, Tenant
from apps.tenancy.services import hash_api_key, split_api_key


@dataclasses.dataclass(frozen=True)
class TenantAccess:
    """Who is acting in the active tenant, and with which role."""

    tenant: Tenant
    role: str
    membership: Membership | None = None
    api_key: ApiKey | None = None


def tenant_get_by_slug(slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug, is_active=True).first()


def membership_get_for_user(*, user) -> Membership | None:
    """The user's active membership in the active tenant."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "pk", None):
        return None
    return Membership.objects.filter(user_id=user.pk, is_active=True).select_related("team").first()


def memberships_of_user_including_cross_tenant(*, user) -> list[Membership]:
    """Every active membership of `user`, across tenants: the tenant switcher's list."""
    rows = rows_by_key_including_cross_tenant(Membership, "user_id", user.pk)
    return sorted((m for m in rows if m.is_active and m.tenant.is_active), key=lambda m: m.tenant.name.lower())


def api_key_get_by_raw_key_including_cross_tenant(raw_key: str) -> ApiKey | None:
    """The key a Bearer token denotes, whatever its tenant, or None. Constant-time comparison."""
    prefix = split_api_key(raw_key)
    if prefix is None:
        return None
    digest = hash_api_key(raw_key)
    for key in rows_by_key_including_cross_tenant(ApiKey, "prefix", prefix):
        if hmac.compare_digest(key.hashed_key, digest):
            return key
    return None


def membership_list(*, include_inactive: bool = True) -> QuerySet[Membership]:
    qs = Membership.objects.select_related("user", "team").order_by("-is_active", "user__email")
    return qs if include_inactive else qs.filter(is_active=True)


def team_list() -> QuerySet[Team]:
    return Team.objects.order_by("name")


def api_key_list() -> QuerySet[ApiKey]:
    return ApiKey.objects.select_related("created_by").order_by("revoked_at", "-created_at")


def audit_event_list(*, action: str | None = None, actor_email: str | None = None) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.order_by("-created_at", "-id")
    if action:
        qs = qs.filter(action__startswith=action)
    if actor_email:
        qs = qs.filter(actor_label__icontains=actor_email)
    return qs


def audit_action_list() -> list[str]:
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())


def active_tenants_by_slug(slugs: list[str] | None) -> list[Tenant]:
    """The active tenants with these slugs (every active tenant when None), by slug; a management
    command's `--tenant` option. Raises LookupError naming the slugs that match no active tenant."""
    tenants = Tenant.objects.filter(is_active=True).order_by("slug")
    if slugs:
        tenants = tenants.filter(slug__in=slugs)
        missing = set(slugs) - {t.slug for t in tenants}
        if missing:
            raise LookupError(f"No active tenant with slug {', '.join(sorted(missing))}.")
    return list(tenants)


# The workspaces a session signed in to through their single sign-on (apps/accounts/sso/views.py writes it): such a
# workspace may require it, and its provider vouches for the second factor.
SSO_SESSION_KEY = "sso_tenants"


def two_factor_missing(*, user, tenant: Tenant) -> bool:
    """Whether the workspace requires two-factor sign-in and the user has no second factor yet (an authenticator
    app or a passkey: recovery codes alone do not count). One indexed EXISTS, only in workspaces that require it."""
    if not tenant.require_two_factor:
        return False
    from allauth.mfa.models import Authenticator

    return not Authenticator.objects.filter(user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]).exists()
