"""Public feedback pages, global (no tenant in the URL: the link's token leads to it): the opt-out link of
"you said, we did" e-mails."""

from django.urls import path

from apps.feedback.announcements import views as announcements

app_name = "feedback_public"

urlpatterns = [
    path("u/<str:token>/", announcements.announcement_optout_view, name="announcement_optout"),
]
