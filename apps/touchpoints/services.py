"""Writes for touchpoints and interactions."""

from __future__ import annotations

import functools
from datetime import date, datetime

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.clients.models import Client, Contact
from apps.tenancy.models import LEADS, Membership, Team, Tenant
from apps.tenancy.services import audit_event_record
from apps.tenancy.tasks import enqueue_on_commit
from apps.touchpoints.models import Interaction, Touchpoint


@transaction.atomic
def touchpoint_create(*, tenant: Tenant, acting_user, name: str, channel: str, team: Team | None = None,
                      description: str = "", is_key: bool = False) -> Touchpoint:
    touchpoint = Touchpoint(tenant=tenant, name=name.strip(), channel=channel, team=team,
                            description=description.strip(), is_key=is_key)
    touchpoint.full_clean()
    touchpoint.save()
    audit_event_record(tenant=tenant, acting_user=acting_user, action="touchpoint.created", target=touchpoint)
    return touchpoint


def interaction_log(
    *, tenant: Tenant, staff: Membership, client: Client, touchpoint: Touchpoint, outcome: str, summary: str,
    occurred_at: datetime | None = None, contact: Contact | None = None, channel: str = "",
    staff_sentiment: int | None = None, predicted_score: int | None = None, follow_up: bool = False,
    follow_up_due: date | None = None, idempotency_key: str = "",
) -> tuple[Interaction, bool]:
    """Log an interaction; returns (interaction, created).

    Posting again with the same `idempotency_key` (double click, retry) returns the first row and
    creates nothing. The channel defaults to the touchpoint's. The summary's text sentiment is
    scored by a background task once the row is committed.
    """
    if idempotency_key:
        existing = Interaction.objects.filter(staff=staff, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    interaction = Interaction(
        tenant=tenant, staff=staff, client=client, contact=contact, touchpoint=touchpoint,
        occurred_at=occurred_at or timezone.now(), channel=channel or touchpoint.channel, summary=summary.strip(),
        outcome=outcome, staff_sentiment=staff_sentiment, predicted_score=predicted_score,
        follow_up=follow_up, follow_up_due=follow_up_due, idempotency_key=idempotency_key,
    )
    interaction.full_clean()
    try:
        with transaction.atomic():
            interaction.save()
            from apps.touchpoints.tasks import score_interaction_sentiment

            enqueue_on_commit(score_interaction_sentiment, tenant.pk, interaction.pk)
    except IntegrityError:
        if not idempotency_key:
            raise
        # A concurrent post with the same key won the race: answer with its row.
        return Interaction.objects.get(staff=staff, idempotency_key=idempotency_key), False
    return interaction, True


@transaction.atomic
def interaction_follow_up_done(*, tenant: Tenant, acting: Membership, interaction: Interaction) -> Interaction:
    """Mark a follow-up done (idempotent). Staff close their own; CX leads and admins any."""
    interaction = Interaction.objects.select_for_update().get(pk=interaction.pk)
    if interaction.staff_id != acting.pk and acting.role not in LEADS:
        raise PermissionDenied("Only the staff member who logged it, or a CX lead, can close this follow-up.")
    if interaction.follow_up and interaction.follow_up_done_at is None:
        interaction.follow_up_done_at = timezone.now()
        interaction.save(update_fields=["follow_up_done_at", "updated_at"])
    return interaction


@functools.cache
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # lexicon ships in the wheel (offline)

    return SentimentIntensityAnalyzer()


def text_sentiment(text: str) -> float:
    """VADER compound score in [-1, 1] (≤ -0.05 negative, ≥ 0.05 positive, per VADER's authors)."""
    return round(_analyzer().polarity_scores(text or "")["compound"], 4)


def interaction_score_sentiment(*, interaction_id: int) -> float | None:
    """Store the summary's text sentiment. Idempotent: scoring again writes the same value."""
    interaction = Interaction.objects.filter(pk=interaction_id).first()
    if interaction is None:
        return None
    score = text_sentiment(interaction.summary)
    Interaction.objects.filter(pk=interaction.pk).update(text_sentiment=score)
    return score
