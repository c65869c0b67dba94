"""Response pages (list, detail, tags, export), mounted at /t/<tenant_slug>/."""

from django.urls import path  # noqa: F401

app_name = "responses"

urlpatterns = []
