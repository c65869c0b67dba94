"""An import of clients and contacts: the uploaded file, its review (a dry run) and its outcome.

The file itself is stored in the row (at most 10 MB), so any worker can read it without shared disk.
"""

from django.db import models

from apps.core.models import TimeStampedModel
from apps.tenancy.keys import TenantForeignKey
from apps.tenancy.models import Membership, TenantScopedModel

MAX_FILE_BYTES = 10 * 1024 * 1024


class UploadJob(TenantScopedModel, TimeStampedModel):
    """An uploaded file's way through check → review (a dry run) → confirm → apply, each step in a task:
    the client import's `ImportJob` and the surveys' response-history import share it (and the pages'
    progress, apps.imports.selectors.import_job_progress)."""

    class Status(models.TextChoices):
        VALIDATING = "validating", "Checking the file"
        REVIEW = "review", "Ready for review"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"

    ACTIVE_STATUSES = (Status.VALIDATING, Status.IMPORTING)
    CANCELLABLE_STATUSES = (Status.VALIDATING, Status.REVIEW)

    created_by = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    file_name = models.CharField(max_length=255)
    format = models.CharField(max_length=8, choices=Format.choices)
    file_bytes = models.BinaryField(editable=False)
    file_size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.VALIDATING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    to_create = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    # What the review found besides row counts.
    summary = models.JSONField(default=dict, blank=True)
    # Every rejected row: [{"row": 7, "email": "…", "reason": "…"}, …] (the page shows the first ~200).
    rejections = models.JSONField(default=list, blank=True)
    # A digest of exactly what the review promised; the apply recomputes it and refuses to differ.
    plan_digest = models.CharField(max_length=64, blank=True)
    notice = models.CharField(max_length=300, blank=True, help_text="Why the job came back to review, if it did.")
    error_message = models.TextField(blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def is_cancellable(self) -> bool:
        return self.status in self.CANCELLABLE_STATUSES


class ImportJob(UploadJob):
    """An import of clients and contacts."""

    to_update = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = TenantScopedModel.Meta.constraints
        indexes = [models.Index(fields=["tenant", "-created_at"], name="imports_job_tenant_created")]
