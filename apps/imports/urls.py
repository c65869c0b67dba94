"""Import (upload, review, confirm, progress) and export pages, mounted at /t/<tenant_slug>/."""

from django.urls import path  # noqa: F401

app_name = "imports"

urlpatterns = []
