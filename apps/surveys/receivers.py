"""Receivers of the outbox's signals (apps.messaging.signals), connected in SurveysConfig.ready()."""

from __future__ import annotations

from django.dispatch import receiver

from apps.messaging.models import OutboundEmail
from apps.messaging.signals import email_failed, email_sent, register_preparer
from apps.surveys.services import delivery

register_preparer(OutboundEmail.Kind.INVITATION, delivery.invitation_email_prepare)
register_preparer(OutboundEmail.Kind.REMINDER, delivery.invitation_email_prepare)


@receiver(email_sent, dispatch_uid="surveys.invitation_sent")
def mark_invitation_sent(sender, *, email, sent_at, **kwargs) -> None:
    delivery.invitation_mark_sent(email=email, sent_at=sent_at)


@receiver(email_failed, dispatch_uid="surveys.invitation_failed")
def mark_invitation_failed(sender, *, email, outcome, **kwargs) -> None:
    delivery.invitation_mark_failed(email=email, outcome=outcome)
