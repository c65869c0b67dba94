"""Survey API (surveys, versions, questions, publish), mounted at /api/v1/t/<tenant_slug>/."""

from django.urls import path

from apps.surveys.builder import apis
from apps.surveys.kiosks import apis as kiosk_apis

SURVEY = "surveys/<uuid:uuid>/"
CHILD = "surveys/<uuid:survey_uuid>/"

urlpatterns = [
    path("surveys/", apis.SurveyListApi.as_view(), name="survey-list"),
    path(SURVEY, apis.SurveyDetailApi.as_view(), name="survey-detail"),
    path(SURVEY + "publish/", apis.SurveyPublishApi.as_view(), name="survey-publish"),
    path(SURVEY + "pause/", apis.SurveyPauseApi.as_view(), name="survey-pause"),
    path(SURVEY + "resume/", apis.SurveyResumeApi.as_view(), name="survey-resume"),
    path(SURVEY + "close/", apis.SurveyCloseApi.as_view(), name="survey-close"),
    path(CHILD + "questions/", apis.QuestionListApi.as_view(), name="survey-question-list"),
    path(CHILD + "endings/", apis.SurveyEndingsApi.as_view(), name="survey-endings"),
    path(CHILD + "kiosks/", kiosk_apis.KioskListApi.as_view(), name="survey-kiosk-list"),
    path(CHILD + "kiosks/<uuid:uuid>/revoke/", kiosk_apis.KioskRevokeApi.as_view(), name="survey-kiosk-revoke"),
    path(CHILD + "questions/<uuid:uuid>/", apis.QuestionDetailApi.as_view(), name="survey-question-detail"),
    path(CHILD + "versions/", apis.SurveyVersionListApi.as_view(), name="survey-version-list"),
]
