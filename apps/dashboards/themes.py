"""The themes panel the dashboards share (issue 19 item 5): what clients talk about over a page's period and
filter — each theme's share, sentiment, NPS impact with its interval and significance, and the detractor
drivers — as a Chart (NPS impact bars) with its Table, every row opening the comments behind it.

From apps.metrics.themes.selectors (the stored theme statistics only), under any combination of the page's
filters (one: the theme rollups; more: the comment and theme cells).
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.metrics import charts
from apps.metrics.drill import responses_url
from apps.metrics.explanations import explain
from apps.metrics.params import MetricFilters
from apps.metrics.themes import selectors
from apps.reports.panels import Chart, Table, number

DRIVERS = 5  # significant detractor drivers named in words


@dataclass(frozen=True)
class ThemesPanel:
    chart: Chart | None
    drivers: tuple[str, ...]  # "Billing and fees: in 34% of detractors' comments vs 8% of promoters' (+26 points, z = 3.1)."
    comments: int
    note: str  # why there are no figures (no comments, no themes)
    themes_url: str  # where a lead manages the taxonomy

    @property
    def tables(self) -> list[Table]:
        return [self.chart.table] if self.chart else []


def _pct(value) -> str:
    return "—" if value is None else f"{value:.0f}%"


def themes_panel(tenant, f: MetricFilters, *, chart_id: str = "themes", themes_url: str = "") -> ThemesPanel:
    report = selectors.themes_report(f, tenant)  # any combination of filters (the theme cells)
    comments = report["comments"]["comments"]
    rows = report["themes"]
    if not rows:
        return ThemesPanel(None, (), comments, "No comment themes are set up yet.", themes_url)
    if not comments:
        return ThemesPanel(None, (), 0, "No comments in this period for these filters.", themes_url)
    links = tuple(responses_url(tenant.slug, f, theme=r["id"]) for r in rows)
    drawn = [{"label": r["name"], "block": {**r["nps_impact"], "n": r["nps_impact"]["n_with"]}} for r in rows]
    figure = charts.block_bars(drawn, "block", x_title="NPS impact (points: with the theme − without)")
    table = Table(
        id=chart_id, title="Comment themes",
        columns=("Theme", "Comments", "Share %", "Share CI low", "Share CI high", "Sentiment (−1…1)", "NPS impact", "Impact CI low",
                 "Impact CI high", "Impact significant", "Detractors − promoters (points)", "Driver significant"),
        rows=tuple((r["name"], r["share"]["comments"], r["share"]["value"], r["share"]["ci_low"], r["share"]["ci_high"],
                    r["sentiment"]["value"], r["nps_impact"]["value"], r["nps_impact"]["ci_low"], r["nps_impact"]["ci_high"],
                    bool(r["nps_impact"]["significant"]), r["driver"]["value"], bool(r["driver"]["significant"])) for r in rows),
        caption=f"{number(comments)} comments in the period; most commented theme first. Each theme's comments open from its row.",
        links=links)
    chart = Chart(id=chart_id, title="NPS impact of each theme", explanation=explain("themes"), figure=figure,
                  table=table, links=links)
    by_id = {r["id"]: r for r in rows}
    drivers = []
    for theme_id in report["drivers"]:
        d = by_id[theme_id]["driver"]
        if d["significant"] and d["value"] > 0:
            drivers.append(f"{by_id[theme_id]['name']}: in {_pct(d['detractor_share'])} of detractors' comments vs "
                           f"{_pct(d['promoter_share'])} of promoters' (+{d['value']:.0f} points, z = {d['z']:.1f}).")
    return ThemesPanel(chart, tuple(drivers[:DRIVERS]), comments, "", themes_url)
