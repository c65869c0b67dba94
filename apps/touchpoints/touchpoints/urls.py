"""Touchpoint pages, mounted at /t/<tenant_slug>/."""

from django.urls import path

from apps.touchpoints.touchpoints import views

app_name = "touchpoints"

urlpatterns = [
    path("touchpoints/", views.touchpoint_list_view, name="list"),
    path("touchpoints/new/", views.touchpoint_create_view, name="create"),
    path("touchpoints/<uuid:uuid>/edit/", views.touchpoint_edit_view, name="edit"),
    path("touchpoints/<uuid:uuid>/archive/", views.touchpoint_archive_view, name="touchpoint_archive"),
    path("touchpoints/<uuid:uuid>/restore/", views.touchpoint_restore_view, name="touchpoint_restore"),
    path("touchpoints/<uuid:uuid>/delete/", views.touchpoint_delete_view, name="touchpoint_delete"),
]
