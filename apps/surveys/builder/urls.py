"""Survey builder pages (list, edit draft, preview, publish, versions), mounted at /t/<tenant_slug>/."""

from django.urls import path

from apps.surveys.builder import views

app_name = "surveys"

QUESTIONS = "surveys/<uuid:survey_uuid>/questions/<uuid:uuid>/"

urlpatterns = [
    path("surveys/", views.survey_list_view, name="list"),
    path("surveys/new/", views.survey_create_view, name="create"),
    path("surveys/<uuid:uuid>/", views.survey_edit_view, name="edit"),
    path("surveys/<uuid:uuid>/texts/", views.texts_update_view, name="texts"),
    path("surveys/<uuid:uuid>/questions/new/", views.question_create_view, name="question_create"),
    path(QUESTIONS, views.question_edit_view, name="question_edit"),
    path(QUESTIONS + "delete/", views.question_delete_view, name="question_delete"),
    path(QUESTIONS + "move/", views.question_move_view, name="question_move"),
    path("surveys/<uuid:uuid>/endings/new/", views.ending_edit_view, name="ending_create"),
    path("surveys/<uuid:uuid>/endings/<slug:key>/", views.ending_edit_view, name="ending_edit"),
    path("surveys/<uuid:uuid>/endings/<slug:key>/delete/", views.ending_delete_view, name="ending_delete"),
    path("surveys/<uuid:uuid>/preview/", views.preview_view, name="preview"),
    path("surveys/<uuid:uuid>/publish/", views.publish_view, name="publish"),
    path("surveys/<uuid:uuid>/pause/", views.survey_pause_view, name="pause"),
    path("surveys/<uuid:uuid>/resume/", views.survey_resume_view, name="resume"),
    path("surveys/<uuid:uuid>/close/", views.survey_close_view, name="close"),
    path("surveys/<uuid:uuid>/delete/", views.survey_delete_view, name="survey_delete"),
    path("surveys/<uuid:uuid>/versions/", views.versions_view, name="versions"),
    path("surveys/<uuid:survey_uuid>/versions/<uuid:uuid>/", views.version_detail_view, name="version_detail"),
]
