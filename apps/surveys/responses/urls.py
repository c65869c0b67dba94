"""Response pages (list, detail, tags, export), mounted at /t/<tenant_slug>/."""

from django.urls import path

from apps.surveys.responses import views

app_name = "responses"

urlpatterns = [
    path("responses/", views.response_list_view, name="list"),
    path("responses/export/", views.response_export_view, name="export"),
    path("responses/<uuid:uuid>/", views.response_detail_view, name="detail"),
    path("responses/<uuid:uuid>/tags/", views.response_tag_add_view, name="tag_add"),
    path("responses/<uuid:uuid>/tags/remove/", views.response_tag_remove_view, name="tag_remove"),
]
