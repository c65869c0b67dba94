"""Theme analytics API, included by apps/metrics/api_urls.py (mounted at /api/v1/t/<tenant_slug>/)."""

from django.urls import path

from apps.metrics.themes import apis

urlpatterns = [
    path("metrics/themes/", apis.MetricsThemesApi.as_view(), name="metrics-themes"),
    path("metrics/themes/trend/", apis.MetricsThemesTrendApi.as_view(), name="metrics-themes-trend"),
    path("metrics/themes/breakdown/", apis.MetricsThemesBreakdownApi.as_view(), name="metrics-themes-breakdown"),
]
