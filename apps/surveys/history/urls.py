"""Response-history import pages, mounted at /t/<tenant_slug>/."""

from django.urls import path

from apps.surveys.history import views

app_name = "history"

urlpatterns = [
    path("surveys/<uuid:uuid>/history/", views.history_upload, name="upload"),
    path("surveys/<uuid:uuid>/history/template.csv", views.history_template, name="template"),
    path("response-imports/<uuid:uuid>/", views.history_job, name="job"),
    path("response-imports/<uuid:uuid>/change/", views.history_job_change, name="job_change"),
    path("response-imports/<uuid:uuid>/confirm/", views.history_job_confirm, name="job_confirm"),
    path("response-imports/<uuid:uuid>/cancel/", views.history_job_cancel, name="job_cancel"),
    path("response-imports/<uuid:uuid>/status/", views.history_job_status, name="job_status"),
    path("response-imports/<uuid:uuid>/rejections.csv", views.history_job_rejections, name="job_rejections"),
]
