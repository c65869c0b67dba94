"""Distribution API (distribute, invitations), mounted at /api/v1/t/<tenant_slug>/.

Survey invitations live at `survey-invitations/`: `invitations/` is the member invitations' resource."""

from django.urls import path

from apps.surveys.distribution import apis

urlpatterns = [
    path("surveys/<uuid:uuid>/distribute/", apis.SurveyDistributeApi.as_view(), name="survey-distribute"),
    path("surveys/<uuid:uuid>/audience/", apis.SurveyAudienceApi.as_view(), name="survey-audience"),
    path("surveys/<uuid:uuid>/test-email/", apis.SurveyTestEmailApi.as_view(), name="survey-test-email"),
    path("survey-sends/<uuid:uuid>/", apis.SurveySendDetailApi.as_view(), name="survey-send-detail"),
    path("survey-sends/<uuid:uuid>/cancel/", apis.SurveySendCancelApi.as_view(), name="survey-send-cancel"),
    path("survey-invitations/", apis.SurveyInvitationListApi.as_view(), name="survey-invitation-list"),
    path("survey-invitations/<uuid:uuid>/", apis.SurveyInvitationDetailApi.as_view(), name="survey-invitation-detail"),
]
