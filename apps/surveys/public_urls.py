"""Respondent pages, global (no tenant in the URL: the token's hash finds it): /s/<token>/, the public web link, the kiosk."""

from django.urls import path  # noqa: F401

app_name = "respond"

urlpatterns = []
