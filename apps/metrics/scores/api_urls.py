"""Scores API, included by apps/metrics/api_urls.py (mounted at /api/v1/t/<tenant_slug>/)."""

from django.urls import path

from apps.metrics.scores import apis

urlpatterns = [
    path("metrics/summary/", apis.MetricsSummaryApi.as_view(), name="metrics-summary"),
    path("metrics/trend/", apis.MetricsTrendApi.as_view(), name="metrics-trend"),
    path("metrics/breakdown/", apis.MetricsBreakdownApi.as_view(), name="metrics-breakdown"),
    path("metrics/perception-gap/", apis.MetricsPerceptionGapApi.as_view(), name="metrics-perception-gap"),
    path("metrics/volatility/", apis.MetricsVolatilityApi.as_view(), name="metrics-volatility"),
]
