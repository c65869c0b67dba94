"""Invitations into a tenant, accepting them, password reset e-mails, and auditing lockouts."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import structlog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from apps.accounts.models import MembershipInvitation, normalize_email
from apps.core.events import password_reset_requested
from apps.core.site import site_url
from apps.core.text import render_text
from apps.tenancy.context import rows_by_key_including_cross_tenant, tenant_context
from apps.tenancy.due import due_note, due_settle, due_version
from apps.tenancy.models import AuditEvent, Membership, Team, Tenant
from apps.tenancy.services import audit_event_record
from apps.tenancy.tasks import queue_on_commit

logger = structlog.get_logger(__name__)
User = get_user_model()


class InvitationUnusable(Exception):
    """The link is unknown, expired, revoked or already used: one generic answer for all."""


def hash_token(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def invitation_url(raw_token: str) -> str:
    return site_url() + reverse("accounts:invitation_accept", args=[raw_token])


@transaction.atomic
def member_invite(*, tenant: Tenant, acting_user, email: str, role: str, team: Team | None = None) -> tuple[MembershipInvitation, str]:
    """Invite `email` with `role`. Re-inviting the same address replaces its pending invitation.

    The e-mail with the single-use link goes out once the transaction commits.
    """
    email = normalize_email(email)
    # A deactivated member may be invited back: accepting reactivates their membership.
    if Membership.objects.filter(user__email=email, is_active=True).exists():
        raise ValidationError({"email": "This person is already a member of this workspace."})
    MembershipInvitation.objects.filter(email=email, status=MembershipInvitation.Status.PENDING).update(
        status=MembershipInvitation.Status.REVOKED
    )
    raw_token = secrets.token_urlsafe(32)
    invitation = MembershipInvitation(
        tenant=tenant, email=email, role=role, team=team, token_hash=hash_token(raw_token),
        invited_by=acting_user if isinstance(acting_user, User) else None,
        expires_at=timezone.now() + timedelta(days=settings.MEMBER_INVITATION_DAYS),
    )
    invitation.full_clean(exclude=["token_hash"])
    invitation.save()
    due_note(tenant.pk, INVITATIONS_EXPIRY_DUE, invitation.expires_at)  # the hourly expiry wakes for it then
    audit_event_record(tenant=tenant, acting_user=acting_user, action="member.invited", target=invitation,
                       target_label=email, changes={"role": [None, role]})
    inviter = getattr(acting_user, "email", "") or tenant.name
    transaction.on_commit(
        lambda: _send_invitation_email(tenant=tenant, email=email, inviter=inviter,
                                       role=invitation.get_role_display(), raw_token=raw_token,
                                       expires_at=invitation.expires_at),
        robust=True,
    )
    return invitation, raw_token


def _send_invitation_email(*, tenant, email, inviter, role, raw_token, expires_at) -> None:
    context = {"tenant": tenant, "inviter": inviter, "role": role, "url": invitation_url(raw_token),
               "expires_at": expires_at}
    send_mail(
        subject=f"You are invited to {tenant.name} on CXM",
        message=render_text("accounts/email/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )


@transaction.atomic
def invitation_revoke(*, tenant: Tenant, acting_user, invitation: MembershipInvitation) -> MembershipInvitation:
    invitation = MembershipInvitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status == MembershipInvitation.Status.PENDING:
        invitation.status = MembershipInvitation.Status.REVOKED
        invitation.save(update_fields=["status"])
        audit_event_record(tenant=tenant, acting_user=acting_user, action="member.invitation_revoked",
                           target=invitation, target_label=invitation.email)
    return invitation


def invitation_get_by_token_including_cross_tenant(raw_token: str) -> MembershipInvitation:
    """The usable invitation a link denotes, or InvitationUnusable (never says which reason)."""
    if not raw_token or len(raw_token) > 100:
        raise InvitationUnusable
    rows = rows_by_key_including_cross_tenant(MembershipInvitation, "token_hash", hash_token(raw_token))
    invitation = rows[0] if rows else None
    if invitation is None or not invitation.is_usable or not invitation.tenant.is_active:
        raise InvitationUnusable
    return invitation


def invitation_accept(*, raw_token: str, user=None, full_name: str = "", password: str = "") -> Membership:
    """Accept an invitation, once. An existing account (signed in as the invited address) joins;
    otherwise a new account is created with `full_name` and `password`. All or nothing."""
    invitation = invitation_get_by_token_including_cross_tenant(raw_token)
    with tenant_context(invitation.tenant) as tenant:
        # Lock the row: two simultaneous accepts of one link make one membership. Only this row:
        # Postgres cannot lock the nullable side of the outer join to the team.
        invitation = MembershipInvitation.objects.select_for_update(of=("self",)).select_related("team").get(pk=invitation.pk)
        if not invitation.is_usable:
            raise InvitationUnusable
        if user is not None and user.is_authenticated:
            if normalize_email(user.email) != invitation.email:
                raise ValidationError("This invitation was sent to another e-mail address. Sign out and open the link again.")
        else:
            if User.objects.filter(email=invitation.email).exists():
                raise ValidationError("An account with this e-mail already exists: sign in first, then open the link again.")
            user = User(email=invitation.email, full_name=full_name.strip())
            validate_password(password, user)
            user.set_password(password)
            user.full_clean(exclude=["password"])
            try:
                with transaction.atomic():
                    user.save()
            except IntegrityError as exc:
                raise ValidationError("An account with this e-mail already exists.") from exc
        membership = Membership.objects.filter(user=user).first()
        if membership is None:
            membership = Membership(tenant=tenant, user=user, role=invitation.role, team=invitation.team)
        else:
            membership.role, membership.is_active, membership.deactivated_at = invitation.role, True, None
            if invitation.team is not None:
                membership.team = invitation.team
        membership.full_clean()
        membership.save()
        invitation.status = MembershipInvitation.Status.ACCEPTED
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["status", "accepted_at", "accepted_by"])
        audit_event_record(tenant=tenant, acting_user=user, action="member.joined", target=membership,
                           target_label=user.email, changes={"role": [None, membership.role]})
        return membership


INVITATIONS_EXPIRY_DUE = "member-invitations"  # apps/tenancy/due.py: when a pending invitation runs out


def invitations_expire(*, tenant: Tenant) -> int:
    """Mark the tenant's pending invitations whose time is up as expired, and note when the next one runs out.
    Idempotent."""
    version = due_version(tenant.pk, INVITATIONS_EXPIRY_DUE)
    now = timezone.now()
    pending = MembershipInvitation.objects.filter(status=MembershipInvitation.Status.PENDING)
    expired = pending.filter(expires_at__lte=now).update(status=MembershipInvitation.Status.EXPIRED)
    due_settle(tenant.pk, INVITATIONS_EXPIRY_DUE, version, pending.filter(expires_at__gt=now).aggregate(t=Min("expires_at"))["t"])
    return expired


def lockout_record(*, email: str, ip_address: str | None) -> int:
    """Audit a django-axes lockout in every tenant the locked-out account belongs to.

    django-axes signals again on every attempt refused during the cool-off; one lockout of an
    account from an address is audited once per cool-off period.
    """
    logger.warning("login.locked_out", email=email, ip_address=ip_address)
    user = User.objects.filter(email=normalize_email(email)).first()
    if user is None:
        return 0
    since = timezone.now() - settings.AXES_COOLOFF_TIME

    def already(membership) -> bool:
        return AuditEvent.objects.filter(action="login.locked_out", target_id=str(membership.uuid),
                                         ip_address=ip_address, created_at__gte=since).exists()

    return audit_in_each_workspace(user=user, action="login.locked_out", ip_address=ip_address, acting_user=None,
                                   changes={"reason": [None, "5 wrong passwords"]}, skip=already)


def audit_in_each_workspace(*, user, action: str, changes: dict, ip_address: str | None, acting_user="self", skip=None) -> int:
    """One audit event per workspace the user belongs to, about their membership there (a sign-in matter such as
    a lockout or a second factor added belongs to the person, and each workspace's admins see it); returns how
    many were written. `skip(membership)` leaves a workspace out."""
    recorded = 0
    for membership in rows_by_key_including_cross_tenant(Membership, "user_id", user.pk):
        with tenant_context(membership.tenant):
            if skip is not None and skip(membership):
                continue
            audit_event_record(tenant=membership.tenant, acting_user=user if acting_user == "self" else acting_user, action=action,
                               target=membership, target_label=user.email, ip_address=ip_address, changes=changes)
            recorded += 1
    return recorded


# --- password reset -----------------------------------------------------------------------------
# The request only queues a task (`password_reset_request`): it does not even look the address up, so
# it takes the same path, and the same time, whether or not the address has an account. The task
# (`password_reset_send`) finds the account and hands its e-mail to the outbox of a workspace it belongs
# to (the `password_reset_requested` event; apps/surveys writes the row and its worker sends it over SMTP
# with retries). The row holds `RESET_LINK_PLACEHOLDER`, never the link: workspace admins can read the
# outbox, and the link is a key to the account. The outbox puts the link in at SMTP time
# (`password_reset_link_for`).

RESET_LINK_PLACEHOLDER = "[password-reset-link]"
RESET_SUBJECT = "Reset your CXM password"


def password_reset_request(*, email: str) -> None:
    """Queue the reset e-mail for `email` once the transaction commits; looks nothing up."""
    from apps.accounts.tasks import password_reset_send

    queue_on_commit(password_reset_send, normalize_email(email), secrets.token_hex(8))


def password_reset_users(email: str) -> list:
    """Django's rule (PasswordResetForm.get_users): active accounts with this e-mail and a usable password."""
    return [user for user in User._default_manager.filter(email__iexact=normalize_email(email), is_active=True)
            if user.has_usable_password()]


def password_reset_link(user) -> str:
    """A working link for `user`: valid PASSWORD_RESET_TIMEOUT from now, dead once the password changes."""
    path = reverse("accounts:password_reset_confirm", kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                                                              "token": default_token_generator.make_token(user)})
    return site_url() + path


def password_reset_link_for(email: str) -> str | None:
    """The link to put in a reset e-mail to `email` at SMTP time, or None when no account may reset any more."""
    users = password_reset_users(email)
    return password_reset_link(users[0]) if users else None


def password_reset_email(user) -> tuple[str, str]:
    """(subject, text) of the reset e-mail, with RESET_LINK_PLACEHOLDER where the link goes."""
    return RESET_SUBJECT, render_text("accounts/email/password_reset.txt", {"email": user.email, "link": RESET_LINK_PLACEHOLDER})


def password_reset_send(*, email: str, request_id: str) -> int:
    """In the worker: hand the reset e-mail of each account `email` denotes to the outbox of the first
    workspace it is an active member of (`password_reset_requested`; idempotent per request through the
    Message-ID). An account in no workspace is sent to directly from here. Returns how many e-mails."""
    handed = 0
    for user in password_reset_users(email):
        memberships = sorted((m for m in rows_by_key_including_cross_tenant(Membership, "user_id", user.pk)
                              if m.is_active and m.tenant.is_active), key=lambda m: m.pk)
        message_id = f"<password-reset-{request_id}-{user.uuid}@cxm.invalid>"
        if memberships:
            with tenant_context(memberships[0].tenant):
                password_reset_requested.send(sender=User, tenant=memberships[0].tenant, user=user, message_id=message_id)
        else:
            subject, text = password_reset_email(user)
            send_mail(subject=subject, message=text.replace(RESET_LINK_PLACEHOLDER, password_reset_link(user)),
                      from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[user.email])
        handed += 1
    return handed
