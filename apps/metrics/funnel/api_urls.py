"""Response funnel API, included by apps/metrics/api_urls.py (mounted at /api/v1/t/<tenant_slug>/)."""

from django.urls import path

from apps.metrics.funnel import apis

urlpatterns = [
    path("metrics/funnel/", apis.MetricsFunnelApi.as_view(), name="metrics-funnel"),
]
