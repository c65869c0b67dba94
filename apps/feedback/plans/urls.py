"""Action plan pages (issue 8 item 5), mounted at /t/<tenant_slug>/."""

from django.urls import path

from apps.feedback.plans import views

app_name = "plans"

urlpatterns = [
    path("action-plans/", views.plan_list_view, name="list"),
    path("action-plans/new/", views.plan_create_view, name="create"),
    path("action-plans/<uuid:uuid>/", views.plan_detail_view, name="detail"),
    path("action-plans/<uuid:uuid>/edit/", views.plan_edit_view, name="edit"),
    path("action-plans/<uuid:uuid>/cancel/", views.plan_cancel_view, name="cancel"),
    path("action-plans/<uuid:uuid>/cases/link/", views.plan_link_case_view, name="link_case"),
    path("action-plans/<uuid:uuid>/cases/unlink/", views.plan_unlink_case_view, name="unlink_case"),
]
