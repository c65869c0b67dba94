"""Reads for distribution: the send log, invitation lists (API), the outbox, the send page's choices,
and the respondent link's invitation (before any tenant is known)."""

from __future__ import annotations

import dataclasses
import hmac

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When

from apps.clients.models import Contact
from apps.messaging.models import OutboundEmail
from apps.surveys.models import Invitation, Survey
from apps.tenancy.context import rows_by_key_including_cross_tenant

# The steps of the response funnel (METRICS.md "Response rate and funnel"), as conditions on an invitation: one
# definition for the funnel rollup (apps.metrics.funnel.services counts them) and the invitations list (which
# lists them, so a funnel number opens exactly its invitations). A skipped invitation was never sent: not invited.
_S = Invitation.Status
_SENT = ~Q(status=_S.SKIPPED)
FUNNEL_STEPS = {
    "invited": ("Invited (sent or queued)", _SENT),
    "sent": ("Sent (left the queue)", ~Q(status__in=(_S.SKIPPED, _S.QUEUED))),
    "delivered": ("Delivered", ~Q(status__in=(_S.SKIPPED, _S.QUEUED, _S.BOUNCED, _S.FAILED))),
    "opened": ("Opened", _SENT & Q(opened_at__isnull=False)),
    "responded": ("Responded", _SENT & Q(responded_at__isnull=False)),
    "pending": ("Still queued", Q(status=_S.QUEUED)),
    "bounced": ("Bounced", Q(status=_S.BOUNCED)),
    "failed": ("Failed", Q(status=_S.FAILED)),
    "skipped": ("Skipped (never sent)", Q(status=_S.SKIPPED)),
}


def funnel_step_q(step: str) -> Q:
    return FUNNEL_STEPS[step][1]


def invitation_list(*, survey: Survey | None = None, status: str | None = None, skip_reason: str | None = None,
                    contact=None, client=None, batch=None, step: str | None = None, created=None,
                    channel: str | None = None) -> QuerySet[Invitation]:
    """Invitations newest first, with what a log row or the API shows joined in (constant queries). `step`: a funnel
    step (FUNNEL_STEPS); `created`: (start, end) datetimes — the invitations made then (the funnel's days)."""
    qs = Invitation.objects.select_related("survey", "version", "contact", "client", "interaction").order_by("-created_at", "-id")
    if step:
        qs = qs.filter(funnel_step_q(step))
    if created is not None and created[0] is not None:
        qs = qs.filter(created_at__gte=created[0])
    if created is not None and created[1] is not None:
        qs = qs.filter(created_at__lt=created[1])
    if channel:
        qs = qs.filter(channel=channel)
    if survey is not None:
        qs = qs.filter(survey=survey)
    if status:
        qs = qs.filter(status=status)
    if skip_reason:
        qs = qs.filter(skip_reason=skip_reason)
    if contact is not None:
        qs = qs.filter(contact=contact)
    if client is not None:
        qs = qs.filter(client=client)
    if batch:
        from apps.surveys.distribution.manual import manual_dedupe_prefix

        qs = qs.filter(dedupe_key__startswith=manual_dedupe_prefix(batch))
    return qs


@dataclasses.dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


def invitation_status_counts(*, survey: Survey) -> list[StatusCount]:
    """Invitations of the survey per status, every status listed (one query)."""
    counts = dict(Invitation.objects.filter(survey=survey).values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return [StatusCount(status=value, label=label, count=counts.get(value, 0)) for value, label in Invitation.Status.choices]


def outbox_list() -> QuerySet[OutboundEmail]:
    """The outbox, failed e-mails first, then those waiting for a retry or for sending, then sent; newest first within."""
    order = Case(When(status=OutboundEmail.Status.FAILED, then=Value(0)), When(status=OutboundEmail.Status.PENDING, then=Value(1)),
                 When(status=OutboundEmail.Status.SENDING, then=Value(1)), default=Value(2), output_field=IntegerField())
    return (OutboundEmail.objects.select_related("invitation__survey", "invitation__contact")
            .defer("body_text", "body_html").order_by(order, "-created_at", "-id"))


def send_contact_choices() -> QuerySet[Contact]:
    """Contacts offered on the send page: those who can be e-mailed, by client then name."""
    return (Contact.objects.filter(opted_out=False).exclude(email="").select_related("client")
            .order_by("client__name", "name"))


def invitation_get_by_token_including_cross_tenant(raw_token: str) -> Invitation | None:
    """The invitation a link's token denotes, whatever its tenant (the RLS lookup policy on
    token_hash lets exactly that row be read), or None. Used by the opt-out page."""
    from apps.surveys.distribution.services import token_hash

    if not raw_token or len(raw_token) > 100:
        return None
    digest = token_hash(raw_token)
    for invitation in rows_by_key_including_cross_tenant(Invitation, "token_hash", digest):
        if hmac.compare_digest(invitation.token_hash, digest) and invitation.tenant.is_active:
            return invitation
    return None
