"""Cases, alert rules and root causes API, mounted at /api/v1/t/<tenant_slug>/."""

from django.urls import path

from apps.feedback.alerts import apis as rules
from apps.feedback.cases import apis as cases

CASE = "cases/<uuid:uuid>/"

urlpatterns = [
    path("cases/", cases.CaseListApi.as_view(), name="case-list"),
    path(CASE, cases.CaseDetailApi.as_view(), name="case-detail"),
    path(CASE + "notes/", cases.CaseNoteApi.as_view(), name="case-notes"),
    path(CASE + "assign/", cases.CaseAssignApi.as_view(), name="case-assign"),
    path(CASE + "start/", cases.CaseStartApi.as_view(), name="case-start"),
    path(CASE + "resolve/", cases.CaseResolveApi.as_view(), name="case-resolve"),
    path(CASE + "wont-fix/", cases.CaseWontFixApi.as_view(), name="case-wont-fix"),
    path(CASE + "reopen/", cases.CaseReopenApi.as_view(), name="case-reopen"),
    path("alert-rules/", rules.AlertRuleListApi.as_view(), name="alert-rule-list"),
    path("alert-rules/<uuid:uuid>/", rules.AlertRuleDetailApi.as_view(), name="alert-rule-detail"),
    path("root-causes/", rules.RootCauseListApi.as_view(), name="root-cause-list"),
    path("root-causes/<uuid:uuid>/", rules.RootCauseDetailApi.as_view(), name="root-cause-detail"),
]
