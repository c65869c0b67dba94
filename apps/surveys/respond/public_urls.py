"""Respondent pages, global (no tenant in the URL: the token's hash finds it): /s/<token>/, the public web link, the kiosk."""

from django.urls import path

from apps.surveys.distribution import optout
from apps.surveys.respond import views as respond

app_name = "respond"

urlpatterns = [
    path("s/<str:token>/", respond.invitation_respond_view, name="invitation"),
    path("s/<str:token>/opt-out/", optout.optout_view, name="optout"),
    path("w/<str:web_token>/", respond.web_respond_view, name="web"),
    path("k/<str:key>/", respond.kiosk_respond_view, name="kiosk"),
]
