"""Receivers of domain events (apps.core.events), connected in MessagingConfig.ready()."""

from __future__ import annotations

from django.dispatch import receiver

from apps.core.events import password_reset_requested
from apps.messaging.models import OutboundEmail
from apps.messaging.services import email_enqueue


@receiver(password_reset_requested, dispatch_uid="messaging.password_reset_email")
def enqueue_password_reset_email(sender, *, tenant, user, message_id, **kwargs) -> None:
    """The reset e-mail goes through this workspace's outbox (SMTP retries, delivery log); its link is put
    in at SMTP time (services.py), so the stored row cannot be used to take the account over."""
    from apps.accounts.services import password_reset_email

    subject, text = password_reset_email(user)
    email_enqueue(tenant=tenant, kind=OutboundEmail.Kind.PASSWORD_RESET, to_email=user.email, subject=subject, body_text=text,
                  message_id=message_id)
