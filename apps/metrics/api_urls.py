"""Metrics API (read-only reports), mounted at /api/v1/t/<tenant_slug>/: each part's API URLs, in the
order of the documented contract."""

from django.urls import include, path

urlpatterns = [
    path("", include("apps.metrics.scores.api_urls")),
    path("", include("apps.metrics.funnel.api_urls")),
    path("", include("apps.metrics.churn.api_urls")),
    path("", include("apps.metrics.themes.api_urls")),
]
