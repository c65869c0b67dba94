"""Response API (responses, tags), mounted at /api/v1/t/<tenant_slug>/."""

from django.urls import path

from apps.surveys.responses import apis

urlpatterns = [
    path("responses/", apis.ResponseListApi.as_view(), name="response-list"),
    path("responses/<uuid:uuid>/", apis.ResponseDetailApi.as_view(), name="response-detail"),
    path("responses/<uuid:uuid>/tags/", apis.ResponseTagAddApi.as_view(), name="response-tag-add"),
    path("responses/<uuid:response_uuid>/tags/<uuid:uuid>/", apis.ResponseTagRemoveApi.as_view(), name="response-tag-remove"),
    path("tags/", apis.TagListApi.as_view(), name="tag-list"),
]
