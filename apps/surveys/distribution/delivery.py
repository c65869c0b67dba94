"""Survey invitations and reminders in the outbox (apps/messaging): their placeholders filled in at
SMTP time, and their invitation's status following the e-mail's fate.

Invitation bodies carry `TOKEN_PLACEHOLDER` instead of the link's token; the token is rebuilt from the
invitation's salt with SECRET_KEY here, at SMTP time (distribution/services.py explains why), so the
stored row holds no working link. Registered and connected in apps/surveys/receivers.py.
"""

from __future__ import annotations

from apps.messaging.models import OutboundEmail
from apps.messaging.signals import NotSent, Parts
from apps.surveys.distribution.services import TOKEN_PLACEHOLDER, invitation_token, optout_url, token_hash
from apps.surveys.models import Invitation


def invitation_email_prepare(email: OutboundEmail, parts: Parts) -> None:
    """Put the invitation's token into the row's links; refuse rows that must not go out any more."""
    invitation = email.invitation
    if invitation is None:
        return
    if invitation.contact is not None and invitation.contact.opted_out:
        raise NotSent("Not sent: the contact opted out.")
    if email.kind == OutboundEmail.Kind.REMINDER and invitation.status not in (Invitation.Status.SENT, Invitation.Status.OPENED):
        raise NotSent(f"Not sent: the invitation is {invitation.get_status_display().lower()}.")
    token = invitation_token(invitation)
    if token_hash(token) != invitation.token_hash:
        raise NotSent("Not sent: the signing key changed since this e-mail was written, so its link would not work.",
                      outcome="failed")
    parts.text, parts.html = parts.text.replace(TOKEN_PLACEHOLDER, token), parts.html.replace(TOKEN_PLACEHOLDER, token)
    unsubscribe = optout_url(token)
    parts.headers |= {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _queued_invitation(email: OutboundEmail) -> Invitation | None:
    invitation = email.invitation if email.invitation_id else None
    if invitation is not None and email.kind == OutboundEmail.Kind.INVITATION and invitation.status == Invitation.Status.QUEUED:
        return invitation
    return None


def invitation_mark_sent(*, email: OutboundEmail, sent_at) -> None:
    """An invitation's e-mail was accepted by the SMTP server: the invitation is SENT."""
    invitation = _queued_invitation(email)
    if invitation is not None:
        invitation.status, invitation.sent_at = Invitation.Status.SENT, sent_at
        invitation.save(update_fields=["status", "sent_at", "updated_at"])


FAILED_STATUS = {"failed": Invitation.Status.FAILED, "bounced": Invitation.Status.BOUNCED}


def invitation_mark_failed(*, email: OutboundEmail, outcome: str) -> None:
    """An invitation's e-mail will not be sent: FAILED (gave up), BOUNCED (address refused); a skip
    (opted out) leaves the invitation as it is."""
    invitation = _queued_invitation(email)
    if invitation is not None and outcome in FAILED_STATUS:
        invitation.status = FAILED_STATUS[outcome]
        invitation.save(update_fields=["status", "updated_at"])
