"""Distribution pages (send to a segment or contacts, send log, test e-mail), mounted at /t/<tenant_slug>/."""

from django.urls import path  # noqa: F401

app_name = "distribution"

urlpatterns = []
