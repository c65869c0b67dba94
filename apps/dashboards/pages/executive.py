"""The executive summary (issue 7, page 7): one page — printable on one A4 sheet and downloadable as
PDF (apps.reports.pdf) — with NPS, CSAT and CES, the response rate, the perception gap, client
churn and the clients at high churn risk, a monthly trend of each score, and the best and worst
touchpoints.

Every number comes from the metrics selectors (apps.metrics scores/, funnel/, churn/: rollups and the per-client
tables) for the filter bar's `MetricFilters` — the same numbers as the metrics API with
`FilterState.api_params()`. This module chooses, orders and formats, returning a frozen
`ExecutivePage`; the template computes nothing. Fixed query count: summary 1, trend 1, touchpoint
breakdown 2, funnel 2, churn 1, churn-risk bands 1, current churn model 1.

Readings:
- Filters: the period and the client segment. Scores, trend, touchpoints, churn and churn risk
  apply the segment; the response rate cannot (invitations carry no segment) and counts every
  invitation of the period, which the tile says when a segment is chosen.
- Monthly trend: the 12 calendar months ending with the period's last day (the whole period when it
  is longer), so even a 7-day view shows where the scores come from.
- Best and worst touchpoints: ranked by NPS among the touchpoints with at least the workspace's
  minimum NPS sample in the period (fewer answers would rank noise); ties by more answers. The best
  three and the worst three (with fewer than six ranked: the upper half and the lower half).
- Clients at high churn risk: the latest nightly scoring (band high = score ≥ 60), not the period.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from django.db.models import Count
from django.utils import timezone

from apps.core.dates import zone
from apps.dashboards.filters import FilterState
from apps.dashboards.pages.admin import CountTile, count_tile
from apps.dashboards.pages.churn import churn_clients_url, risk_clients_url
from apps.dashboards.themes import ThemesPanel, themes_panel
from apps.metrics import charts
from apps.metrics.churn import selectors as churn_selectors
from apps.metrics.drill import PAIRS, invitations_url, responses_url
from apps.metrics.explanations import explain
from apps.metrics.funnel import selectors as funnel_selectors
from apps.metrics.models import ClientHealth
from apps.metrics.params import MetricFilters
from apps.metrics.scores import selectors
from apps.metrics.scores.tiles import METRIC_NAMES, metric_tile, min_n_for
from apps.reports.panels import Chart, Table, Tile, interval, number

FIELDS = ("segment",)
METRICS = ("nps", "csat", "ces")
TREND_MONTHS = 12
RANKED = 3  # best and worst touchpoints shown
AXIS = {"nps": ("NPS", [-100, 100]), "csat": ("% satisfied", [0, 100]), "ces": ("1 (hard) to 7 (easy)", [1, 7])}
DIGITS = {"nps": 0, "csat": 0, "ces": 1}
CHART_HEIGHT = 220


@dataclass(frozen=True)
class ExecutivePage:
    tiles: tuple[Tile, ...]  # NPS, CSAT, CES, response rate, perception gap, churn
    risk: CountTile  # clients at high churn risk
    trends: tuple[Chart, ...]  # NPS, CSAT, CES per month
    touchpoints: Chart
    themes: ThemesPanel  # what clients talk about and how each theme moves NPS
    responses: int  # counted responses in the period
    headline: str  # "412 responses in this period" (the filter summary under the bar says which period)
    trend_label: str
    quiet: bool  # no response in the period
    empty: bool  # no response in the trend's months either (a new workspace, or a long-silent one)
    generated: str

    @property
    def tables(self) -> list[Table]:
        return [*(t.table for t in self.tiles), self.risk.table, *(c.table for c in self.trends), self.touchpoints.table,
                *self.themes.tables]


def _months_back(day: date, months: int) -> date:
    """The first day of the month `months` calendar months before `day`'s month."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def trend_first(first: date, last: date) -> date:
    """First day of the trend: 12 calendar months ending with `last`, or `first` when earlier."""
    return min(first, _months_back(last, TREND_MONTHS - 1))


def _unflag_empty(tile: Tile) -> Tile:
    """No answer at all is shown as "—" with n = 0, not also as a greyed "low sample" warning (there is no
    value to distrust); a few answers stay flagged."""
    return replace(tile, low_sample=False, low_sample_reason="") if tile.n == 0 else tile


def _response_rate_tile(funnel: funnel_selectors.Funnel, *, segment: bool, min_n: int, invitations) -> Tile:
    """`invitations(step, count)`: the invitations list's address for a funnel step ("" for none)."""
    o = funnel.overall
    rate = o["response_rate"]
    extra = [f"{number(o['responded'])} answered of {number(o['delivered'])} delivered",
             f"{number(o['invited'])} invited · {number(o['skipped'])} skipped (not sent)"]
    if segment:
        extra.append("All segments: invitations carry no segment.")
    low = 0 < o["delivered"] < min_n
    return Tile(
        id="response-rate", label="Response rate", value=f"{number(rate, 0)}%" if rate is not None else "—", n=o["delivered"],
        interval=interval(o["ci_low"], o["ci_high"], 0), explanation=explain("funnel"),
        table=Table(id="tile-response-rate", title="Response rate", columns=("Reading", "Value"),
                    rows=(("Response rate %", rate), ("95% CI low", o["ci_low"]), ("95% CI high", o["ci_high"]),
                          ("Invited", o["invited"]), ("Delivered", o["delivered"]), ("Opened", o["opened"]),
                          ("Responded", o["responded"]), ("Bounced", o["bounced"]), ("Failed", o["failed"]),
                          ("Still queued", o["pending"]), ("Skipped", o["skipped"])),
                    links=("", "", "", *(invitations(step, o[step]) for step in ("invited", "delivered", "opened", "responded", "bounced",
                                                                                "failed", "pending", "skipped")))),
        drill=invitations("delivered", o["delivered"]), drill_what="invitations", extra=tuple(extra), low_sample=low,
        low_sample_reason=f"{number(o['delivered'])} delivered invitations is below this workspace's minimum of {min_n}: "
                          "the rate is unreliable." if low else "")


def _churn_tile(report: dict, *, min_n: int, clients) -> Tile:
    """`clients(which, count)`: the clients list's address for a set of the period's clients (the churn page's)."""
    total = report["total"]
    rate, retention, revenue = total["churn"], total["retention"], total["revenue_churn"]
    start = total["at_start"]
    extra = [f"{number(total['lost'])} of {number(start)} clients lost · retention "
             f"{number(retention['value'], 1) + '%' if retention['value'] is not None else '—'}"]
    if revenue["value"] is not None:
        extra.append(f"Revenue churn {number(revenue['value'], 1)}%")
    low = 0 < start < min_n
    return Tile(
        id="churn", label="Client churn", value=f"{number(rate['value'], 1)}%" if rate["value"] is not None else "—", n=start,
        interval=interval(rate["ci_low"], rate["ci_high"], 1), explanation=explain("churn") + " " + explain("revenue_churn"),
        table=Table(id="tile-churn", title="Client churn", columns=("Reading", "Value"),
                    rows=(("Churn rate %", rate["value"]), ("95% CI low", rate["ci_low"]), ("95% CI high", rate["ci_high"]),
                          ("Clients at the start", start), ("Lost", total["lost"]), ("New", total["new"]),
                          ("Clients at the end", total["at_end"]), ("Retention rate %", retention["value"]),
                          ("Revenue churn %", revenue["value"])),
                    links=("", "", "", clients("at_start", start), clients("lost", total["lost"]), clients("new", total["new"]),
                           clients("at_end", total["at_end"]), "", "")),
        drill=clients("at_start", start), drill_what="clients", extra=tuple(extra), low_sample=low,
        low_sample_reason=f"{number(start)} clients at the start is below this workspace's minimum of {min_n}: "
                          "the rate is unreliable." if low else "")


def _risk_tile(tenant, f) -> CountTile:
    """The high-risk count; each band's count opens those clients (the clients list's churn-risk filter)."""
    bands = dict(churn_selectors.client_health_list(tenant, segment_id=f.segment).values_list("band").annotate(n=Count("id")).order_by())
    high, medium, low = (bands.get(b, 0) for b in (ClientHealth.Band.HIGH, ClientHealth.Band.MEDIUM, ClientHealth.Band.LOW))
    scored = high + medium + low
    model = churn_selectors.churn_model_current()
    if model is None:
        method = "Not scored yet: the nightly scoring has not run."
    elif model.method == ClientHealth.Method.MODEL and model.auc is not None:
        method = f"Scored by a logistic regression (held-out AUC {number(model.auc, 2)})."
    else:
        method = "Scored by the documented rules (too few churned clients to fit a model)."
    return count_tile("at-risk", "Clients at high churn risk", high,
                      extra=(f"{number(medium)} medium · {number(low)} low, of {number(scored)} active clients scored", method),
                      explanation=explain("churn_risk") + " High risk: a score of 60 or more; medium: 30 to 59.",
                      rows=[("High risk", high), ("Medium risk", medium), ("Low risk", low), ("Scored clients", scored),
                            ("Method", model.method if model else None), ("AUC", model.auc if model else None)],
                      links=tuple(risk_clients_url(tenant.slug, band, f.uuids.get("segment")) if count else ""
                                  for band, count in (("high", high), ("medium", medium), ("low", low), ("scored", scored))),
                      drill_what="clients")


def _trend_chart(trend: selectors.Trend, metric: str, links: tuple[str, ...] = ()) -> Chart:
    name = METRIC_NAMES[metric]
    y_title, y_range = AXIS[metric]
    points = trend.points
    table = Table(id=f"trend-{metric}", title=f"{name} per month",
                  columns=("Month", name, "n", "95% CI low", "95% CI high", "Low sample"),
                  rows=tuple((p["start"].strftime("%Y-%m") + (" (part)" if p["partial"] else ""), p[metric]["value"], p[metric]["n"],
                              p[metric]["ci_low"], p[metric]["ci_high"], bool(p[metric]["low_sample"]) if p[metric]["n"] else None)
                             for p in points), links=links)
    answered = any(p[metric]["n"] for p in points)
    figure = {}
    if answered:
        figure = charts.trend(points, metric, name=name, y_title=y_title, y_range=y_range)
        # Small multiples: a smaller font, short unrotated month ticks, and no legend (the section says
        # what the band and the hollow points are, once for the three charts).
        layout = figure["layout"]
        layout.update(height=CHART_HEIGHT, showlegend=False, font={**layout["font"], "size": 11})
        layout["xaxis"].update(tickformat="%b\n%Y", tickangle=0, dtick="M3" if len(points) > 6 else "M1")
    return Chart(id=f"trend-{metric}", title=f"{name} per month", explanation=explain("trend"), figure=figure, table=table,
                 empty="" if answered else f"No {name} answer in these months.",
                 links=links, links_trace=len(figure["data"]) - 1 if figure else 0)  # the line's points, after the band


def _touchpoint_chart(breakdown: selectors.Breakdown, *, min_n: int, tenant_slug: str, f: MetricFilters) -> Chart:
    rows = [r for r in breakdown.rows if r["key"] is not None and r["nps"]["n"]]
    ranked = sorted((r for r in rows if not r["nps"]["low_sample"]), key=lambda r: (-r["nps"]["value"], -r["nps"]["n"], r["label"]))
    best = ranked[:min(RANKED, (len(ranked) + 1) // 2)]  # with fewer than six ranked, the upper half is "best"
    worst = ranked[len(best):][-RANKED:]
    shown = [("Best", r) for r in best] + [("Worst", r) for r in worst]
    table = Table(id="touchpoints", title="Best and worst touchpoints by NPS",
                  columns=("Group", "Touchpoint", "NPS", "95% CI low", "95% CI high", "n", "CSAT %", "CES"),
                  rows=tuple((group, r["label"], r["nps"]["value"], r["nps"]["ci_low"], r["nps"]["ci_high"], r["nps"]["n"],
                              r["csat"]["value"], r["ces"]["value"]) for group, r in shown),
                  links=tuple(responses_url(tenant_slug, f, answered="nps", touchpoint=r["key"]) for _g, r in shown))
    explanation = (explain("breakdown") + f" Ranked by NPS among the touchpoints with at least {min_n} NPS answers in the period "
                   "(this workspace's minimum sample); the whiskers are the 95% intervals.")
    if not shown:
        empty = (f"No touchpoint has {min_n} NPS answers in this period (this workspace's minimum sample), so none is ranked"
                 + (f": {len(rows)} touchpoint{'s' if len(rows) != 1 else ''} had fewer." if rows else "."))
        return Chart(id="touchpoints", title="Best and worst touchpoints", explanation=explanation, figure={}, table=table, empty=empty)
    # The group and n under the name (not on the bar, where the interval's whisker would cross it): two
    # short lines leave the bars their room on a phone (charts.bars escapes the names).
    blocks = [r["nps"] for _g, r in shown]
    figure = charts.bars([r["label"] for _g, r in shown], [b["value"] for b in blocks], low=[b["ci_low"] for b in blocks],
                         high=[b["ci_high"] for b in blocks], notes=[f"{g.lower()} · n = {number(r['nps']['n'])}" for g, r in shown],
                         x_title="NPS", x_range=[-100, 100])
    figure["layout"]["font"] = {**figure["layout"]["font"], "size": 12}
    # Best in blue, worst in vermillion, and the group named in each label (never colour alone).
    figure["data"][0]["marker"]["color"] = [charts.BLUE if g == "Best" else charts.VERMILLION for g, _r in shown]
    return Chart(id="touchpoints", title="Best and worst touchpoints", explanation=explanation, figure=figure, table=table,
                 links=table.links)


def executive_page(tenant, state: FilterState, *, now: datetime | None = None) -> ExecutivePage:
    """The executive summary for the filter bar's period and segment (module docstring)."""
    f = state.filters
    now = now or timezone.now()
    summary = selectors.metrics_summary(tenant, f)
    previous = f"previous {f.days} days" if f.days != 1 else "previous day"
    tiles = {m: _unflag_empty(metric_tile(m, summary.metrics[m], min_n=min_n_for(tenant, m), previous_label=previous))
             for m in (*METRICS, "perception_gap")}
    tiles.update({m: replace(tiles[m], drill=responses_url(tenant.slug, f, answered=m)) for m in (*METRICS, PAIRS)})
    funnel = funnel_selectors.funnel(tenant, replace(f, segment=None))
    churn = churn_selectors.churn(tenant, f, "month")
    period = churn["total"]

    def churn_clients(which: str, count: int) -> str:
        return churn_clients_url(tenant.slug, which, period["start"], period["end"], f.uuids.get("segment")) if count else ""
    trend_f = replace(f, first=trend_first(f.first, f.last))
    trend = selectors.metrics_trend(tenant, trend_f, "month")
    breakdown = selectors.metrics_breakdown(tenant, f, "touchpoint")
    responses = summary.metrics["responses"]
    first_month = trend.points[0]["start"] if trend.points else f.first
    return ExecutivePage(
        tiles=(tiles["nps"], tiles["csat"], tiles["ces"],
               _response_rate_tile(funnel, segment=f.segment is not None, min_n=tenant.min_n_other,
                                   invitations=lambda step, count: invitations_url(tenant.slug, f, step) if count else ""),
               tiles["perception_gap"], _churn_tile(churn, min_n=tenant.min_n_other, clients=churn_clients)),
        risk=_risk_tile(tenant, f),
        trends=tuple(_trend_chart(trend, m, tuple(responses_url(tenant.slug, trend_f, answered=m, first=p["start"], last=p["end"])
                                                  if p[m]["n"] else "" for p in trend.points)) for m in METRICS),
        touchpoints=_touchpoint_chart(breakdown, min_n=tenant.min_n_nps, tenant_slug=tenant.slug, f=f),
        themes=themes_panel(tenant, f, chart_id="executive-themes"),
        responses=responses,
        headline=f"{number(responses)} response{'s' if responses != 1 else ''} in this period",
        trend_label=f"{first_month:%B %Y} to {f.last:%B %Y}",
        quiet=responses == 0,
        empty=not any(p["responses"] for p in trend.points),
        generated=f"{now.astimezone(zone(tenant.time_zone)):%-d %B %Y, %H:%M} ({tenant.time_zone})",
    )
