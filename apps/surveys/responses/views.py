"""Response pages: the list with its filters, a response's detail (answers, the interaction that
triggered it, the invitation's timeline, tags), tagging, and the CSV/XLSX export.

Everyone in the workspace reads; staff and up tag (viewers read only); CX leads and admins export
(an export holds personal data). Dates are read and shown in the tenant's time zone.
"""

from __future__ import annotations

import functools
import zoneinfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.core import spreadsheets
from apps.imports.forms import ExportFormatForm
from apps.surveys.models import Response
from apps.surveys.responses.forms import ResponseFilterForm, TagAddForm, TagRemoveForm
from apps.surveys.responses.search import highlighted, matched_words
from apps.surveys.responses.selectors import (
    export_question_keys,
    response_answer_rows,
    response_answers_prefetch,
    response_get_detail,
    response_list,
    score_badges,
    sentiment_badge,
    tag_list,
)
from apps.surveys.responses.services import response_tag_add, response_tag_remove
from apps.surveys.themes.forms import ResponseThemesForm
from apps.tenancy.context import tenant_context
from apps.tenancy.models import EVERYONE, LEADS, STAFF_AND_UP
from apps.tenancy.permissions import tenant_role_required

PAGE_SIZE = 50
EXPORT_CHUNK = 2000


def in_tenant_time_zone(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        with timezone.override(zoneinfo.ZoneInfo(request.tenant.time_zone)):
            return view(request, *args, **kwargs)

    return wrapped


@require_GET
@tenant_role_required(EVERYONE)
@in_tenant_time_zone
def response_list_view(request, tenant_slug):
    form = ResponseFilterForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    page = None
    if valid:
        kwargs = form.selector_kwargs() if form.is_bound else {}
        page = Paginator(response_list(**kwargs), PAGE_SIZE).get_page(request.GET.get("page"))
        search = kwargs.get("search", "")
        matched = matched_words(list(page), search) if search else {}
        for response in page:
            response.badges = score_badges(response)
            response.sentiment = sentiment_badge(response)
            response.comment_html = highlighted(response.comment, matched.get(response.pk, set()), width=160)
    query = request.GET.copy()
    query.pop("page", None)
    without_client = query.copy()
    without_client.pop("client", None)
    without_moves = query.copy()
    without_moves.pop("transition_from", None)
    context = {
        "moves": form.cleaned_data.get("transition") if form.is_bound and valid else None,
        "query_without_moves": without_moves.urlencode(),
        "only_client": form.cleaned_data.get("client") if form.is_bound and valid else None,
        "query_without_client": without_client.urlencode(),
        "form": form, "page": page, "query": query.urlencode(),
        "filtered": any(v for k, v in request.GET.items() if k != "page"),
        "can_export": request.tenant_access.role in LEADS,
    }
    return render(request, "surveys/responses/list.html", context, status=200 if valid else 400)


def _detail_context(request, response, *, tag_form=None) -> dict:
    interaction = response.interaction
    gap = None
    if interaction is not None and interaction.predicted_score is not None and response.nps is not None:
        gap = interaction.predicted_score - response.nps
    return {
        "response": response,
        "badges": score_badges(response),
        "sentiment": sentiment_badge(response),
        "theme_form": ResponseThemesForm(initial={"themes": [link.theme for link in response.theme_list]}) if response.comment else None,
        "answers": response_answer_rows(response=response),
        "interaction": interaction,
        "perception_gap": gap,
        "perception_gap_size": abs(gap) if gap is not None else None,
        "invitation": response.invitation,
        "can_tag": request.tenant_access.role in STAFF_AND_UP,
        "tag_form": tag_form or TagAddForm(),
        "tag_suggestions": tag_list().values_list("name", flat=True)[:200],
    }


def _response_or_404(uuid) -> Response:
    response = response_get_detail(uuid=uuid)
    if response is None:
        raise Http404("No such response.")
    return response


@require_GET
@tenant_role_required(EVERYONE)
@in_tenant_time_zone
def response_detail_view(request, tenant_slug, uuid):
    response = _response_or_404(uuid)
    return render(request, "surveys/responses/detail.html", _detail_context(request, response))


@require_POST
@tenant_role_required(STAFF_AND_UP)
@in_tenant_time_zone
def response_tag_add_view(request, tenant_slug, uuid):
    response = _response_or_404(uuid)
    form = TagAddForm(request.POST)
    if form.is_valid():
        try:
            tag, added = response_tag_add(tenant=request.tenant, acting_member=request.tenant_access.membership, response=response,
                                          name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_error("name", exc.messages)
        else:
            messages.success(request, f"Tagged “{tag.name}”." if added else f"Already tagged “{tag.name}”.")
            return redirect("responses:detail", tenant_slug=tenant_slug, uuid=response.uuid)
    return render(request, "surveys/responses/detail.html", _detail_context(request, response, tag_form=form), status=400)


@require_POST
@tenant_role_required(STAFF_AND_UP)
def response_tag_remove_view(request, tenant_slug, uuid):
    response = get_object_or_404(Response, uuid=uuid)
    form = TagRemoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That tag no longer exists.")
        return redirect("responses:detail", tenant_slug=tenant_slug, uuid=response.uuid)
    tag = form.cleaned_data["tag"]
    removed = response_tag_remove(tenant=request.tenant, acting_member=request.tenant_access.membership, response=response, tag=tag)
    messages.success(request, f"Tag “{tag.name}” removed." if removed else f"“{tag.name}” was not on this response.")
    return redirect("responses:detail", tenant_slug=tenant_slug, uuid=response.uuid)


# --- export -------------------------------------------------------------------------------------

FIXED_COLUMNS = ["response_id", "submitted_at", "survey", "version", "channel", "language", "client", "contact", "contact_email",
                 "touchpoint", "stage", "staff", "nps", "csat", "ces", "smiley", "comment", "comment_language", "comment_sentiment", "themes",
                 "tags", "is_bot"]


def _export_row(response: Response, keys: list[str], tz) -> list:
    answers = {a.question.key: a.value for a in response.answer_list}
    fixed = [
        str(response.uuid), response.submitted_at.astimezone(tz).isoformat(timespec="seconds"), response.survey.name,
        response.version.number, response.channel, response.language,
        response.client.name if response.client else None, response.contact.name if response.contact else None,
        response.contact.email if response.contact else None, response.touchpoint.name if response.touchpoint else None,
        response.stage.name if response.stage else None,
        (response.staff.user.full_name or response.staff.user.email) if response.staff else None,
        response.nps, response.csat, response.ces, response.smiley, response.comment, response.comment_language or None,
        response.comment_sentiment, [link.theme.name for link in response.theme_list],
        [link.tag.name for link in response.tag_links], response.is_bot,
    ]
    return fixed + [answers.get(key) for key in keys]  # cells: apps.core.spreadsheets


@require_GET
@tenant_role_required(LEADS)
def response_export_view(request, tenant_slug):
    """One row per response (the list's filters apply), one column per question key of the filtered
    surveys. CSV is streamed; both formats read the rows in chunks (a fixed number of queries per
    2,000 rows). An unknown or foreign uuid in the filters is a 400 with the error shown."""
    form = ResponseFilterForm(request.GET)
    fmt_form = ExportFormatForm(request.GET)
    if not form.is_valid() or not fmt_form.is_valid():
        return render(request, "surveys/responses/export_error.html", {"form": form, "format_form": fmt_form}, status=400)
    tenant = request.tenant
    tz = zoneinfo.ZoneInfo(tenant.time_zone)
    responses = response_list(**form.selector_kwargs()).prefetch_related(response_answers_prefetch())
    keys = export_question_keys(responses)
    header = FIXED_COLUMNS + [f"q:{key}" for key in keys]
    fmt = fmt_form.cleaned_data["format"] or "csv"
    filename = f"{tenant.slug}-responses-{timezone.localdate(timezone=tz).isoformat()}.{fmt}"
    disposition = f'attachment; filename="{filename}"'
    if fmt == "xlsx":
        data = spreadsheets.xlsx_bytes(header, (_export_row(r, keys, tz) for r in responses.iterator(chunk_size=EXPORT_CHUNK)),
                                       title="Responses")
        response = HttpResponse(data, content_type=spreadsheets.XLSX_CONTENT_TYPE)
    else:
        def stream():
            # Streamed after the view returns, so outside the request's tenant transaction: open our own.
            with tenant_context(tenant):
                yield from spreadsheets.csv_rows(header, (_export_row(r, keys, tz) for r in responses.iterator(chunk_size=EXPORT_CHUNK)))

        response = StreamingHttpResponse(stream(), content_type=spreadsheets.CSV_CONTENT_TYPE)
    response["Content-Disposition"] = disposition
    return response
