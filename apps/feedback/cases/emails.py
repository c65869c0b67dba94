"""Staff e-mails about cases (text and HTML, English: staff read the product in English): a case
assigned to you (or to your team's queue), and an overdue case escalated to the CX leads.

They go through the survey outbox (`apps.messaging.services.email_enqueue`) with no invitation:
no token placeholder and no List-Unsubscribe header (they are work notifications, not surveys).
Message-IDs are built from the business key (case, recipient, what happened), so a retried
transaction or task never sends one twice.
"""

from __future__ import annotations

import dataclasses

from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from apps.core.site import site_url
from apps.core.text import render_text
from apps.feedback.models import Case
from apps.tenancy.models import Membership, Tenant

EXCERPT = 400


@dataclasses.dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def case_url(tenant: Tenant, case: Case) -> str:
    """The case page's absolute URL: SITE_URL + `cases:detail` (the agreed path /t/<slug>/cases/<uuid>/
    while that page is not registered)."""
    try:
        path = reverse("cases:detail", kwargs={"tenant_slug": tenant.slug, "uuid": case.uuid})
    except NoReverseMatch:
        path = f"/t/{tenant.slug}/cases/{case.uuid}/"
    return f"{site_url()}{path}"


def message_id(case: Case, what: str, membership: Membership) -> str:
    from apps.surveys.distribution.services import message_domain

    return f"<case-{case.uuid}-{what}-{membership.uuid}@{message_domain()}>"


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z") if moment else ""


def _context(tenant: Tenant, case: Case, recipient: Membership) -> dict:
    description = case.description or ""
    if len(description) > EXCERPT:
        description = description[:EXCERPT - 1].rstrip() + "…"
    return {
        "tenant_name": tenant.name, "case": case, "title": case.title, "description": description,
        "recipient_name": recipient.user.full_name or recipient.user.email, "url": case_url(tenant, case),
        "due": _when(case.due_at), "opened": _when(case.opened_at),
        "client_name": case.client.name if case.client_id else "",
        "assignee_name": (case.assignee.user.full_name or case.assignee.user.email) if case.assignee_id else "",
        "team_name": case.team.name if case.team_id else "",
    }


def render_case_assigned(*, tenant: Tenant, case: Case, recipient: Membership, queue: bool = False) -> RenderedEmail:
    """To the new assignee, or (queue=True) to each member of the team whose queue received the case."""
    context = _context(tenant, case, recipient) | {"queue": queue}
    with timezone.override(tenant.time_zone):
        context |= {"due": _when(case.due_at), "opened": _when(case.opened_at)}
        text = render_text("feedback/email/case_assigned.txt", context)
        html = render_to_string("feedback/email/case_assigned.html", context)
    prefix = f"New case in the {context['team_name']} queue" if queue else "Case assigned to you"
    return RenderedEmail(subject=f"{prefix}: {case.title}", text=text, html=html)


def render_case_escalated(*, tenant: Tenant, case: Case, recipient: Membership, now) -> RenderedEmail:
    """To each CX lead (the admins when there is none): the case is past its SLA."""
    hours = max(1, int((now - case.due_at).total_seconds() // 3600)) if case.due_at < now else 0
    context = _context(tenant, case, recipient) | {"overdue_hours": hours, "status": case.get_status_display()}
    with timezone.override(tenant.time_zone):
        context |= {"due": _when(case.due_at), "opened": _when(case.opened_at)}
        text = render_text("feedback/email/case_escalated.txt", context)
        html = render_to_string("feedback/email/case_escalated.html", context)
    return RenderedEmail(subject=f"Overdue case: {case.title}", text=text, html=html)
