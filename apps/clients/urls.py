"""Client, contact and segment pages, mounted at /t/<tenant_slug>/."""

from django.urls import path

from apps.clients import views

app_name = "clients"

urlpatterns = [
    path("clients/", views.client_list, name="list"),
    path("clients/new/", views.client_create, name="create"),
    path("clients/<uuid:uuid>/", views.client_detail, name="detail"),
    path("clients/<uuid:uuid>/edit/", views.client_edit, name="edit"),
    path("clients/<uuid:uuid>/delete/", views.client_delete, name="delete"),
    path("clients/<uuid:uuid>/contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/<uuid:uuid>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<uuid:uuid>/delete/", views.contact_delete, name="contact_delete"),
    path("segments/", views.segment_list, name="segments"),
    path("clients/attributes/", views.attribute_list, name="attributes"),
    path("clients/attributes/<uuid:uuid>/delete/", views.attribute_delete, name="attribute_delete"),
    path("segments/<uuid:uuid>/edit/", views.segment_edit, name="segment_edit"),
    path("segments/<uuid:uuid>/delete/", views.segment_delete, name="segment_delete"),
]
