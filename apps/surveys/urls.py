"""Survey builder pages (list, edit draft, preview, publish, versions), mounted at /t/<tenant_slug>/."""

from django.urls import path  # noqa: F401

app_name = "surveys"

urlpatterns = []
