"""Digest scheduling: thin adapters over services.digest_send.

- `fan_out_send_digests` (beat, every hour at :02): for every active tenant whose local time is in its
  send window — 07:00 tenant-local, plus `CATCH_UP_HOURS` more hourly runs that pick up what a failed
  or missed run left (DigestSend rows make the repeat free) — queue `send_digests` with the instant.
- `send_digests(tenant)`: the units due (daily every day for yesterday; weekly on Mondays for the
  Monday–Sunday before), one `send_digest` task per subscribed member and frequency without a
  DigestSend row yet, queued on commit. Each member's digest is its own task and transaction: one
  member's failure does not stop the others (and is retried by the next run of the window).
- `send_digest(tenant, membership, frequency, period_last)`: one idempotent unit.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from celery import shared_task
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core.dates import zone
from apps.digests.models import DigestSend, DigestSubscription, Frequency
from apps.digests.services import digest_send
from apps.tenancy.models import Membership, Tenant
from apps.tenancy.tasks import enqueue_on_commit, tenant_task

SEND_HOUR = 7  # tenant-local
CATCH_UP_HOURS = 2  # the 08:00 and 09:00 runs send what the 07:00 run could not


def digest_units_due(time_zone: str, now: datetime) -> list[tuple[str, date]]:
    """(frequency, period_last) due at `now` for a tenant in `time_zone`: none outside the send window
    (SEND_HOUR .. SEND_HOUR + CATCH_UP_HOURS, local); daily for yesterday; weekly on Mondays for the
    Sunday that ended the last Monday–Sunday week."""
    local = now.astimezone(zone(time_zone))
    if not SEND_HOUR <= local.hour <= SEND_HOUR + CATCH_UP_HOURS:
        return []
    yesterday = local.date() - timedelta(days=1)
    units = [(Frequency.DAILY.value, yesterday)]
    if local.weekday() == 0:
        units.append((Frequency.WEEKLY.value, yesterday))
    return units


def tenants_due(now: datetime) -> list[int]:
    """Ids of the active tenants whose send window contains `now` (one query, time zones in Python)."""
    rows = Tenant.objects.filter(is_active=True).values_list("pk", "time_zone").order_by("pk")
    return [pk for pk, time_zone in rows if digest_units_due(time_zone, now)]


@tenant_task()
def send_digests(tenant, now_iso: str) -> int:
    """Queue one `send_digest` per subscribed active member and due unit not done yet. Returns how many."""
    now = parse_datetime(now_iso)
    queued = 0
    for frequency, period_last in digest_units_due(tenant.time_zone, now):
        done = DigestSend.objects.filter(frequency=frequency, period_last=period_last).values("membership_id")
        members = (DigestSubscription.objects.filter(frequency=frequency, is_active=True, membership__is_active=True,
                                                     membership__user__is_active=True)
                   .exclude(membership_id__in=done).values_list("membership_id", flat=True).order_by("membership_id"))
        for membership_id in members:
            enqueue_on_commit(send_digest, tenant.pk, membership_id, frequency, period_last.isoformat())
            queued += 1
    return queued


@tenant_task()
def send_digest(tenant, membership_id: int, frequency: str, period_last: str) -> str | None:
    """One member's digest for one period (services.digest_send: idempotent). Returns the outcome."""
    membership = Membership.objects.filter(pk=membership_id).first()
    if membership is None:
        return None
    send = digest_send(tenant=tenant, membership=membership, frequency=frequency, period_last=date.fromisoformat(period_last))
    return send.outcome if send is not None else None


@shared_task
def fan_out_send_digests(now_iso: str | None = None) -> int:
    """Beat, hourly: `send_digests` for each tenant in its send window. Returns how many tenants."""
    now = parse_datetime(now_iso) if now_iso else timezone.now()
    ids = tenants_due(now)
    for tenant_id in ids:
        send_digests.delay(tenant_id, now.isoformat())
    return len(ids)
