"""One way every dashboard page answers (thin views call `render_dashboard`):

- `?csv=<table id>`: that tile's or chart's table as a CSV download (404 for an id the page does not
  show; the filters apply as on the page; refused filters give the page with its errors, not a CSV);
- an htmx request from the filter bar: only the page's `dashboard` partial (filter bar + body), which
  htmx swaps in place and whose URL it pushes (back button works; the browser re-requests on history
  navigation, see templates/dashboards/base.html);
- otherwise, or when the page has no `dashboard` partial (an action plan, a journey audit), the whole
  page (works without JavaScript: the filter bar is a plain GET form).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template

from apps.core import spreadsheets
from apps.reports.panels import Chart, Table, Tile


def tables_of(*parts) -> list[Table]:
    """The tables of tiles, charts and tables (nested lists allowed), in page order."""
    out: list[Table] = []
    for part in parts:
        if part is None:
            continue
        if isinstance(part, Table):
            out.append(part)
        elif isinstance(part, Chart | Tile):
            out.append(part.table)
        elif isinstance(part, Iterable) and not isinstance(part, str | bytes | dict):
            out.extend(tables_of(*part))
    return out


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "data"


def csv_response(table: Table, *, filename: str) -> HttpResponse:
    """The table's raw values; formulas neutralised by apps.core.spreadsheets (respondents' comments,
    client and stage names reach a lead's spreadsheet)."""
    return spreadsheets.csv_response(table.columns, table.rows, filename=f"{_safe(filename)}.csv")


def render_dashboard(request, template: str, context: dict, *, tables: Iterable[Table] = (), page: str = "dashboard",
                     status: int | None = None):
    """Render a dashboard page, its htmx partial, or one of its tables as CSV (see the module docstring).
    `context["state"]` is the FilterState; an invalid one answers 400."""
    state = context.get("state")
    invalid = state is not None and not state.valid
    status = status or (400 if invalid else 200)
    wanted = request.GET.get("csv")
    if wanted is not None and not invalid:
        table = {t.id: t for t in tables}.get(wanted)
        if table is None:
            raise Http404("This page has no table with that id.")
        parts = [request.tenant.slug, page, table.id]
        if state is not None:
            parts += [state.filters.first.isoformat(), state.filters.last.isoformat()]
        return csv_response(table, filename="_".join(parts))
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.boosted and not htmx.history_restore_request and _has_partial(template, "dashboard"):
        template = f"{template}#dashboard"
    return render(request, template, context, status=status)


def _has_partial(template: str, name: str) -> bool:
    """Pages that share this renderer without a filter bar (an action plan, a journey audit) have no
    `dashboard` partial: an htmx request for them gets the whole page, not a 500."""
    partial = f"{template}#{name}"  # an HTML page's partial (render_dashboard renders only .html pages)
    try:
        get_template(partial)
    except TemplateDoesNotExist:
        return False
    return True
