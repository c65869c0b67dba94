"""The latest written comments for the dashboards (issue 7, CX lead overview).

A comment is a free-text answer of a *counted* response (METRICS.md "Counting": not bot-flagged,
dated by its tenant-local submission day) in the filter's range, matching every attribution filter
(the response's own survey/touchpoint/stage/journey/segment/staff/channel, as the rollups count it).
Employee-pulse (eNPS) answers are left out: they are not client feedback and are kept apart from
customer numbers everywhere (METRICS.md eNPS), so they never sit next to a client's name here.

Two queries whatever the number of rows: the newest responses carrying a comment (with their client
and survey joined), then the text answers of just those responses.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid

from apps.metrics.params import MetricFilters
from apps.surveys.models import Answer, QuestionType, Response, SurveyKind

# MetricFilters' attribution → the Response column it filters (the same columns the rollups group by).
_COLUMNS = {"survey": "survey_id", "touchpoint": "touchpoint_id", "stage": "stage_id", "journey": "journey_id",
            "segment": "segment_id", "staff": "staff_id", "channel": "channel"}


@dataclasses.dataclass(frozen=True)
class CommentRow:
    response: uuid.UUID  # the response's public id (its page: responses:detail)
    submitted_at: datetime.datetime
    day: datetime.date  # tenant-local submission day (the day it is counted on)
    client: str  # the client's name, "" when the response has no client (web link, kiosk)
    survey: str
    channel: str  # the channel's label
    nps: int | None
    csat: int | None
    ces: int | None
    smiley: int | None
    texts: tuple[str, ...]  # every non-empty free-text answer, in question order


def comments_latest(*, filters: MetricFilters, limit: int = 10) -> list[CommentRow]:
    """The `limit` newest counted responses with a written comment in filters.first..filters.last
    (tenant-local days, inclusive) matching every attribution filter, newest first, each with its
    NPS/CSAT/CES (and kiosk smiley) answers, client and survey names and its free-text answers. Two queries."""
    rows = (Response.objects.filter(is_bot=False, local_day__range=(filters.first, filters.last))
            .exclude(comment="").exclude(survey__kind=SurveyKind.ENPS))
    for name, value in filters.dimensions().items():
        rows = rows.filter(**{_COLUMNS[name]: value})
    responses = list(rows.select_related("client", "survey")
                     .only("uuid", "submitted_at", "local_day", "channel", "nps", "csat", "ces", "smiley", "comment", "client__name",
                           "survey__name", "survey__kind")
                     .order_by("-submitted_at", "-id")[:limit])
    if not responses:
        return []
    texts: dict[int, list[str]] = {}
    answers = (Answer.objects.filter(response_id__in=[r.pk for r in responses], question__type=QuestionType.TEXT)
               .order_by("response_id", "question__order").values_list("response_id", "value"))
    for response_id, value in answers:
        if isinstance(value, str) and value.strip():
            texts.setdefault(response_id, []).append(value.strip())
    channels = dict(Response.Channel.choices)
    return [CommentRow(response=r.uuid, submitted_at=r.submitted_at, day=r.local_day, client=r.client.name if r.client else "",
                       survey=r.survey.name, channel=str(channels.get(r.channel, r.channel)), nps=r.nps, csat=r.csat, ces=r.ces, smiley=r.smiley,
                       # Rows written without Answer rows (imports, bulk loads) still carry their first comment.
                       texts=tuple(texts.get(r.pk) or [r.comment.strip()]))
            for r in responses]
