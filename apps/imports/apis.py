"""Client and contact import API (issue 20 item 7: every admin task has an API): upload a file (`imports/`,
multipart `file` or JSON `content_base64`), follow its review (`imports/<id>/`: counts, rejected rows with
reasons, progress), then confirm or cancel — the pages' services. CX leads and admins.

`UploadInput` and `UploadApiMixin` also serve the surveys' response-history import API."""

from __future__ import annotations

import base64
import binascii

from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from apps.imports import selectors, services
from apps.imports.models import MAX_FILE_BYTES, ImportJob
from apps.imports.reading import limit_label
from apps.imports.uploads import SizeLimitUploadHandler
from apps.tenancy.api import TenantGenericApi
from apps.tenancy.models import LEADS

TOO_LARGE = f"The file is larger than the {limit_label()} limit. Split it into smaller files."


class UploadInput(serializers.Serializer):
    """The file, as a multipart part or base64 in JSON; `validated_data["file"]` is an uploaded file either way."""

    file = serializers.FileField(required=False, help_text="The CSV or XLSX file (multipart/form-data).")
    file_name = serializers.CharField(required=False, max_length=255, help_text="With `content_base64`: the file's name.")
    content_base64 = serializers.CharField(required=False, help_text="With JSON: the file's bytes, base64-encoded (small files; "
                                                                     "send larger ones as multipart/form-data).")

    def validate(self, data):
        if data.get("file") is not None:
            return data
        encoded = data.get("content_base64")
        if not encoded:
            raise serializers.ValidationError({"file": "Send the file: `file` (multipart/form-data) or `content_base64` (JSON)."})
        if len(encoded) > (MAX_FILE_BYTES * 4) // 3 + 4:
            raise serializers.ValidationError({"content_base64": TOO_LARGE})
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError({"content_base64": "This is not base64-encoded data."}) from None
        data["file"] = SimpleUploadedFile(data.get("file_name") or "upload.csv", content)
        return data


class UploadApiMixin:
    """Reads an upload with the size-limiting handler first: an oversized file part is neither kept in memory
    nor spooled to disk, and answers 400 with the limit."""

    def initialize_request(self, request, *args, **kwargs):
        request.upload_handlers.insert(0, SizeLimitUploadHandler(request))
        return super().initialize_request(request, *args, **kwargs)

    def upload_input(self, serializer_class):
        body = self.request.data  # parsed here: the handler flags an oversized file part
        if getattr(self.request._request, "upload_too_large", False):
            raise ApiValidationError({"file": [TOO_LARGE]})
        serializer = serializer_class(data=body, context={"request": self.request})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


def progress_json(job) -> dict:
    progress = selectors.import_job_progress(job)
    return {"phase": progress.phase_label, "done": progress.done, "total": progress.total}


class ImportJobOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    new_clients = serializers.SerializerMethodField(help_text="Clients the import creates (or created).")
    new_segments = serializers.SerializerMethodField(help_text="Segments the import creates (or created).")
    ignored_columns = serializers.SerializerMethodField(help_text="Columns that are not part of the layout.")
    rejections = serializers.SerializerMethodField(help_text=f"The first {selectors.REJECTIONS_SHOWN} rejected rows with the reason for "
                                                                 "each (empty in the list: read the import).")
    progress = serializers.SerializerMethodField(help_text="How far the review or the apply is: poll until `status` moves on.")

    class Meta:
        model = ImportJob
        fields = ["id", "file_name", "format", "file_size", "status", "status_label", "rows_total", "to_create", "to_update", "unchanged",
                  "rejected", "new_clients", "new_segments", "ignored_columns", "rejections", "notice", "error_message", "progress",
                  "created_at", "reviewed_at", "confirmed_at", "finished_at"]

    def get_new_clients(self, job) -> int:
        return int(job.summary.get("new_clients", 0))

    def get_new_segments(self, job) -> list[str]:
        return list(job.summary.get("new_segments", []))

    def get_ignored_columns(self, job) -> list[str]:
        return list(job.summary.get("ignored_columns", []))

    def get_rejections(self, job) -> list[dict]:
        return selectors.import_job_rejections_shown(job) if "rejections" not in job.get_deferred_fields() else []

    def get_progress(self, job) -> dict:
        return progress_json(job)


class _JobApi(TenantGenericApi):
    read_roles = LEADS
    write_roles = LEADS
    serializer_class = ImportJobOutput
    queryset_model = ImportJob

    def get_tenant_queryset(self):
        return ImportJob.objects.defer("file_bytes").order_by("-created_at", "-id")

    def _out(self, job, code=status.HTTP_200_OK):
        job = ImportJob.objects.defer("file_bytes").get(pk=job.pk)
        return Response(ImportJobOutput(job, context={"request": self.request}).data, status=code)


@extend_schema_view(
    get=extend_schema(summary="List client imports"),
    post=extend_schema(summary="Upload clients and contacts", request={"application/json": UploadInput, "multipart/form-data": UploadInput},
                       responses={202: ImportJobOutput},
                       examples=[OpenApiExample("A small CSV, base64-encoded", request_only=True, value={
                           "file_name": "contacts.csv",
                           "content_base64": "ZW1haWwsY29udGFjdF9uYW1lLGNsaWVudF9uYW1lCmFubkBleGFtcGxlLmNvbSxBbm4sQnJpZ2h0c2lkZQo="})]))
class ImportListApi(UploadApiMixin, mixins.ListModelMixin, _JobApi):
    """GET: newest first. POST: store the file and queue its review (202); poll `imports/<id>/` until it is
    `review`, then confirm. Too large, empty, or not CSV/XLSX is answered at once (400) with nothing stored."""

    def get_tenant_queryset(self):
        return ImportJob.objects.defer(*selectors.HEAVY_FIELDS).order_by("-created_at", "-id")  # rejections: read one import

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        data = self.upload_input(UploadInput)
        job = services.import_job_create(tenant=request.tenant, acting_user=request.user, acting_member=request.tenant_access.membership,
                                         uploaded_file=data["file"])
        return self._out(job, status.HTTP_202_ACCEPTED)


@extend_schema_view(get=extend_schema(summary="Follow a client import"))
class ImportDetailApi(mixins.RetrieveModelMixin, _JobApi):
    """Its status and progress; in review, what it will create, update or leave, and the rejected rows with reasons."""

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)


@extend_schema_view(post=extend_schema(summary="Confirm a reviewed client import", request=None, responses={202: ImportJobOutput}))
class ImportConfirmApi(_JobApi):
    """Write what the review showed, in one transaction (202): poll until `done`. Only an import in review (else 400)."""

    def post(self, request, *args, **kwargs):
        job = services.import_job_confirm(tenant=request.tenant, acting_user=request.user,
                                          acting_member=request.tenant_access.membership, job=self.get_object())
        return self._out(job, status.HTTP_202_ACCEPTED)


@extend_schema_view(post=extend_schema(summary="Cancel a client import before it is confirmed", request=None))
class ImportCancelApi(_JobApi):
    """Nothing is imported; an import being written or done answers 400."""

    def post(self, request, *args, **kwargs):
        return self._out(services.import_job_cancel(tenant=request.tenant, acting_user=request.user, job=self.get_object()))
