"""The six-monthly experience audit pages (issue 8 item 8), mounted at /t/<tenant_slug>/."""

from django.urls import path

from apps.feedback.audits import views

app_name = "audits"

urlpatterns = [
    path("audits/", views.audit_list_view, name="list"),
    path("audits/journeys/<uuid:uuid>/", views.journey_audit_view, name="journey"),
    path("audits/journeys/<uuid:uuid>/pdf/", views.journey_audit_pdf_view, name="journey_pdf"),
]
