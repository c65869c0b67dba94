"""Case configuration pages, mounted at /t/<tenant_slug>/ (namespace `alerts`): alert rules and root
causes. Admins change them; CX leads read them."""

from django.urls import path

from apps.feedback.alerts import views

app_name = "alerts"

urlpatterns = [
    path("settings/alert-rules/", views.rule_list_view, name="rules"),
    path("settings/alert-rules/new/", views.rule_create_view, name="rule_create"),
    path("settings/alert-rules/<uuid:uuid>/", views.rule_edit_view, name="rule_edit"),
    path("settings/alert-rules/<uuid:uuid>/delete/", views.rule_delete_view, name="rule_delete"),
    path("settings/root-causes/", views.root_cause_list_view, name="root_causes"),
    path("settings/root-causes/<uuid:uuid>/", views.root_cause_edit_view, name="root_cause_edit"),
    path("settings/root-causes/<uuid:uuid>/archive/", views.root_cause_archive_view, name="root_cause_archive"),
    path("settings/root-causes/<uuid:uuid>/restore/", views.root_cause_restore_view, name="root_cause_restore"),
]
