"""Response-history import API, mounted at /api/v1/t/<tenant_slug>/."""

from django.urls import path

from apps.surveys.history import apis

urlpatterns = [
    path("surveys/<uuid:uuid>/response-imports/", apis.SurveyResponseImportApi.as_view(), name="survey-response-import"),
    path("response-imports/", apis.ResponseImportListApi.as_view(), name="response-import-list"),
    path("response-imports/<uuid:uuid>/", apis.ResponseImportDetailApi.as_view(), name="response-import-detail"),
    path("response-imports/<uuid:uuid>/mapping/", apis.ResponseImportMappingApi.as_view(), name="response-import-mapping"),
    path("response-imports/<uuid:uuid>/confirm/", apis.ResponseImportConfirmApi.as_view(), name="response-import-confirm"),
    path("response-imports/<uuid:uuid>/cancel/", apis.ResponseImportCancelApi.as_view(), name="response-import-cancel"),
]
