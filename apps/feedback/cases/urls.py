"""Case pages, mounted at /t/<tenant_slug>/ (namespace `cases`)."""

from django.urls import path

from apps.feedback.cases import views

app_name = "cases"

urlpatterns = [
    path("cases/", views.case_list_view, name="list"),
    path("cases/new/", views.case_create_view, name="create"),
    path("cases/<uuid:uuid>/", views.case_detail_view, name="detail"),
    path("cases/<uuid:uuid>/notes/", views.case_note_view, name="note"),
    path("cases/<uuid:uuid>/assign/", views.case_assign_view, name="assign"),
    path("cases/<uuid:uuid>/take/", views.case_take_view, name="take"),
    path("cases/<uuid:uuid>/start/", views.case_start_view, name="start"),
    path("cases/<uuid:uuid>/resolve/", views.case_resolve_view, name="resolve"),
    path("cases/<uuid:uuid>/wont-fix/", views.case_wont_fix_view, name="wont_fix"),
    path("cases/<uuid:uuid>/reopen/", views.case_reopen_view, name="reopen"),
]
