"""The invitation funnel rollup (METRICS.md "Response rate and funnel"), per local day the
invitation was created × survey × channel.

Reading of the rule, applied everywhere: an invitation `skipped` by a distribution rule (opt-out,
fatigue, no address, …) was never sent, so it is not *invited*; it is counted apart as `skipped`.
Of the invited, `pending` are still queued (not yet delivered); delivered = invited − bounced −
failed − pending; opened = the link was opened (GET); responded = submitted.

Invitation statuses move after their day, so a day is refreshed when its invitations change: on a
response (the task of the response), every few minutes for invitations updated recently (beat), and
by the nightly reconciliation. Each refresh recomputes the day from the invitation rows (idempotent).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.db.models import Count, Max, Min
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.core.dates import days_bounds, local_day, zone
from apps.metrics.models import FunnelRollup
from apps.metrics.rollups import day_runs, differing_days, months
from apps.surveys.distribution.selectors import funnel_step_q
from apps.surveys.models import Invitation
from apps.tenancy.context import tenant_context
from apps.tenancy.locks import tenant_locks
from apps.tenancy.models import Tenant

KEY = ("day", "survey_id", "channel")
COUNTS = ("invited", "pending", "bounced", "failed", "opened", "responded", "skipped")


def expected_funnel(tenant: Tenant, first: date, last: date) -> list[dict]:
    """The funnel rows of first..last computed straight from the invitation rows."""
    start, end = days_bounds(tenant.time_zone, first, last)
    rows = (Invitation.objects.filter(created_at__gte=start, created_at__lt=end)
            .annotate(day=TruncDate("created_at", tzinfo=zone(tenant.time_zone)))
            .values("day", "survey_id", "channel")
            .annotate(**{step: Count("id", filter=funnel_step_q(step)) for step in COUNTS})
            .order_by())
    return [{"tenant_id": tenant.pk, **row} for row in rows]


def _lock(tenant: Tenant, days: list[date]) -> None:
    tenant_locks(f"funnel:{day.isoformat()}" for day in days)


def funnel_refresh_days(tenant: Tenant, days: Iterable[date]) -> None:
    days = sorted(set(days))
    if not days:
        return
    with tenant_context(tenant):
        _lock(tenant, days)
        for first, last in day_runs(days):
            FunnelRollup.objects.filter(day__range=(first, last)).delete()
            FunnelRollup.objects.bulk_create([FunnelRollup(**row) for row in expected_funnel(tenant, first, last)])


def funnel_refresh_for_invitations(tenant: Tenant, invitations: Iterable[Invitation]) -> None:
    funnel_refresh_days(tenant, {local_day(tenant.time_zone, i.created_at) for i in invitations})


def funnel_refresh_recent(tenant: Tenant, *, minutes: int = 15) -> int:
    """Refresh the days of invitations updated in the last `minutes` (the beat runs more often than
    that, so consecutive runs overlap). Returns how many days."""
    since = timezone.now() - timedelta(minutes=minutes)
    created = Invitation.objects.filter(updated_at__gte=since).values_list("created_at", flat=True)
    days = {local_day(tenant.time_zone, moment) for moment in created}
    funnel_refresh_days(tenant, days)
    return len(days)


def _span(tenant: Tenant) -> tuple[date, date] | None:
    bounds = Invitation.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    stored = FunnelRollup.objects.aggregate(first=Min("day"), last=Max("day"))
    firsts = [d for d in (bounds["first"] and local_day(tenant.time_zone, bounds["first"]), stored["first"]) if d]
    lasts = [d for d in (bounds["last"] and local_day(tenant.time_zone, bounds["last"]), stored["last"]) if d]
    return (min(firsts), max(lasts)) if firsts else None


def funnel_rebuild(tenant: Tenant) -> None:
    with tenant_context(tenant):
        span = _span(tenant)
    for first, last in months(*span) if span else []:
        funnel_refresh_days(tenant, [first + timedelta(days=n) for n in range((last - first).days + 1)])


def funnel_reconcile(tenant: Tenant) -> int:
    """Compare stored funnel rows with the invitation rows; repair differing days. Returns rows wrong."""
    wrong = 0
    with tenant_context(tenant):
        span = _span(tenant)
    for first, last in months(*span) if span else []:
        with tenant_context(tenant):
            stored = list(FunnelRollup.objects.filter(day__range=(first, last)).values("tenant_id", *KEY, *COUNTS))
            bad_days, bad = differing_days(expected_funnel(tenant, first, last), stored, KEY)
        wrong += bad
        funnel_refresh_days(tenant, bad_days)
    return wrong
