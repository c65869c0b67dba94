"""A workspace's single sign-on (issue 21 item 2): configuring it, revealing its secret, and signing a person in
from the provider's verified answer (matched to a member by e-mail, or joined with the workspace's default role).
Every change and every join is audited; the secret never appears in an audit entry or a log."""

from __future__ import annotations

import re

import structlog
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from apps.accounts.models import SsoConnection, normalize_email
from apps.accounts.sso.oidc import SsoError, discovery
from apps.core.crypto import Undecryptable, decrypt, encrypt
from apps.tenancy.context import rows_by_key_including_cross_tenant, tenant_context
from apps.tenancy.models import Membership, Tenant
from apps.tenancy.services import audit_changes, audit_event_record

logger = structlog.get_logger(__name__)
User = get_user_model()

DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
FIELDS = ("issuer", "client_id", "email_domain", "default_role", "require_sso", "is_enabled")


def sso_connection_get() -> SsoConnection | None:
    """The active workspace's single sign-on, if it has one."""
    return SsoConnection.objects.first()


def sso_connection_for_email_including_cross_tenant(email: str) -> SsoConnection | None:
    """The enabled connection whose domain the address is at, whichever workspace it belongs to (before any tenant
    is known: the RLS lookup policy on `email_domain` lets the app role read exactly that row)."""
    domain = normalize_email(email).rpartition("@")[2]
    if not domain:
        return None
    rows = [row for row in rows_by_key_including_cross_tenant(SsoConnection, "email_domain", domain) if row.is_enabled]
    return rows[0] if rows else None


def sso_connection_by_uuid_including_cross_tenant(uuid: str) -> SsoConnection | None:
    rows = rows_by_key_including_cross_tenant(SsoConnection, "uuid", uuid)
    return rows[0] if rows else None


def _clean_domain(value: str) -> str:
    domain = (value or "").strip().lower().lstrip("@")
    if not DOMAIN.match(domain):
        raise ValidationError({"email_domain": "Enter a domain such as northwind.example (the part after the @)."})
    return domain


def _claim_domain(*, tenant: Tenant, domain: str) -> None:
    """An e-mail domain signs in to one workspace: refused when another workspace has it (checked under a lock on
    the domain, so two admins claiming it at once cannot both succeed)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"sso-domain:{domain}"])
    others = [row for row in rows_by_key_including_cross_tenant(SsoConnection, "email_domain", domain) if row.tenant_id != tenant.pk]
    if others:
        raise ValidationError({"email_domain": f"Another workspace already signs in @{domain} through single sign-on. "
                                               "A domain can sign in to one workspace only."})


@transaction.atomic
def sso_connection_save(*, tenant: Tenant, acting_user, data: dict, client_secret: str = "", ip_address: str | None = None,
                        proven: bool, check_provider: bool = True) -> SsoConnection:
    """Create or change the workspace's single sign-on. `client_secret` blank keeps the stored one (required the first
    time). The provider's discovery document is fetched first: a wrong issuer is refused before anything is saved.

    Requiring it is refused unless `proven`: the person asking signed in through it in this session (or it is an API
    key, which it does not concern) — a requirement that does not work would lock every member out, admins included."""
    current = sso_connection_get()
    row = current or SsoConnection(tenant=tenant)
    before = {f: getattr(row, f) for f in FIELDS} if current else {}
    for field in FIELDS:
        if field in data:
            setattr(row, field, data[field])
    row.issuer = (row.issuer or "").strip()
    row.email_domain = _clean_domain(row.email_domain)
    if not client_secret and not row.client_secret_encrypted:
        raise ValidationError({"client_secret": "Enter the client secret the provider gave this application."})
    row.full_clean(exclude=["client_secret_encrypted", "tenant"])
    if row.require_sso and row.is_enabled and not tenant.require_sso and not proven:
        raise ValidationError({"require_sso": "Sign in through single sign-on yourself first (sign out, then “Sign in with single "
                                              "sign-on”): requiring a sign-on that does not work would lock everyone out."})
    _claim_domain(tenant=tenant, domain=row.email_domain)
    if check_provider and (current is None or before.get("issuer") != row.issuer or row.is_enabled):
        try:
            discovery(row.issuer, fresh=True)
        except SsoError as exc:
            raise ValidationError({"issuer": str(exc)}) from exc
    if client_secret:
        row.client_secret_encrypted = encrypt(client_secret)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as exc:
        raise ValidationError("The single sign-on was changed by someone else at the same time: reload and try again.") from exc
    Tenant.objects.filter(pk=tenant.pk).update(require_sso=row.require_sso and row.is_enabled)
    tenant.require_sso = row.require_sso and row.is_enabled
    changes = audit_changes(before, {f: getattr(row, f) for f in FIELDS})
    if client_secret:
        changes["client_secret"] = [None, "changed"] if current else [None, "set"]
    if changes:
        audit_event_record(tenant=tenant, acting_user=acting_user, action="sso.changed" if current else "sso.configured",
                           target=row, target_label=f"@{row.email_domain}", changes=changes, ip_address=ip_address)
    return row


@transaction.atomic
def sso_connection_delete(*, tenant: Tenant, acting_user, ip_address: str | None = None) -> None:
    row = sso_connection_get()
    if row is None:
        return
    row.delete()
    Tenant.objects.filter(pk=tenant.pk).update(require_sso=False)
    tenant.require_sso = False
    audit_event_record(tenant=tenant, acting_user=acting_user, action="sso.removed", target_label=f"@{row.email_domain}",
                       changes={"email_domain": [row.email_domain, None]}, ip_address=ip_address)


def sso_secret_reveal(*, tenant: Tenant, row: SsoConnection, acting_user, ip_address: str | None = None) -> str:
    """The client secret in clear, for an admin who asked to see it: audited (who, when, from where)."""
    secret = decrypt(row.client_secret_encrypted)
    audit_event_record(tenant=tenant, acting_user=acting_user, action="sso.secret_revealed", target=row,
                       target_label=f"@{row.email_domain}", ip_address=ip_address)
    return secret


def sso_client_secret(row: SsoConnection) -> str:
    try:
        return decrypt(row.client_secret_encrypted)
    except Undecryptable as exc:
        raise SsoError("This workspace's single sign-on secret cannot be read: an admin must enter it again.") from exc


def sso_sign_in(*, row: SsoConnection, claims: dict, ip_address: str | None = None):
    """The member the provider vouched for: their user (created if new) and membership (joined with the default role
    if new). Refused: no e-mail, an unverified one, one outside the workspace's domain, an ended membership."""
    email = normalize_email(claims.get("email") or "")
    if not email:
        raise SsoError("The identity provider did not give an e-mail address: ask its admin to release the email claim.")
    if claims.get("email_verified") is False:
        raise SsoError(f"The identity provider has not verified {email}.")
    if email.rpartition("@")[2] != row.email_domain:
        raise SsoError(f"{email} is not an address at {row.email_domain}, the domain this workspace signs in.")
    with transaction.atomic(), tenant_context(row.tenant) as tenant:
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User(email=email, full_name=str(claims.get("name") or "")[:150].strip())
            user.set_unusable_password()
            user.full_clean(exclude=["password"])
            user.save()
        if not user.is_active:
            raise SsoError("This account is deactivated.")
        membership = Membership.objects.filter(user=user).first()
        if membership is not None and not membership.is_active:
            raise SsoError(f"Your membership of {tenant.name} was ended by its admins: ask one of them to invite you again.")
        joined = membership is None
        if joined:
            membership = Membership(tenant=tenant, user=user, role=row.default_role)
            membership.full_clean()
            membership.save()
            audit_event_record(tenant=tenant, acting_user=user, action="member.joined_by_sso", target=membership,
                               target_label=email, changes={"role": [None, membership.role]}, ip_address=ip_address)
        audit_event_record(tenant=tenant, acting_user=user, action="login.sso", target=membership, target_label=email,
                           ip_address=ip_address)
    logger.info("login.sso", tenant=tenant.slug, joined=joined)
    return user, membership, joined
