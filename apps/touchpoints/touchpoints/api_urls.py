"""Touchpoint API, mounted at /api/v1/t/<tenant_slug>/."""

from django.urls import path

from apps.touchpoints.touchpoints import apis

urlpatterns = [
    path("touchpoints/", apis.TouchpointListApi.as_view(), name="touchpoint-list"),
    path("touchpoints/<uuid:uuid>/", apis.TouchpointDetailApi.as_view(), name="touchpoint-detail"),
]
