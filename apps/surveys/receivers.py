"""Receivers of the outbox's signals (apps.messaging.signals) and of domain events (apps.core.events),
connected in SurveysConfig.ready()."""

from __future__ import annotations

from django.dispatch import receiver

from apps.core.events import interaction_logged
from apps.messaging.models import OutboundEmail
from apps.messaging.signals import email_failed, email_sent, register_preparer
from apps.surveys.distribution import delivery
from apps.tenancy.tasks import enqueue_on_commit

register_preparer(OutboundEmail.Kind.INVITATION, delivery.invitation_email_prepare)
register_preparer(OutboundEmail.Kind.REMINDER, delivery.invitation_email_prepare)


@receiver(email_sent, dispatch_uid="surveys.invitation_sent")
def mark_invitation_sent(sender, *, email, sent_at, **kwargs) -> None:
    delivery.invitation_mark_sent(email=email, sent_at=sent_at)


@receiver(email_failed, dispatch_uid="surveys.invitation_failed")
def mark_invitation_failed(sender, *, email, outcome, **kwargs) -> None:
    delivery.invitation_mark_failed(email=email, outcome=outcome)


@receiver(interaction_logged, dispatch_uid="surveys.after_interaction")
def queue_after_interaction_surveys(sender, *, tenant, interaction, **kwargs) -> None:
    """After-interaction surveys listening to the interaction's touchpoint (distribution/services.py)
    are worked out by a task queued once the interaction commits."""
    from apps.surveys.distribution.services import surveys_listening_to
    from apps.surveys.tasks import surveys_for_interaction

    if surveys_listening_to(interaction.touchpoint).exists():
        enqueue_on_commit(surveys_for_interaction, tenant.pk, interaction.pk)
