"""Journey pages (list, editor, map), mounted at /t/<tenant_slug>/."""

from django.urls import path

from apps.journeys import views

app_name = "journeys"

urlpatterns = [
    path("journeys/", views.journey_list_view, name="list"),
    path("journeys/new/", views.journey_create_view, name="create"),
    path("journeys/<uuid:uuid>/", views.journey_map_view, name="map"),
    path("journeys/<uuid:uuid>/edit/", views.journey_edit_view, name="edit"),
    path("journeys/<uuid:uuid>/delete/", views.journey_delete_view, name="journey_delete"),
    path("journeys/<uuid:uuid>/reorder/", views.journey_reorder_view, name="journey_reorder"),
    path("journeys/<uuid:uuid>/stages/new/", views.stage_create_view, name="stage_create"),
    path("journeys/<uuid:journey_uuid>/stages/<uuid:uuid>/edit/", views.stage_edit_view, name="stage_edit"),
    path("journeys/<uuid:journey_uuid>/stages/<uuid:uuid>/delete/", views.stage_delete_view, name="stage_delete"),
    path("journeys/<uuid:journey_uuid>/stages/<uuid:uuid>/move/", views.stage_move_view, name="stage_move"),
    path("journeys/<uuid:journey_uuid>/stages/<uuid:uuid>/placements/new/", views.placement_create_view, name="placement_create"),
    path("journeys/<uuid:journey_uuid>/placements/<uuid:uuid>/edit/", views.placement_edit_view, name="placement_edit"),
    path("journeys/<uuid:journey_uuid>/placements/<uuid:uuid>/delete/", views.placement_delete_view, name="placement_delete"),
    path("journeys/<uuid:journey_uuid>/placements/<uuid:uuid>/move/", views.placement_move_view, name="placement_move"),
]
