"""The perception gap page (issue 7 page 4; METRICS.md "Perception gap"): how far the scores staff
predict when they log an interaction are from the NPS answers clients then give — actual vs perceived
NPS side by side, and the gap (predicted − actual, points) per staff member, touchpoint and stage with
95% intervals.

Readers (admin, CX lead, viewer) see everyone. A staff member sees only themselves: the view forces the
staff filter to their membership (apps.dashboards.filters), so every number here is of their own
pairs, and the page has no per-staff chart or table at all (no other staff member's name or number can
appear). Every number comes from `selectors.perception_gap` and `selectors.metrics_summary` (the tile,
with the previous period).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from apps.dashboards.filters import FilterState
from apps.metrics import charts
from apps.metrics.drill import PAIRS, responses_url, row_url
from apps.metrics.explanations import explain
from apps.metrics.scores import selectors
from apps.metrics.scores.tiles import metric_tile, min_n_for
from apps.reports.panels import Chart, Table, Tile, interval, number

GAP_AXIS = "Predicted − actual"
GAP_COLUMNS = ("", "Pairs", "Gap (points)", "95% CI low", "95% CI high", "Perceived NPS", "Actual NPS", "Low sample")


@dataclass(frozen=True)
class PerceptionPage:
    own: bool  # a staff member reading their own pairs
    pairs: int
    verdict: str
    tiles: tuple[Tile, ...]
    charts: tuple[Chart, ...]

    @property
    def has_pairs(self) -> bool:
        return self.pairs > 0

    @property
    def tables(self) -> list[Table]:
        return [t.table for t in self.tiles] + [c.table for c in self.charts]


def verdict(block: dict, *, own: bool) -> str:
    """The overall gap in words: who over- or under-estimates, by how much, and whether the 95% interval
    excludes 0 (a clear gap) or not."""
    who = "You" if own else "Staff"
    if not block["n"]:
        return ""
    value, low, high = block["value"], block.get("ci_low"), block.get("ci_high")
    pairs = f"{number(block['n'])} pair{'s' if block['n'] != 1 else ''}"
    if value == 0:
        return f"{who} predicted clients' scores exactly on average over {pairs}."
    direction = "over-estimate" if value > 0 else "under-estimate"
    head = f"{who} {direction} clients' scores by {number(abs(value), 1)} points on average ({pairs})"
    if low is None or high is None:
        return f"{head}; too few pairs for an interval, so it is not clear yet."
    if low > 0 or high < 0:
        return f"{head}: {interval(low, high)}, which excludes 0 — a clear gap."
    return f"{head}, but the {interval(low, high)} includes 0: no clear gap at this sample size."


def _gap_table(table_id: str, title: str, first: str, rows: list[dict], links: tuple[str, ...]) -> Table:
    return Table(id=table_id, title=title, columns=(first, *GAP_COLUMNS[1:]),
                 rows=tuple((r["label"], r["n"], r["value"], r.get("ci_low"), r.get("ci_high"), r.get("perceived_nps"),
                             r.get("actual_nps"), bool(r.get("low_sample"))) for r in rows), links=links)


def _gap_chart(chart_id: str, title: str, first: str, rows: list[dict], empty: str, min_n: int, links: tuple[str, ...]) -> Chart:
    """Each row's bar and table row open its pairs (the responses with an NPS answer and a prediction)."""
    return Chart(id=chart_id, title=title, explanation=f"{explain('perception_gap')} Bars: the mean gap with its 95% interval; "
                                                       f"hatched, paler bars have fewer than {min_n} pairs (this workspace's "
                                                       "minimum), so their value is unreliable.",
                 figure=charts.block_bars(rows, None, x_title=GAP_AXIS) if rows else {},
                 table=_gap_table(chart_id, title, first, rows, links), empty="" if rows else empty, links=links)


def _paired_chart(overall: dict, overall_label: str, rows: list[dict], by: str, empty: str, links: tuple[str, ...]) -> Chart:
    """Actual vs perceived NPS of the same pairs, overall then per row (n in each label); `links`: the pairs of the
    overall row, then of each row."""
    every = [{**overall, "label": overall_label}, *rows] if overall["n"] else []
    links = links if every else ()

    table = Table(id="perceived-vs-actual", title="Perceived vs actual NPS", columns=(by, "Pairs", "Actual NPS", "Perceived NPS",
                                                                                       "Gap (points)", "Low sample"),
                  rows=tuple((r["label"], r["n"], r.get("actual_nps"), r.get("perceived_nps"), r["value"], bool(r.get("low_sample")))
                             for r in every),
                  caption="A row opens its pairs." if any(links) else "", links=links)
    figure = charts.paired_bars([r["label"] for r in every], [r.get("actual_nps") for r in every], [r.get("perceived_nps") for r in every],
                                names=("Actual NPS (clients' answers)", "Perceived NPS (staff predictions)"), x_title="NPS",
                                x_range=[-106, 106], notes=[f"n = {number(r['n'])}" for r in every]) if every else {}
    return Chart(id="perceived-vs-actual", title="Perceived vs actual NPS",
                 explanation=explain("perception_gap") + " Both bars of a group are NPS over the same pairs.",
                 figure=figure, table=table, empty="" if every else empty)  # two bars per row: the table links, not a click


def perception_page(tenant, state: FilterState, *, own: bool) -> PerceptionPage:
    """Compose the page (see the module docstring). `state.filters` carries the forced staff filter when
    `own`. Fixed number of queries: the summary (1) and the gap with its three breakdowns (1 + 3 × 2)."""
    f = state.filters
    gap = selectors.perception_gap(tenant, f)
    summary = selectors.metrics_summary(tenant, f)
    min_n = min_n_for(tenant, "perception_gap")
    tile = replace(metric_tile("perception_gap", summary.metrics["perception_gap"], min_n=min_n),
                   drill=responses_url(tenant.slug, f, answered=PAIRS))

    def links(rows: list[dict], by: str) -> tuple[str, ...]:
        return tuple(row_url(tenant.slug, f, by, r, answered=PAIRS) for r in rows)

    pairs = gap.overall["n"]
    if own:
        empty = ("You have no prediction pairs in this period. When you log an interaction, predict the score the client "
                 "would give (0–10); once they answer the survey it triggers, the pair counts here.")
    else:
        empty = ("No prediction pairs in this period. When staff log an interaction they can predict the score the client "
                 "would give (0–10); once the client answers the survey it triggers, the pair counts here.")
    chart_list = []
    if own:
        chart_list.append(_paired_chart(gap.overall, "All your interactions", gap.touchpoints, "Touchpoint", empty,
                                        (tile.drill, *links(gap.touchpoints, "touchpoint"))))
    else:
        chart_list.append(_paired_chart(gap.overall, "Everyone", gap.staff, "Staff member", empty, (tile.drill, *links(gap.staff, "staff"))))
        chart_list.append(_gap_chart("gap-staff", "Gap per staff member", "Staff member", gap.staff, empty, min_n,
                                     links(gap.staff, "staff")))
    chart_list.append(_gap_chart("gap-touchpoints", "Gap per touchpoint", "Touchpoint", gap.touchpoints, empty, min_n,
                                 links(gap.touchpoints, "touchpoint")))
    chart_list.append(_gap_chart("gap-stages", "Gap per journey stage", "Stage", gap.stages, empty, min_n, links(gap.stages, "stage")))
    return PerceptionPage(own=own, pairs=pairs, verdict=verdict(gap.overall, own=own), tiles=(tile,), charts=tuple(chart_list))
