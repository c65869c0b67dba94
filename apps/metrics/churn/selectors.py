"""Churn reads for the API and dashboards: churn and retention over a period (from the Client rows),
the clients ranked by churn risk and the current churn model (the small per-client tables ClientHealth
and ChurnModel, refreshed nightly by apps.metrics.churn.risk)."""

from __future__ import annotations

from apps.metrics.churn.retention import churn_report
from apps.metrics.churn.risk import churn_risk_list
from apps.metrics.models import ChurnModel
from apps.metrics.params import MetricFilters


def churn(tenant, f: MetricFilters, interval: str) -> dict:
    """Churn, retention, revenue churn per period of f.first..f.last, quarterly cohorts and the tenure
    curve (apps.metrics.churn.retention.churn_report; METRICS.md "Churn and retention"), from the tenant's Client
    rows, optionally of the clients now in segment `f.segment`."""
    report = churn_report(tenant, first=f.first, last=f.last, interval=interval, segment_id=f.segment)
    return {**report, "first": f.first, "last": f.last, "segment": f.uuids.get("segment")}


def client_health_list(tenant, *, segment_id: int | None = None, owner_id: int | None = None, band: str | None = None):
    """Clients ranked by churn risk, riskiest first (apps.metrics.churn.risk.churn_risk_list)."""
    return churn_risk_list(tenant, segment_id=segment_id, owner_id=owner_id, band=band)


def churn_model_current() -> ChurnModel | None:
    """The tenant's current churn model (logistic regression with its held-out AUC, or the record that
    the rules were used)."""
    return ChurnModel.objects.filter(is_current=True).order_by("-fitted_at").first()
