"""Theme pages, mounted at /t/<tenant_slug>/."""

from django.urls import path

from apps.surveys.themes import views

app_name = "themes"

urlpatterns = [
    path("themes/", views.theme_list_view, name="list"),
    path("themes/new/", views.theme_create_view, name="create"),
    path("themes/starter/", views.themes_starter_view, name="starter"),
    path("themes/suggest/", views.themes_suggest_view, name="suggest"),
    path("themes/<uuid:uuid>/edit/", views.theme_edit_view, name="edit"),
    path("themes/<uuid:uuid>/delete/", views.theme_delete_view, name="delete"),
    path("themes/suggestions/<uuid:uuid>/", views.suggestion_decide_view, name="suggestion"),
    path("responses/<uuid:uuid>/themes/", views.response_themes_view, name="response"),
]
