"""Digest writes: a member's own opt-ins, and sending one member's digest for one period.

`digest_send` is the idempotent unit the scheduler runs per member, frequency and period:
- the DigestSend unique key (tenant, membership, frequency, period_last) says it ran; a second run
  (a retried task, a doubled beat) finds the row and does nothing. Concurrent runs for the same member
  are serialised on the member's row (`select_for_update`), so the second one finds the first's row;
- something to say (selectors module docstring) → one outbox row (kind DIGEST) whose Message-ID is
  derived from the same key, so even a replayed row could never be a second e-mail; delivery is the
  outbox's (apps/messaging/services.py), on commit;
- nothing to say → no e-mail, a row with outcome NOTHING (re-running does nothing either);
- the member must still be active and subscribed to that frequency when it runs (an opt-out between
  the scheduler's listing and the send is respected).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse

from apps.core.site import site_url
from apps.core.text import render_text
from apps.digests.models import DigestSend, DigestSubscription, Frequency
from apps.digests.selectors import Digest, digest_build, period_of
from apps.messaging.models import OutboundEmail
from apps.messaging.services import email_enqueue
from apps.metrics.drill import responses_url
from apps.metrics.params import MetricFilters
from apps.surveys.distribution.services import message_domain
from apps.tenancy.models import Membership, Tenant
from apps.tenancy.roles import landing_url_name


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    text: str
    html: str


# --- preferences ----------------------------------------------------------------------------------

@transaction.atomic
def digest_preferences_update(*, tenant: Tenant, membership: Membership, daily: bool, weekly: bool) -> dict[str, bool]:
    """A member opts in or out of the daily and the weekly digest, for themselves in this workspace.
    Opting out keeps the row (inactive), so opting in again is the same row. Returns {frequency: active}."""
    wanted = {Frequency.DAILY: bool(daily), Frequency.WEEKLY: bool(weekly)}
    existing = {s.frequency: s for s in DigestSubscription.objects.select_for_update().filter(membership=membership)}
    for frequency, active in wanted.items():
        subscription = existing.get(frequency)
        if subscription is None:
            if not active:
                continue
            subscription = DigestSubscription(tenant=tenant, membership=membership, frequency=frequency, is_active=True)
            subscription.full_clean(validate_constraints=False)
            subscription.save()
        elif subscription.is_active != active:
            subscription.is_active = active
            subscription.save(update_fields=["is_active", "updated_at"])
    return {str(frequency): active for frequency, active in wanted.items()}


# --- links and rendering --------------------------------------------------------------------------

def _url(name: str, fallback: str, **kwargs) -> str:
    """An absolute link to one of our pages (the path agreed with the page's owner if its URL name is
    not mounted in this build)."""
    try:
        return site_url() + reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return site_url() + fallback


def digest_links(digest: Digest) -> dict:
    slug = digest.tenant_slug
    return {
        "dashboard": _url(landing_url_name(digest.role), f"/t/{slug}/", tenant_slug=slug),
        "preferences": _url("digests:preferences", f"/t/{slug}/settings/digests/", tenant_slug=slug),
        "cases": _url("cases:list", f"/t/{slug}/cases/", tenant_slug=slug),
        "case": {line.uuid: _url("cases:detail", f"/t/{slug}/cases/{line.uuid}/", tenant_slug=slug, uuid=line.uuid)
                 for line in digest.overdue},
        "client": {line.uuid: _url("clients:detail", f"/t/{slug}/clients/{line.uuid}/", tenant_slug=slug, uuid=line.uuid)
                   for line in digest.at_risk},
        "churn": _url("dashboards:churn", f"/t/{slug}/dashboards/churn/", tenant_slug=slug),
        **_answers_links(digest),
    }


def _answers_links(digest: Digest) -> dict:
    """The answers behind each number of the digest (apps.metrics.drill: the responses list with the period, the
    member's own answers for "own", the line's touchpoint/stage or theme): "numbers" {metric: url}, "changes" and
    "themes" (a url per line, in order)."""
    f = MetricFilters(first=digest.period_first, last=digest.period_last, uuids={"staff": digest.staff} if digest.staff else {})
    site = site_url()
    return {
        "numbers": {line.metric: site + responses_url(digest.tenant_slug, f, answered=line.metric) for line in digest.numbers},
        "changes": [site + responses_url(digest.tenant_slug, f, answered=line.metric, **({line.dimension: line.key} if line.dimension else {}))
                    for line in digest.changes],
        "themes": [site + responses_url(digest.tenant_slug, f, theme=line.theme) for line in digest.theme_changes],
    }


def digest_subject(digest: Digest) -> str:
    return f"{digest.tenant_name}: your {digest.frequency_label} digest for {digest.period} — {digest.headline}"


def digest_context(digest: Digest) -> dict:
    """What the e-mail templates and the page's preview render: the digest, its links, and the listed
    cases and clients each with its link."""
    links = digest_links(digest)
    return {"digest": digest, "links": links, "subject": digest_subject(digest),
            "numbers": list(zip(digest.numbers, (links["numbers"][line.metric] for line in digest.numbers), strict=True)),
            "changes": list(zip(digest.changes, links["changes"], strict=True)),
            "theme_changes": list(zip(digest.theme_changes, links["themes"], strict=True)),
            "overdue": [{"line": line, "url": links["case"][line.uuid]} for line in digest.overdue],
            "at_risk": [{"line": line, "url": links["client"][line.uuid]} for line in digest.at_risk]}


def digest_render(digest: Digest) -> RenderedDigest:
    """The e-mail: text and HTML (tables and inline styles only, no script: readable in any mail client)."""
    context = digest_context(digest)
    return RenderedDigest(subject=digest_subject(digest), text=render_text("digests/email/digest.txt", context),
                          html=render_to_string("digests/email/digest.html", context))


def digest_message_id(membership: Membership, frequency: str, period_last: date) -> str:
    """Deterministic from the DigestSend key: the same digest is always the same Message-ID."""
    return f"<digest-{frequency}-{period_last.isoformat()}-{membership.uuid}@{message_domain()}>"


# --- sending --------------------------------------------------------------------------------------

@transaction.atomic
def digest_send(*, tenant: Tenant, membership: Membership, frequency: str, period_last: date,
                now: datetime | None = None) -> DigestSend | None:
    """Send (or record that there was nothing to say) one member's digest for one period; idempotent
    (module docstring). Returns the DigestSend row, or None when the member is no longer active or
    subscribed to `frequency` (nothing written)."""
    period_first, _ = period_of(frequency, period_last)
    member = (Membership.objects.select_for_update(of=("self",)).select_related("user")
              .filter(pk=membership.pk, is_active=True, user__is_active=True).first())
    if member is None:
        return None
    existing = DigestSend.objects.filter(membership=member, frequency=frequency, period_last=period_last).first()
    if existing is not None:
        return existing
    if not DigestSubscription.objects.filter(membership=member, frequency=frequency, is_active=True).exists():
        return None
    digest = digest_build(tenant=tenant, membership=member, frequency=frequency, period_last=period_last, now=now)
    send = DigestSend(tenant=tenant, membership=member, frequency=frequency, period_first=period_first, period_last=period_last,
                      outcome=DigestSend.Outcome.NOTHING, summary=digest.summary())
    if digest.has_news:
        rendered = digest_render(digest)
        send.outcome = DigestSend.Outcome.SENT
        send.outbound_email = email_enqueue(tenant=tenant, kind=OutboundEmail.Kind.DIGEST, to_email=member.user.email,
                                            subject=rendered.subject, body_text=rendered.text, body_html=rendered.html,
                                            message_id=digest_message_id(member, frequency, period_last))
    send.full_clean(validate_constraints=False)
    send.save()
    return send
