"""Churn-risk tasks: a thin adapter over apps.metrics.churn_risk.churn_risk_refresh and its beat
fan-out (CELERY_BEAT_SCHEDULE: "apps.metrics.churn_tasks.fan_out_refresh_churn_risk", nightly).
Idempotent: a refresh recomputes every client's row from the source rows."""

from __future__ import annotations

from celery import shared_task

from apps.metrics.churn_risk import churn_risk_refresh
from apps.tenancy.tasks import fan_out, tenant_task


@tenant_task()
def refresh_churn_risk(tenant) -> dict:
    """Re-score every active client of the tenant and refit its churn model (one transaction)."""
    return churn_risk_refresh(tenant)


@shared_task
def fan_out_refresh_churn_risk() -> int:
    return fan_out(refresh_churn_risk)
