"""Metrics' Celery tasks (every app keeps its tasks in `<app>/tasks.py`, found by autodiscovery): thin
adapters (tenant id + ids/ISO dates) over apps.metrics.rollups, the funnel (funnel/services.py) and
churn risk (churn/risk.py), and the beat fan-outs (CELERY_BEAT_SCHEDULE). Every task is idempotent: it
recomputes stored rows from the source rows, so running it twice leaves the same state.

The churn-risk tasks keep the names they had in apps/metrics/churn_tasks.py, so queued messages and
the beat schedule ("apps.metrics.churn_tasks.fan_out_refresh_churn_risk", nightly) still find them."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from apps.metrics import rollups
from apps.metrics.churn.risk import churn_risk_refresh
from apps.metrics.funnel import services as funnel
from apps.metrics.themes.rollups import theme_rollups_rebuild
from apps.surveys.models import INVITATIONS_CHANGED, Response
from apps.tenancy.context import tenant_context
from apps.tenancy.due import due_settle, due_version
from apps.tenancy.models import Tenant
from apps.tenancy.tasks import fan_out, fan_out_due, polling_options, tenant_task


@tenant_task()
def rollups_refresh_for_response(tenant, response_id: int) -> list[str]:
    """Refresh the days a response touches (and its invitation's funnel day) by recomputing them: what a response
    queued on commit before responses added themselves in their own transaction (rollups_add_response); kept for
    those messages and for writers that bypass `response_submit` (bulk loads, the tests' concurrent writers)."""
    response = Response.objects.filter(pk=response_id).select_related("invitation").first()
    if response is None:
        return []  # deleted since (its survey went away): the nightly reconciliation settles the days
    days = rollups.response_affected_days(response)
    rollups.rollups_refresh_days(tenant, days)
    if response.invitation is not None:
        funnel.funnel_refresh_for_invitations(tenant, [response.invitation])
    return sorted(d.isoformat() for d in days)


@tenant_task()
def funnel_refresh_for_response(tenant, response_id: int) -> int:
    """Queued on commit of a response to an invitation: refresh that invitation's funnel day."""
    response = Response.objects.filter(pk=response_id).select_related("invitation").first()
    if response is None or response.invitation is None:
        return 0
    funnel.funnel_refresh_for_invitations(tenant, [response.invitation])
    return 1


@tenant_task()
def rollups_refresh(tenant, days_iso: list[str]) -> int:
    days = {date.fromisoformat(d) for d in days_iso}
    rollups.rollups_refresh_days(tenant, days)
    return len(days)


@shared_task
def rollups_rebuild_task(tenant_id: int, rewrite_local_days: bool = False) -> dict:
    """Rebuild a tenant's rollups and funnel from scratch (month by month, each month its own
    transaction, so not a `tenant_task`). `rewrite_local_days` first re-dates responses (time-zone change)."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return {}
    if rewrite_local_days:
        rollups.local_days_rewrite(tenant)
    run = rollups.rollups_rebuild(tenant)
    funnel.funnel_rebuild(tenant)
    with tenant_context(tenant):  # the comment-theme statistics are per local day too
        theme_rollups_rebuild(tenant)
    return {"run": str(run.uuid), "rows": run.rows_checked}


RECONCILE_MONTHS_PER_TASK = 6  # a task checks at most this many tenant-months, then queues the rest as a new task


@shared_task
def reconcile_rollups(tenant_id: int) -> dict:
    """Nightly: compare every stored row with the source rows; repair and log differences. A chunk of months per
    task (rollups_reconcile resumes the run where the last chunk stopped), so no task grows with the history."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return {}
    run = rollups.rollups_reconcile(tenant, max_months=RECONCILE_MONTHS_PER_TASK)
    while run.finished_at is None and reconcile_rollups.app.conf.task_always_eager:
        run = rollups.rollups_reconcile(tenant, max_months=RECONCILE_MONTHS_PER_TASK)  # in-process: no queue to go back to
    report = {"run": str(run.uuid), "rows_checked": run.rows_checked, "rows_wrong": run.rows_wrong}
    if run.finished_at is None:
        reconcile_rollups.apply_async((tenant_id,), **polling_options())
        return {**report, "continues": True}
    return {**report, "funnel_rows_wrong": funnel.funnel_reconcile(tenant)}


@tenant_task()
def refresh_recent_funnel(tenant, minutes: int = 15) -> int:
    """Every few minutes, for the tenants whose invitations changed: refresh the funnel days of invitations that
    changed recently (read by the invitations' updated_at index)."""
    version = due_version(tenant.pk, INVITATIONS_CHANGED)  # before reading the rows (apps/tenancy/due.py)
    days = funnel.funnel_refresh_recent(tenant, minutes=minutes)
    due_settle(tenant.pk, INVITATIONS_CHANGED, version, None)
    return days


@shared_task
def fan_out_reconcile_rollups() -> int:
    return fan_out(reconcile_rollups)


@shared_task
def fan_out_refresh_recent_funnel() -> int:
    return fan_out_due(INVITATIONS_CHANGED, refresh_recent_funnel)


# --- churn risk (names kept from apps/metrics/churn_tasks.py) --------------------------------------

@tenant_task(name="apps.metrics.churn_tasks.refresh_churn_risk")
def refresh_churn_risk(tenant) -> dict:
    """Re-score every active client of the tenant and refit its churn model (one transaction)."""
    return churn_risk_refresh(tenant)


@shared_task(name="apps.metrics.churn_tasks.fan_out_refresh_churn_risk")
def fan_out_refresh_churn_risk() -> int:
    return fan_out(refresh_churn_risk)
