"""Client and contact import API, mounted at /api/v1/t/<tenant_slug>/."""

from django.urls import path

from apps.imports import apis

urlpatterns = [
    path("imports/", apis.ImportListApi.as_view(), name="import-list"),
    path("imports/<uuid:uuid>/", apis.ImportDetailApi.as_view(), name="import-detail"),
    path("imports/<uuid:uuid>/confirm/", apis.ImportConfirmApi.as_view(), name="import-confirm"),
    path("imports/<uuid:uuid>/cancel/", apis.ImportCancelApi.as_view(), name="import-cancel"),
]
