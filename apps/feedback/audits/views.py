"""The six-monthly experience audit (issue 8 item 8), mounted at /t/<tenant_slug>/audits/: the index of
journeys, one journey's audit (?end=YYYY-MM-DD, default today; the last completed half-year offered) and
its PDF, printed by headless Chromium through apps.reports.pdf (charts stay vector). Readers of the
dashboards (admins, CX leads, viewers) read it; nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse

from apps.core.dates import local_today
from apps.feedback.audits import selectors
from apps.feedback.audits.forms import EndForm
from apps.journeys.models import Journey
from apps.metrics import charts
from apps.metrics.explanations import explain
from apps.metrics.params import MetricFilters
from apps.reports.panels import Chart, Table, interval, number
from apps.reports.pdf import PdfUnavailable, html_to_pdf
from apps.reports.rendering import render_dashboard
from apps.tenancy.permissions import tenant_role_required
from apps.tenancy.roles import READERS

TEMPLATE = "feedback/audits/journey.html"
DIGITS = {"nps": 0, "csat": 0, "ces": 1}
AXIS = {"nps": ("NPS", [-106, 106]), "csat": ("CSAT %", [-3, 103]), "ces": ("CES (1–7)", [0.8, 7.2])}


@dataclass(frozen=True)
class AuditState:
    """What the shared chart partial and render_dashboard read of a page's state: the query its CSV links
    carry (the audit's end day) and the days (the CSV's file name)."""

    query: str
    filters: MetricFilters
    valid: bool = True


@dataclass(frozen=True)
class Cell:
    value: str
    detail: str
    marker: str  # "up" / "down" (significant) or ""
    change: str
    low_sample: bool


def _cell(metric: str, block: dict) -> str:
    return number(block["value"], DIGITS[metric]) + ("%" if metric == "csat" and block["value"] is not None else "")


def _detail(metric: str, block: dict) -> str:
    return f"n = {block['n']} · {interval(block['ci_low'], block['ci_high'], 1)}"


def _stage_cells(row: selectors.StageRow) -> list[tuple[str, Cell, Cell]]:
    out = []
    for metric in selectors.METRICS:
        c = row.change[metric]
        if c.get("delta") is None:
            change = "no comparison"
        elif c.get("z") is None:
            change = f"{number(c['delta'], 1, signed=True)} (too few answers to test)"
        else:
            change = f"{number(c['delta'], 1, signed=True)}, z = {number(c['z'], 2)}" + (" — significant" if c["significant_change"] else "")
        before, after = row.previous[metric], row.current[metric]
        out.append((metric, Cell(_cell(metric, before), _detail(metric, before), "", "", bool(before["low_sample"] and before["n"])),
                    Cell(_cell(metric, after), _detail(metric, after), row.marker(metric), change, bool(after["low_sample"] and after["n"]))))
    return out


def _charts(audit: selectors.JourneyAudit) -> list[Chart]:
    out = []
    names = ("Six months before", "Last six months")
    for metric in selectors.METRICS:
        title, x_range = AXIS[metric]
        rows = audit.stages
        prev = [r.previous[metric] for r in rows]
        cur = [r.current[metric] for r in rows]
        notes = [f"n = {p['n']:,} → {c['n']:,}" for p, c in zip(prev, cur, strict=True)]
        figure = charts.period_pair([r.name for r in rows], [p["value"] for p in prev], [p["ci_low"] for p in prev],
                                    [p["ci_high"] for p in prev], [c["value"] for c in cur], [c["ci_low"] for c in cur],
                                    [c["ci_high"] for c in cur], names=names, x_title=title, x_range=x_range, notes=notes)
        table = Table(id=f"audit-{metric}", title=f"{selectors.METRIC_NAMES[metric]} per stage",
                      columns=("Stage", "Before", "n before", "Before 95% CI low", "Before 95% CI high", "Now", "n now", "Now 95% CI low",
                               "Now 95% CI high", "Change", "z", "Significant"),
                      rows=tuple((r.name, p["value"], p["n"], p["ci_low"], p["ci_high"], c["value"], c["n"], c["ci_low"], c["ci_high"],
                                  r.change[metric]["delta"], r.change[metric]["z"], r.change[metric]["significant_change"])
                                 for r, p, c in zip(rows, prev, cur, strict=True)))
        answered = any(p["n"] or c["n"] for p, c in zip(prev, cur, strict=True))
        empty = "" if answered else f"No {selectors.METRIC_NAMES[metric]} answers at any stage in either period."
        out.append(Chart(id=f"audit-{metric}", title=f"{selectors.METRIC_NAMES[metric]} per stage, before and now",
                         explanation=explain(metric) + " Bars: the six months before (hatched) and the last six months (solid), "
                                                       "each with its 95% interval; n of both periods under each stage.",
                         figure=figure, table=table, empty=empty))
    return out


def _context(request, journey, audit, form, today, *, printing=False) -> dict:
    half = selectors.last_completed_half_year(today)
    return {"journey": journey, "audit": audit, "form": form, "printing": printing,
            "stage_rows": [(row, _stage_cells(row)) for row in audit.stages] if audit else [],
            "total_cells": _stage_cells(audit.total) if audit else [],
            "charts": _charts(audit) if audit else [], "half_year_end": half, "today": today,
            "state": AuditState(query=f"end={audit.end.isoformat()}", filters=MetricFilters(first=audit.current[0], last=audit.end))
            if audit else None}


def _audit_or_errors(request, journey):
    today = local_today(request.tenant.time_zone)
    form = EndForm(request.GET or None, today=today)
    if form.is_bound and not form.is_valid():
        return form, None, today
    end = form.cleaned_data["end"] if form.is_bound else today
    return form, selectors.journey_audit(request.tenant, journey, end=end), today


@tenant_role_required(READERS)
def audit_list_view(request, tenant_slug):
    today = local_today(request.tenant.time_zone)
    return render(request, "feedback/audits/list.html", {"journeys": selectors.journeys_for_audit(), "today": today,
                                                         "half_year_end": selectors.last_completed_half_year(today)})


@tenant_role_required(READERS)
def journey_audit_view(request, tenant_slug, uuid):
    journey = get_object_or_404(Journey, uuid=uuid)
    form, audit, today = _audit_or_errors(request, journey)
    context = _context(request, journey, audit, form, today)
    return render_dashboard(request, TEMPLATE, context, tables=[c.table for c in context["charts"]], page="audit",
                            status=400 if audit is None else 200)


@tenant_role_required(READERS)
def journey_audit_pdf_view(request, tenant_slug, uuid):
    """The same audit printed to an A4 PDF; a refused end day gives the page with its error (400), a PDF that
    cannot be made the reason in words (503) — never a 500."""
    journey = get_object_or_404(Journey, uuid=uuid)
    form, audit, today = _audit_or_errors(request, journey)
    if audit is None:
        return render(request, TEMPLATE, _context(request, journey, None, form, today), status=400)
    page_path = reverse("audits:journey", kwargs={"tenant_slug": request.tenant.slug, "uuid": journey.uuid}) + f"?end={audit.end}"
    html = render_to_string(TEMPLATE, _context(request, journey, audit, form, today, printing=True), request=request)
    try:
        pdf = html_to_pdf(html, path=page_path)
    except PdfUnavailable as exc:
        response = render(request, "feedback/audits/pdf_unavailable.html", {"reason": str(exc), "page_url": page_path, "journey": journey},
                          status=503)
        response["Retry-After"] = "60"
        return response
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{request.tenant.slug}-audit-{journey.uuid.hex[:8]}-{audit.end:%Y-%m-%d}.pdf"'
    return response
