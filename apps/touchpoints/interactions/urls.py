"""Front-line pages (log an interaction, My day), mounted at /t/<tenant_slug>/."""

from django.urls import path

from apps.touchpoints.interactions import views

app_name = "interactions"

urlpatterns = [
    path("interactions/new/", views.interaction_log_view, name="log"),
    path("interactions/client-search/", views.client_search_view, name="client_search"),
    path("interactions/<uuid:uuid>/follow-up-done/", views.follow_up_done_view, name="follow_up_done"),
    path("my-day/", views.my_day_view, name="my_day"),
]
