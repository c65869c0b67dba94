"""Public feedback pages, global (no tenant in the URL: the signed value names it): the opt-out link of
"you said, we did" e-mails."""

from django.urls import path

from apps.feedback.views import announcements

app_name = "feedback_public"

urlpatterns = [
    path("u/<str:signed>/", announcements.announcement_optout_view, name="announcement_optout"),
]
