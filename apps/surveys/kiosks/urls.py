"""Kiosk device administration, mounted at /t/<tenant_slug>/."""

from django.urls import path

from apps.surveys.kiosks import views as kiosks

app_name = "kiosks"

urlpatterns = [
    path("surveys/<uuid:uuid>/kiosks/", kiosks.kiosk_list_view, name="list"),
    path("kiosks/<uuid:uuid>/revoke/", kiosks.kiosk_revoke_view, name="revoke"),
]
