"""Digest pages, mounted at /t/<tenant_slug>/ (namespace `digests`)."""

from django.urls import path

from apps.digests import views

app_name = "digests"

urlpatterns = [
    path("settings/digests/", views.preferences_view, name="preferences"),
]
