""""You said, we did" messages API, mounted at /api/v1/t/<tenant_slug>/."""

from django.urls import path

from apps.feedback.announcements import apis

urlpatterns = [
    path("announcements/", apis.AnnouncementListApi.as_view(), name="announcement-list"),
    path("announcements/<uuid:uuid>/", apis.AnnouncementDetailApi.as_view(), name="announcement-detail"),
    path("announcements/<uuid:uuid>/send/", apis.AnnouncementSendApi.as_view(), name="announcement-send"),
]
