"""Response-history import API (issue 20 items 6 and 7): upload a file into a survey
(`surveys/<id>/response-imports/`, multipart `file` or JSON `content_base64`), follow its review
(`response-imports/<id>/`: counts, rejected rows with reasons, the columns and the mapping proposed), change the
mapping (`…/mapping/`), then confirm or cancel. The same services as the pages; CX leads and admins."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.imports.apis import UploadApiMixin, UploadInput, progress_json
from apps.surveys.history import planning, services
from apps.surveys.history.forms import zone_choices
from apps.surveys.history.layouts import ROLES
from apps.surveys.history.selectors import REJECTIONS_SHOWN, version_questions
from apps.surveys.models import ResponseImport, Survey
from apps.tenancy.api import TenantGenericApi
from apps.tenancy.models import LEADS
from apps.touchpoints.models import Touchpoint


class ResponseImportOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    survey = serializers.UUIDField(source="survey.uuid", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True, help_text="The survey version the rows answer.")
    touchpoint = serializers.UUIDField(source="touchpoint.uuid", read_only=True, allow_null=True, default=None)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    already_imported = serializers.IntegerField(source="unchanged", read_only=True,
                                                help_text="Rows whose response was imported before: left as they are.")
    columns = serializers.SerializerMethodField(help_text="The file's columns, by index (the mapping's values).")
    mapping = serializers.DictField(child=serializers.IntegerField(), read_only=True,
                                    help_text='Which column holds what: {"email": 3, "submitted_at": 7, "q:nps": 12}.')
    mapping_problem = serializers.SerializerMethodField(help_text="Why nothing can be imported with this mapping (empty when it can).")
    declared_zone = serializers.SerializerMethodField(help_text="The zone the file says its times are in (Qualtrics), if any.")
    created = serializers.SerializerMethodField(help_text="Responses written (once done).")
    rejections = serializers.SerializerMethodField(help_text=f"The first {REJECTIONS_SHOWN} rejected rows with the reason for each "
                                                                 "(empty in the list: read the import).")
    progress = serializers.SerializerMethodField(help_text="How far the review or the apply is: poll until `status` moves on.")

    class Meta:
        model = ResponseImport
        fields = ["id", "survey", "version", "file_name", "format", "file_size", "layout", "detected_layout", "time_zone", "touchpoint",
                  "status", "status_label", "rows_total", "to_create", "already_imported", "rejected", "created", "columns", "mapping",
                  "mapping_problem", "declared_zone", "rejections", "notice", "error_message", "progress", "created_at", "reviewed_at",
                  "confirmed_at", "finished_at"]

    def get_columns(self, job) -> list[str]:
        return list(job.summary.get("columns", []))

    def get_mapping_problem(self, job) -> str:
        return job.summary.get("mapping_problem", "")

    def get_declared_zone(self, job) -> str:
        return job.summary.get("declared_zone", "")

    def get_created(self, job) -> int:
        return int(job.summary.get("created", 0))

    def get_rejections(self, job) -> list[dict]:
        return (job.rejections or [])[:REJECTIONS_SHOWN] if "rejections" not in job.get_deferred_fields() else []

    def get_progress(self, job) -> dict:
        return progress_json(job)


class HistoryUploadInput(UploadInput):
    layout = serializers.ChoiceField(choices=ResponseImport.Layout.choices, default=ResponseImport.Layout.AUTO)
    time_zone = serializers.ChoiceField(choices=zone_choices(), required=False,
                                        help_text="The zone of times without an offset (default: the workspace's).")
    touchpoint = serializers.SlugRelatedField(slug_field="uuid", queryset=Touchpoint.objects, required=False, allow_null=True,
                                              help_text="Where the responses are attributed (default: the survey's), unless a row names one.")


class MappingInput(serializers.Serializer):
    mapping = serializers.DictField(child=serializers.IntegerField(min_value=0),
                                    help_text=f'Column indexes by role ({", ".join(ROLES)}) and by question ("q:<key>").')
    time_zone = serializers.ChoiceField(choices=zone_choices(), required=False)
    touchpoint = serializers.SlugRelatedField(slug_field="uuid", queryset=Touchpoint.objects, required=False, allow_null=True)

    def validate(self, data):
        job, questions = self.context["job"], self.context["questions"]
        known = set(ROLES) | {f"q:{q.key}" for q in questions}
        unknown = sorted(set(data["mapping"]) - known)
        if unknown:
            raise serializers.ValidationError({"mapping": f"Unknown: {', '.join(unknown)}. Use {', '.join(sorted(known))}."})
        problem = planning.mapping_problem(data["mapping"], questions, len(job.summary.get("columns", [])))
        if problem:
            raise serializers.ValidationError({"mapping": problem})
        return data


class ResponseImportFilter(django_filters.FilterSet):
    survey = django_filters.ModelChoiceFilter(field_name="survey", to_field_name="uuid", queryset=Survey.objects)
    status = django_filters.ChoiceFilter(choices=ResponseImport.Status.choices)

    class Meta:
        model = ResponseImport
        fields = ["survey", "status"]


def _jobs():
    return ResponseImport.objects.defer("file_bytes").select_related("survey", "version", "touchpoint")


class _JobApi(TenantGenericApi):
    read_roles = LEADS
    write_roles = LEADS
    serializer_class = ResponseImportOutput
    queryset_model = ResponseImport

    def get_tenant_queryset(self):
        return _jobs()

    def _out(self, job, code=status.HTTP_200_OK):
        job = _jobs().get(pk=job.pk)
        return Response(ResponseImportOutput(job, context={"request": self.request}).data, status=code)


UPLOAD_EXAMPLE = OpenApiExample("A small CSV, base64-encoded", request_only=True, value={
    "file_name": "qualtrics-export.csv", "content_base64": "ZW1haWwsc3VibWl0dGVkX2F0LG5wcwphbmFAZXhhbXBsZS5jb20sMjAyNC0wMy0zMSAxNDowNSw5Cg==",
    "layout": "auto", "time_zone": "Europe/Brussels"})


@extend_schema_view(post=extend_schema(summary="Upload past responses into a survey", request={"application/json": HistoryUploadInput,
                                                                                                 "multipart/form-data": HistoryUploadInput},
                                       responses={202: ResponseImportOutput}, examples=[UPLOAD_EXAMPLE]))
class SurveyResponseImportApi(UploadApiMixin, TenantGenericApi):
    """Store the file and queue its review (202): poll `response-imports/<id>/` until it is `review`, then confirm.
    Too large, empty, or not CSV/XLSX is answered at once (400) with nothing stored."""

    read_roles = LEADS
    write_roles = LEADS
    serializer_class = HistoryUploadInput
    queryset_model = Survey

    def get_tenant_queryset(self):
        return Survey.objects.select_related("current_version")

    def post(self, request, *args, **kwargs):
        survey = self.get_object()
        data = self.upload_input(HistoryUploadInput)
        job = services.response_import_create(
            tenant=request.tenant, acting_member=request.tenant_access.membership, survey=survey, uploaded_file=data["file"],
            layout=data["layout"], time_zone=data.get("time_zone", ""), touchpoint=data.get("touchpoint"))
        return Response(ResponseImportOutput(_jobs().get(pk=job.pk), context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(get=extend_schema(summary="List response-history imports"))
class ResponseImportListApi(mixins.ListModelMixin, _JobApi):
    """Newest first; filter by `survey` and `status`."""

    filterset_class = ResponseImportFilter

    def get_tenant_queryset(self):
        return _jobs().defer("rejections").order_by("-created_at", "-id")

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


@extend_schema_view(get=extend_schema(summary="Follow a response-history import"))
class ResponseImportDetailApi(mixins.RetrieveModelMixin, _JobApi):
    """Its status and progress; in review, what it will create, the rejected rows with their reasons and the mapping."""

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)


@extend_schema_view(post=extend_schema(
    summary="Change which column holds what", request=MappingInput, responses={202: ResponseImportOutput},
    examples=[OpenApiExample("Date in column 7, score in 12", request_only=True, value={
        "mapping": {"email": 3, "submitted_at": 7, "q:nps": 12, "q:reason": 13}, "time_zone": "America/Denver"})]))
class ResponseImportMappingApi(_JobApi):
    """For an import in review: new columns, zone or touchpoint; every row is checked again (202)."""

    def post(self, request, *args, **kwargs):
        job = self.get_object()
        data = self.validate_mapping(job, request.data)
        job = services.response_import_change(tenant=request.tenant, job=job, mapping=data["mapping"],
                                              time_zone=data.get("time_zone", job.time_zone),
                                              touchpoint=data["touchpoint"] if "touchpoint" in data else job.touchpoint)
        return self._out(job, status.HTTP_202_ACCEPTED)

    def validate_mapping(self, job, data):
        serializer = MappingInput(data=data, context={"request": self.request, "job": job, "questions": version_questions(job)})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


@extend_schema_view(post=extend_schema(summary="Confirm a reviewed import", request=None, responses={202: ResponseImportOutput}))
class ResponseImportConfirmApi(_JobApi):
    """Write what the review showed, in one transaction (202): poll until `done`. Only an import in review with
    responses to create can be confirmed (else 400)."""

    def post(self, request, *args, **kwargs):
        job = services.response_import_confirm(tenant=request.tenant, acting_user=request.user,
                                               acting_member=request.tenant_access.membership, job=self.get_object())
        return self._out(job, status.HTTP_202_ACCEPTED)


@extend_schema_view(post=extend_schema(summary="Cancel an import before it is confirmed", request=None))
class ResponseImportCancelApi(_JobApi):
    """Nothing is imported; an import being written or done answers 400."""

    def post(self, request, *args, **kwargs):
        return self._out(services.response_import_cancel(tenant=request.tenant, job=self.get_object()))
