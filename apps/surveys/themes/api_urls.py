"""Comment themes API, mounted at /api/v1/t/<tenant_slug>/."""

from django.urls import path

from apps.surveys.themes import apis

urlpatterns = [
    path("themes/", apis.ThemeListApi.as_view(), name="theme-list"),
    path("themes/<uuid:uuid>/", apis.ThemeDetailApi.as_view(), name="theme-detail"),
]
