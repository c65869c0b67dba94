"""Interaction API, mounted at /api/v1/t/<tenant_slug>/."""

from django.urls import path

from apps.touchpoints.interactions import apis

urlpatterns = [
    path("interactions/", apis.InteractionListApi.as_view(), name="interaction-list"),
    path("interactions/<uuid:uuid>/", apis.InteractionDetailApi.as_view(), name="interaction-detail"),
    path("interactions/<uuid:uuid>/follow-up-done/", apis.InteractionFollowUpDoneApi.as_view(), name="interaction-follow-up-done"),
]
