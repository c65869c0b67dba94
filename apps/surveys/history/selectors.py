"""Reads for response-history imports. The file and the rejection list are large: lists defer them."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.surveys.history.layouts import ROLE_LABELS, ROLES
from apps.surveys.models import Question, ResponseImport, Survey

HEAVY_FIELDS = ("file_bytes", "rejections")
REJECTIONS_SHOWN = 200


def response_import_list(*, survey: Survey, limit: int = 20) -> QuerySet[ResponseImport]:
    return (ResponseImport.objects.filter(survey=survey).defer(*HEAVY_FIELDS).select_related("created_by__user")
            .order_by("-created_at", "-id")[:limit])


def response_import_get(*, uuid, with_rejections: bool = False) -> ResponseImport | None:
    qs = ResponseImport.objects.select_related("survey", "version", "touchpoint", "created_by__user", "confirmed_by__user")
    qs = qs.defer("file_bytes") if with_rejections else qs.defer(*HEAVY_FIELDS)
    return qs.filter(uuid=uuid).first()


def version_questions(job: ResponseImport) -> list[Question]:
    return list(Question.objects.filter(version_id=job.version_id).order_by("order"))


def mapping_rows(job: ResponseImport, questions: list[Question]) -> list[tuple[str, str]]:
    """(what, the column's label) for each mapped role and question, in the form's order."""
    columns = job.summary.get("columns", [])

    def label(index) -> str:
        return columns[index] if isinstance(index, int) and 0 <= index < len(columns) else "—"

    rows = [(ROLE_LABELS[role], label(job.mapping[role])) for role in ROLES if role in job.mapping]
    rows += [(f"Question {q.key}", label(job.mapping[f"q:{q.key}"])) for q in questions if f"q:{q.key}" in job.mapping]
    return rows
