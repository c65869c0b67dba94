"""Respondent pages, global (no tenant in the URL: the token's hash finds it): /s/<token>/, the public web link, the kiosk."""

from django.urls import path

from apps.surveys.views import optout

app_name = "respond"

urlpatterns = [
    path("s/<str:token>/opt-out/", optout.optout_view, name="optout"),
]
