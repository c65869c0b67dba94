"""Journey API (stages and placements nested), mounted at /api/v1/t/<tenant_slug>/."""

from django.urls import path

from apps.journeys import apis

STAGES = "journeys/<uuid:journey_uuid>/stages/"
PLACEMENTS = STAGES + "<uuid:stage_uuid>/placements/"

urlpatterns = [
    path("journeys/", apis.JourneyListApi.as_view(), name="journey-list"),
    path("journeys/<uuid:uuid>/", apis.JourneyDetailApi.as_view(), name="journey-detail"),
    path(STAGES, apis.StageListApi.as_view(), name="stage-list"),
    path(STAGES + "<uuid:uuid>/", apis.StageDetailApi.as_view(), name="stage-detail"),
    path(PLACEMENTS, apis.PlacementListApi.as_view(), name="placement-list"),
    path(PLACEMENTS + "<uuid:uuid>/", apis.PlacementDetailApi.as_view(), name="placement-detail"),
]
