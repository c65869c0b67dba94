"""Response API (responses, tags), mounted at /api/v1/t/<tenant_slug>/."""

from django.urls import path  # noqa: F401

urlpatterns = []
