"""Distribution pages (send to a segment or contacts, send log, test e-mail), mounted at /t/<tenant_slug>/."""

from django.urls import path

from apps.surveys.distribution import views

app_name = "distribution"

urlpatterns = [
    path("surveys/outbox/", views.outbox_view, name="outbox"),
    path("surveys/invitations/", views.invitations_view, name="invitations"),
    path("surveys/<uuid:uuid>/send/", views.send_view, name="send"),
    path("surveys/<uuid:uuid>/web-link-qr.svg", views.web_link_qr_view, name="web_link_qr"),
    path("surveys/sends/<uuid:uuid>/", views.send_progress_view, name="send_progress"),
    path("surveys/sends/<uuid:uuid>/status/", views.send_status_view, name="send_status"),
    path("surveys/sends/<uuid:uuid>/cancel/", views.send_cancel_view, name="send_cancel"),
    path("surveys/<uuid:uuid>/log/", views.log_view, name="log"),
    path("surveys/<uuid:uuid>/test-email/", views.test_email_view, name="test_email"),
    path("surveys/<uuid:uuid>/email/", views.email_texts_view, name="email_texts"),
    path("surveys/<uuid:uuid>/email/preview/", views.email_preview_view, name="email_preview"),
]
