"""Front-line pages (log an interaction, My day), mounted at /t/<tenant_slug>/."""

from django.urls import path  # noqa: F401

app_name = "interactions"

urlpatterns = []
