""""You said, we did" pages (issue 8 item 4), mounted at /t/<tenant_slug>/. Roles: apps.feedback.announcements.views."""

from django.urls import path

from apps.feedback.announcements import views as announcements

app_name = "announcements"

urlpatterns = [
    path("announcements/", announcements.announcement_list_view, name="list"),
    path("announcements/new/case/<uuid:uuid>/", announcements.announcement_new_for_case_view, name="new_for_case"),
    path("announcements/new/plan/<uuid:uuid>/", announcements.announcement_new_for_plan_view, name="new_for_plan"),
    path("announcements/<uuid:uuid>/", announcements.announcement_detail_view, name="detail"),
]
