"""Reads for distribution: the send log, invitation lists (API), the outbox, the send page's choices,
and the respondent link's invitation (before any tenant is known)."""

from __future__ import annotations

import dataclasses
import hmac

from django.db.models import Case, Count, IntegerField, QuerySet, Value, When

from apps.clients.models import Contact
from apps.messaging.models import OutboundEmail
from apps.surveys.models import Invitation, Survey
from apps.tenancy.context import rows_by_key_including_cross_tenant


def invitation_list(*, survey: Survey | None = None, status: str | None = None, skip_reason: str | None = None,
                    contact=None, client=None, batch=None) -> QuerySet[Invitation]:
    """Invitations newest first, with what a log row or the API shows joined in (constant queries)."""
    qs = Invitation.objects.select_related("survey", "version", "contact", "client", "interaction").order_by("-created_at", "-id")
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
