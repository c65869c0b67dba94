"""Writes for interactions (the front line): log, update, follow-up done, text sentiment."""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.clients.models import Client, Contact
from apps.core.events import interaction_follow_up_flagged, interaction_logged
from apps.core.nlp import analyse_text
from apps.tenancy.models import LEADS, STAFF_AND_UP, Membership, Tenant
from apps.tenancy.tasks import enqueue_on_commit
from apps.touchpoints.models import Interaction, Touchpoint


def interaction_log(
    *, tenant: Tenant, staff: Membership, client: Client, touchpoint: Touchpoint, outcome: str, summary: str,
    occurred_at: datetime | None = None, contact: Contact | None = None, channel: str = "",
    staff_sentiment: int | None = None, predicted_score: int | None = None, follow_up: bool = False,
    follow_up_due: date | None = None, idempotency_key: str = "",
) -> tuple[Interaction, bool]:
    """Log an interaction; returns (interaction, created).

    Posting again with the same `idempotency_key` (double click, retry) returns the first row and
    creates nothing. The channel defaults to the touchpoint's. The summary's text sentiment is
    scored by a background task once the row is committed. Only an active member with a role of
    staff or above logs interactions (an API key must name one).
    """
    if not staff.is_active or staff.role not in STAFF_AND_UP:
        raise ValidationError({"staff": "Interactions are logged by an active member with a staff role or above."})
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
            # After-interaction surveys listening to this touchpoint are queued by surveys' receiver.
            interaction_logged.send(sender=Interaction, tenant=tenant, interaction=interaction)
            if follow_up:
                interaction_follow_up_flagged.send(sender=Interaction, tenant=tenant, interaction=interaction)
    except IntegrityError:
        if not idempotency_key:
            raise
        # A concurrent post with the same key won the race: answer with its row.
        return Interaction.objects.get(staff=staff, idempotency_key=idempotency_key), False
    return interaction, True


def interaction_may_change(*, interaction: Interaction, acting_member: Membership | None, role: str | None = None) -> bool:
    """The staff member who logged an interaction changes it; so do CX leads and admins (and API keys with those roles)."""
    role = role if role is not None else getattr(acting_member, "role", None)
    return role in LEADS or (acting_member is not None and interaction.staff_id == acting_member.pk)


@transaction.atomic
def interaction_follow_up_done(*, tenant: Tenant, acting_member: Membership | None, interaction: Interaction,
                               role: str | None = None) -> Interaction:
    """Mark a follow-up done (idempotent). Staff close their own; CX leads and admins any.

    `role` is the caller's role when it has no membership (an API key); it defaults to `acting_member.role`.
    """
    interaction = Interaction.objects.select_for_update().get(pk=interaction.pk)
    if not interaction_may_change(interaction=interaction, acting_member=acting_member, role=role):
        raise PermissionDenied("Only the staff member who logged it, or a CX lead, can close this follow-up.")
    if interaction.follow_up and interaction.follow_up_done_at is None:
        interaction.follow_up_done_at = timezone.now()
        interaction.save(update_fields=["follow_up_done_at", "updated_at"])
    return interaction


INTERACTION_UPDATE_FIELDS = ("summary", "outcome", "staff_sentiment", "predicted_score", "follow_up", "follow_up_due")


@transaction.atomic
def interaction_update(*, tenant: Tenant, acting_member: Membership | None, interaction: Interaction, role: str | None = None,
                       **changes) -> Interaction:
    """Correct an interaction: summary, outcome, ratings, follow-up. Same rule as closing a follow-up.

    Sending `follow_up` (re)opens the follow-up, or with false removes it and its due date; a
    changed summary is scored again after commit.
    """
    unknown = set(changes) - set(INTERACTION_UPDATE_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    interaction = Interaction.objects.select_for_update().get(pk=interaction.pk)
    if not interaction_may_change(interaction=interaction, acting_member=acting_member, role=role):
        raise PermissionDenied("Only the staff member who logged it, or a CX lead, can change this interaction.")
    if changes.get("follow_up") is False:
        changes.setdefault("follow_up_due", None)
    if "summary" in changes:
        changes["summary"] = (changes["summary"] or "").strip()
    summary_changed = "summary" in changes and changes["summary"] != interaction.summary
    for name, value in changes.items():
        setattr(interaction, name, value)
    if "follow_up" in changes:
        interaction.follow_up_done_at = None  # switched off: nothing to close; switched (back) on: open again
    if summary_changed:
        interaction.text_sentiment = None  # until the task scores the new text
    interaction.full_clean()
    interaction.save()
    if changes.get("follow_up"):
        interaction_follow_up_flagged.send(sender=Interaction, tenant=tenant, interaction=interaction)
    if summary_changed:
        from apps.touchpoints.tasks import score_interaction_sentiment

        enqueue_on_commit(score_interaction_sentiment, tenant.pk, interaction.pk)
    return interaction


def text_sentiment(text: str) -> float:
    """The summary's compound sentiment in [-1, 1] in the language it is written in (apps.core.nlp:
    VADER for English, a lexicon for French, German, Dutch and Spanish; ≤ -0.05 negative, ≥ 0.05
    positive); 0.0 for an empty summary."""
    analysis = analyse_text(text, fallback_language="en")
    return analysis.sentiment if analysis else 0.0


def interaction_score_sentiment(*, interaction_id: int) -> float | None:
    """Store the summary's text sentiment. Idempotent: scoring again writes the same value."""
    interaction = Interaction.objects.filter(pk=interaction_id).first()
    if interaction is None:
        return None
    score = text_sentiment(interaction.summary)
    Interaction.objects.filter(pk=interaction.pk).update(text_sentiment=score)
    return score
