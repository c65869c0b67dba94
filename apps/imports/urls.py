"""Import (upload, review, confirm, progress) and export pages, mounted at /t/<tenant_slug>/."""

from django.urls import path

from apps.imports import views

app_name = "imports"

urlpatterns = [
    path("imports/", views.import_list, name="list"),
    path("imports/template/", views.import_template, name="template"),
    path("imports/<uuid:uuid>/", views.import_job, name="job"),
    path("imports/<uuid:uuid>/confirm/", views.import_job_confirm, name="job_confirm"),
    path("imports/<uuid:uuid>/cancel/", views.import_job_cancel, name="job_cancel"),
    path("imports/<uuid:uuid>/status/", views.import_job_status, name="job_status"),
    path("imports/<uuid:uuid>/rejections.csv", views.import_job_rejections, name="job_rejections"),
    path("exports/clients/", views.export_clients, name="export_clients"),
]
