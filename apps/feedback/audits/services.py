"""The six-monthly audit's e-mail (issue 8 item 8): on 1 January and 1 July (beat, apps.feedback.tasks)
each active CX lead and admin is told that the journeys' audits for the half-year just ended are ready,
through the outbox (kind DIGEST). Idempotent: the Message-ID is the business key (tenant, half-year,
member), so a rerun of the same half-year writes nothing new."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.urls import reverse

from apps.core.dates import local_today
from apps.core.site import site_url
from apps.feedback.audits.selectors import last_completed_half_year
from apps.messaging.models import OutboundEmail
from apps.messaging.services import email_enqueue
from apps.tenancy.models import LEADS, Membership


def audit_ready_message_id(tenant, half_year_end: date, membership) -> str:
    return f"<audit-ready.{tenant.pk}.{half_year_end:%Y%m%d}.{membership.pk}@cxm.invalid>"


@transaction.atomic
def audits_ready_notify(tenant, *, today: date | None = None) -> int:
    """Queue one e-mail per active lead/admin for the last completed half-year; returns how many rows exist
    for it after the run (a rerun returns the same number and writes none)."""
    today = today or local_today(tenant.time_zone)
    end = last_completed_half_year(today)
    url = site_url() + reverse("audits:list", kwargs={"tenant_slug": tenant.slug})
    count = 0
    for member in Membership.objects.filter(is_active=True, role__in=LEADS).select_related("user").order_by("pk"):
        body = (f"Hello {member.user.full_name or member.user.email},\n\n"
                f"The six-monthly experience audits of {tenant.name} up to {end:%-d %B %Y} are ready: each journey's last six "
                f"months against the six before, per stage, with the significant changes, volatility, root causes, recovery and "
                f"the action plans met or missed.\n\nOpen them: {url}?end={end:%Y-%m-%d}\n")
        email_enqueue(tenant=tenant, kind=OutboundEmail.Kind.DIGEST, to_email=member.user.email,
                      subject=f"Experience audits to {end:%-d %B %Y} are ready", body_text=body,
                      message_id=audit_ready_message_id(tenant, end, member))
        count += 1
    return count
