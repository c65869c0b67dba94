"""Churn API, included by apps/metrics/api_urls.py (mounted at /api/v1/t/<tenant_slug>/)."""

from django.urls import path

from apps.metrics.churn import apis

urlpatterns = [
    path("metrics/churn/", apis.MetricsChurnApi.as_view(), name="metrics-churn"),
    path("metrics/churn-risk/", apis.MetricsChurnRiskApi.as_view(), name="metrics-churn-risk"),
]
