"""The journey view (issue 7 page 2): the journey map with each stage's NPS, CSAT and CES (n and 95%
interval), the volatility of each stage transition, the moments of truth, and the stage where scores
drop most, named in words.

Every number comes from the metrics selectors (rollups only): `metrics_breakdown(by="stage")` and
`metrics_summary` with the journey filter, `volatility` for the journey. The structure (stages in
order, touchpoints, moments of truth) is the journey map's (apps.journeys.selectors.journey_map).

Filters: the period, the journey (default: the first active journey by name, else the first
journey), segment and channel, and `metric` (nps/csat/ces: the metric the chart and the "largest
drop" sentence follow). Volatility is stored per journey and stage pair only (TransitionRollup), so
the segment and channel filters do not apply to it; the page says so rather than pretending.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from django import forms
from django.db.models import Case, IntegerField, Value, When

from apps.dashboards.filters import FilterState, dashboard_filters
from apps.journeys.models import Journey
from apps.journeys.selectors import JourneyMap, MapColumn, journey_map
from apps.metrics import charts, stats
from apps.metrics.buckets import Bucket
from apps.metrics.drill import responses_url, row_url
from apps.metrics.explanations import explain
from apps.metrics.params import MetricFilters
from apps.metrics.scores import selectors
from apps.metrics.scores.tiles import METRIC_NAMES, metric_tile, min_n_for
from apps.metrics.sources import NOT_ATTRIBUTED as NOT_ATTRIBUTED_LABEL
from apps.metrics.themes import selectors as theme_selectors
from apps.reports.panels import Chart, Table, Tile, interval, number
from apps.surveys.responses.selectors import NOT_ATTRIBUTED

FIELDS = ("journey", "segment", "channel")
STAGE_METRICS = ("nps", "csat", "ces")
DEFAULT_METRIC = "nps"
METRIC_CHOICES = (("nps", "NPS"), ("csat", "CSAT"), ("ces", "CES"))
# How a change of each metric is worded, and the axis of the stage chart.
DIGITS = {"nps": 0, "csat": 0, "ces": 1}  # as the tiles write them (NPS and % as integers, CES to one decimal)
DELTA_UNIT = {"nps": "points", "csat": "percentage points", "ces": "points on the 1–7 scale"}
# A little room past the scale's ends, so a point at 100 (or −100, 1, 7) and its band are not cut in half.
AXIS = {"nps": ("NPS", [-106, 106]), "csat": ("CSAT %", [-3, 103]), "ces": ("CES (1–7)", [0.8, 7.2])}


# --- the filter bar ------------------------------------------------------------------------------

@dataclass(frozen=True)
class JourneyFilterState(FilterState):
    """The filter bar plus the journey shown (chosen or the default) and the chart's metric. A default
    journey is not written into the query (the tabs would carry it to pages filtered by it)."""

    journey: Journey | None = None
    metric: str = DEFAULT_METRIC

    def params(self) -> dict[str, str]:
        out = super().params()
        if self.filters is not None and self.metric != DEFAULT_METRIC:
            out["metric"] = self.metric
        return out


def default_journey() -> Journey | None:
    """The first active journey by name, else the first journey by name (one query)."""
    first_active = Case(When(status=Journey.Status.ACTIVE, then=Value(0)), default=Value(1), output_field=IntegerField())
    return Journey.objects.order_by(first_active, "name").first()


def journey_filters(request) -> JourneyFilterState:
    """Parse the journey view's filter bar (apps.dashboards.filters) and its `metric` select, and
    resolve the journey shown. The journey select lists journeys only: the page always shows one."""
    state = dashboard_filters(request, fields=FIELDS)
    form = state.form
    # The chart and the "largest drop" sentence follow this metric (no help text: the bar does not show one).
    form.fields["metric"] = forms.ChoiceField(choices=METRIC_CHOICES, required=False, label="Metric on the chart")
    metric = request.GET.get("metric") or DEFAULT_METRIC
    filters = state.filters
    if metric not in dict(METRIC_CHOICES):
        form.add_error("metric", "Pick NPS, CSAT or CES.")
        filters, metric = None, DEFAULT_METRIC
    journey = None
    if filters is not None:
        journey = form.cleaned_data.get("journey") or default_journey()
        if journey is not None:
            form.data["journey"] = str(journey.uuid)  # the select shows the journey on the page
            form.fields["journey"].empty_label = None
    base = {f.name: getattr(state, f.name) for f in dataclasses.fields(FilterState)}
    return JourneyFilterState(**{**base, "filters": filters}, journey=journey, metric=metric)


# --- the page -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StageScore:
    """One metric at one stage, formatted for the map (from the breakdown's block, via metric_tile)."""

    metric: str
    label: str
    value: str
    n: int
    interval: str
    low_sample: bool
    low_sample_reason: str
    chosen: bool
    drill: str = ""  # the responses behind n (the list, filtered to this stage and metric)


@dataclass(frozen=True)
class Transition:
    """From a stage to the next one on the map: the volatility of the clients' moves between them, and
    the change of the chosen metric (empty unless both stages have a value)."""

    to_name: str
    value: str
    n: int
    interval: str
    low_sample: bool
    change: str
    largest_drop: bool
    drill: str = ""  # the responses that end these moves (its n)


@dataclass(frozen=True)
class StageTheme:
    """One of a stage's most commented themes: its share of the stage's comments and its NPS impact there."""

    name: str
    share: str  # "42%"
    comments: int
    impact: str  # "NPS −35 (significant)" or ""
    significant: bool
    drill: str  # the stage's comments with this theme, in the period


@dataclass(frozen=True)
class StageColumn:
    column: MapColumn
    label: str  # "2. Sign", as in the chart and the tables
    responses: int
    scores: tuple[StageScore, ...]
    next: Transition | None
    themes: tuple[StageTheme, ...] = ()

    @property
    def stage(self):
        return self.column.stage


@dataclass(frozen=True)
class Drop:
    """Where the chosen metric falls most from one stage to the next, in words. `clear`: None when no
    fall is named, else whether the two stages' 95% intervals are apart."""

    sentence: str
    clear: bool | None = None
    from_position: int | None = None


@dataclass(frozen=True)
class JourneyPage:
    journey: Journey | None
    map: JourneyMap | None
    metric: str
    stages: tuple[StageColumn, ...] = ()
    drop: Drop = Drop("")
    tiles: tuple[Tile, ...] = ()
    charts: tuple[Chart, ...] = ()
    stages_table: Table | None = None
    notes: tuple[str, ...] = ()  # no responses; responses at no stage on the map; filters volatility ignores

    @property
    def explanation(self) -> str:
        """The rules behind the stage-by-stage map."""
        return ("Each stage counts the responses recorded at that stage of this journey in the period. "
                + " ".join(explain(m) for m in STAGE_METRICS) + " The move to the next stage: " + explain("volatility"))

    @property
    def metric_label(self) -> str:
        return METRIC_NAMES[self.metric]

    @property
    def tables(self) -> list[Table]:
        return [t.table for t in self.tiles] + [c.table for c in self.charts] + ([self.stages_table] if self.stages_table else [])


def _stage_label(column: MapColumn) -> str:
    return f"{column.position}. {column.stage.name}"


def largest_drop(points: list[tuple[str, dict]], metric: str, positions: list[int]) -> Drop:
    """The largest fall of `metric` from a stage to the next (points in map order: (name, block));
    only pairs where both stages have a value. Clear when the earlier stage's 95% interval lies wholly
    above the later one's; overlapping intervals (or a missing one) make it not clear."""
    name = METRIC_NAMES[metric]
    best, compared = None, 0
    for i in range(len(points) - 1):
        (_, a), (_, b) = points[i], points[i + 1]
        if a["value"] is None or b["value"] is None:
            continue
        compared += 1
        delta = b["value"] - a["value"]
        if delta < 0 and (best is None or delta < best[0]):
            best = (delta, i)
    if not points:
        return Drop("This journey has no stages yet, so there is nothing to compare.")
    if compared == 0:
        return Drop(f"No two consecutive stages both have {name} answers in this period, so no drop can be named.")
    if best is None:
        return Drop(f"{name} does not fall from any stage to the next in this period.")
    delta, i = best
    (a_name, a), (b_name, b) = points[i], points[i + 1]
    digits = DIGITS[metric]
    head = (f"{name} drops most from {a_name} to {b_name}: {number(a['value'], digits)} → {number(b['value'], digits)} "
            f"({number(delta, digits, signed=True)} {DELTA_UNIT[metric]}).")
    if a.get("ci_low") is None or b.get("ci_high") is None:
        thin = a_name if a.get("ci_low") is None else b_name
        return Drop(f"{head} {thin} has too few answers for an interval, so the drop is not clear.", False, positions[i])
    if a["ci_low"] > b["ci_high"]:
        return Drop(f"{head} The two stages' 95% intervals do not overlap: the drop is clear.", True, positions[i])
    return Drop(f"{head} The two stages' 95% intervals overlap ({interval(a['ci_low'], a['ci_high'], digits)}; "
                f"{interval(b['ci_low'], b['ci_high'], digits)}), so the drop is not clear at these sample sizes.", False, positions[i])


def stage_scores_figure(labels: list[str], blocks: list[dict], *, metric: str) -> dict:
    """The metric along the journey's stages in order (x: the stages as categories): the line, its 95%
    band, hollow points below the minimum sample. Same house style as charts.trend (charts.layout,
    band, series); stages without answers are gaps."""
    title, y_range = AXIS[metric]
    data = charts.band(labels, [b.get("ci_low") for b in blocks], [b.get("ci_high") for b in blocks])
    data.append(charts.series(labels, [b["value"] for b in blocks], name=METRIC_NAMES[metric],
                              hollow=[bool(b.get("low_sample")) for b in blocks],
                              text=[f"n = {b['n']}" + (" (low sample)" if b.get("low_sample") and b["n"] else "") for b in blocks]))
    layout = charts.layout(y_title=title, y_range=y_range)
    layout["xaxis"]["type"] = "category"  # "1. Discover" stays a stage name, in map order
    return {"data": data, "layout": layout}


def _volatility_tile(block: dict, min_n: int) -> Tile:
    rows = (("Value", block["value"]), ("n", block["n"]), ("95% CI low", block.get("ci_low")), ("95% CI high", block.get("ci_high")))
    low = bool(block.get("low_sample"))
    return Tile(id="volatility", label="Volatility", value=number(block["value"], 1), n=block["n"],
                interval=interval(block.get("ci_low"), block.get("ci_high")), explanation=explain("volatility"),
                table=Table(id="tile-volatility", title="Volatility", columns=("Reading", "Value"), rows=rows),
                low_sample=low, extra=("Mean jump between a client's consecutive scores, on 0–100",),
                low_sample_reason=(f"n = {block['n']} transitions is below this workspace's minimum of {min_n}: the value is unreliable."
                                   if low else ""))


def journey_page(tenant, state: JourneyFilterState) -> JourneyPage:
    """Compose the journey view from the journey map and the metrics selectors (see the module
    docstring). Fixed number of queries: the map (3), the stage breakdown (2), the journey summary (1),
    volatility (≤ 3)."""
    metric, journey = state.metric, state.journey
    if journey is None:
        return JourneyPage(journey=None, map=None, metric=metric)
    f = dataclasses.replace(state.filters, journey=journey.pk, uuids={**state.filters.uuids, "journey": str(journey.uuid)})
    jmap = journey_map(journey=journey)
    breakdown = {row["key"]: row for row in selectors.metrics_breakdown(tenant, f, "stage").rows}
    summary = selectors.metrics_summary(tenant, f)
    # Volatility is kept per journey and stage pair: only the period and the journey apply.
    vol = selectors.volatility(tenant, MetricFilters(first=f.first, last=f.last, journey=journey.pk,
                                                     uuids={"journey": str(journey.uuid)}))
    empty = stats.blocks(Bucket(), min_n_nps=tenant.min_n_nps, min_n_other=tenant.min_n_other)
    columns = jmap.columns
    rows = [breakdown.get(str(c.stage.uuid)) or empty for c in columns]
    labels = [_stage_label(c) for c in columns]
    drop = largest_drop([(c.stage.name, row[metric]) for c, row in zip(columns, rows, strict=True)], metric,
                        [c.position for c in columns])
    transitions = {(t["from_stage"], t["to_stage"]): t for t in vol.transitions}
    vol_f = MetricFilters(first=f.first, last=f.last, journey=journey.pk, uuids={"journey": str(journey.uuid)})

    def moves(from_key: str | None, from_label: str, to_key: str | None, to_label: str, n: int) -> str:
        """The responses that end the journey's moves from one stage to another (volatility's n): "" for a stage
        deleted since, or none."""
        ends = [key or (NOT_ATTRIBUTED if label == NOT_ATTRIBUTED_LABEL else "") for key, label in ((from_key, from_label), (to_key, to_label))]
        return responses_url(tenant.slug, vol_f, transition_from=ends[0], stage=ends[1]) if n and all(ends) else ""

    stage_themes = _stage_themes(tenant, f, columns)
    stages = []
    for i, (column, row) in enumerate(zip(columns, rows, strict=True)):
        scores = []
        for m in STAGE_METRICS:
            tile = metric_tile(m, row[m], min_n=min_n_for(tenant, m))
            scores.append(StageScore(metric=m, label=METRIC_NAMES[m], value=tile.value, n=tile.n, interval=tile.interval,
                                     low_sample=tile.low_sample and tile.n > 0, low_sample_reason=tile.low_sample_reason,
                                     chosen=m == metric,
                                     drill=responses_url(tenant.slug, f, answered=m, stage=str(column.stage.uuid)) if tile.n else ""))
        nxt = None
        if i + 1 < len(columns):
            t = transitions.get((str(column.stage.uuid), str(columns[i + 1].stage.uuid)))
            block = t or stats.volatility_block(0, 0, 0, tenant.min_n_other)
            a, b = row[metric]["value"], rows[i + 1][metric]["value"]
            change = "" if a is None or b is None else f"{METRIC_NAMES[metric]} {number(b - a, DIGITS[metric], signed=True)}"
            nxt = Transition(to_name=columns[i + 1].stage.name, value=number(block["value"], 1), n=block["n"],
                             interval=interval(block.get("ci_low"), block.get("ci_high")),
                             low_sample=bool(block.get("low_sample")) and block["n"] > 0, change=change,
                             largest_drop=drop.from_position == column.position,
                             drill=moves(str(column.stage.uuid), column.stage.name, str(columns[i + 1].stage.uuid),
                                         columns[i + 1].stage.name, block["n"]))
        stages.append(StageColumn(column=column, label=labels[i], responses=row["responses"], scores=tuple(scores), next=nxt,
                                  themes=stage_themes.get(str(column.stage.uuid), ())))

    mapped = {str(c.stage.uuid) for c in columns}
    others = [row for key, row in breakdown.items() if key not in mapped]
    notes = []
    if summary.metrics["responses"] == 0:
        notes.append("No responses for this journey in this period: scores appear here once surveys attributed to its "
                     "stages are answered. Try a longer period.")
    if others:
        n = sum(row["responses"] for row in others)
        notes.append(f"{number(n)} response{'s' if n != 1 else ''} in this journey {'are' if n != 1 else 'is'} not attributed to one "
                     f"of its current stages: {'they count' if n != 1 else 'it counts'} in the journey's tiles, not at any stage.")
    if f.segment is not None or f.channel is not None:
        notes.append("Volatility counts every client of this journey in the period: the segment and channel filters do not "
                     "apply to it (it is stored per stage transition).")

    tiles = (*(dataclasses.replace(metric_tile(m, summary.metrics[m], min_n=min_n_for(tenant, m)), drill=responses_url(tenant.slug, f, answered=m))
               for m in STAGE_METRICS),
             dataclasses.replace(_volatility_tile(vol.overall, tenant.min_n_other),
                                 drill=responses_url(tenant.slug, vol_f, transition_from="any") if vol.overall["n"] else ""))
    return JourneyPage(journey=journey, map=jmap, metric=metric, stages=tuple(stages), drop=drop, tiles=tiles,
                       charts=(_stage_chart(labels, rows, columns, metric, [s.scores[STAGE_METRICS.index(metric)].drill for s in stages]),
                               _volatility_chart(vol.transitions, tenant.min_n_other,
                                                 tuple(moves(t["from_stage"], t["from_label"], t["to_stage"], t["to_label"], t["n"])
                                                       for t in vol.transitions))),
                       stages_table=_stages_table(stages, rows, others, transitions, columns, tenant.slug, f), notes=tuple(notes))


STAGE_THEMES = 3  # themes named per stage card, most commented first


def _stage_themes(tenant, f: MetricFilters, columns) -> dict[str, tuple[StageTheme, ...]]:
    """{stage uuid: its most commented themes} over the page's period and filters (theme statistics per stage: two
    queries)."""
    out = {}
    for group in theme_selectors.themes_by(f, "stage", tenant)["groups"]:
        if group["key"] is None:
            continue
        named = sorted((t for t in group["themes"] if t["share"]["comments"]), key=lambda t: -t["share"]["comments"])[:STAGE_THEMES]
        out[group["key"]] = tuple(StageTheme(
            name=t["name"], share=f"{t['share']['value']:.0f}%", comments=t["share"]["comments"],
            impact=(f"NPS {number(t['nps_impact']['value'], 0, signed=True)}" + (" (significant)" if t["nps_impact"]["significant"] else ""))
            if t["nps_impact"]["value"] is not None else "",
            significant=bool(t["nps_impact"]["significant"]),
            drill=responses_url(tenant.slug, f, stage=group["key"], theme=t["id"])) for t in named)
    return out


def _stage_chart(labels: list[str], rows: list[dict], columns, metric: str, links: list[str]) -> Chart:
    name = METRIC_NAMES[metric]
    blocks = [row[metric] for row in rows]
    table = Table(id="stage-scores", title=f"{name} per stage",
                  columns=("Stage", name, "n", "95% CI low", "95% CI high", "Low sample", "Moments of truth"),
                  rows=tuple((label, b["value"], b["n"], b.get("ci_low"), b.get("ci_high"), bool(b.get("low_sample")),
                              c.moments_of_truth) for label, b, c in zip(labels, blocks, columns, strict=True)),
                  links=tuple(links))
    starred = [f"{label} ★" if c.moments_of_truth else label for label, c in zip(labels, columns, strict=True)]
    empty = ""
    if not columns:
        empty = "This journey has no stages yet."
    elif all(b["value"] is None for b in blocks):
        empty = f"No {name} answers at this journey's stages in this period."
    return Chart(id="stage-scores", title=f"{name} along the journey",
                 explanation=(f"{explain(metric)} Each stage counts the responses recorded at that stage of this journey, in "
                              "the journey's order (★: a moment of truth at that stage); the band is the 95% interval, and "
                              "hollow points have fewer answers than this workspace's minimum sample."),
                 figure=stage_scores_figure(starred, blocks, metric=metric) if not empty else {}, table=table, empty=empty,
                 links=tuple(links), links_trace=2)  # the line's points, after the band's two edges


def _volatility_chart(transitions: list[dict], min_n: int, links: tuple[str, ...]) -> Chart:
    rows = [{**t, "label": f"{t['from_label']} → {t['to_label']}"} for t in transitions]
    table = Table(id="volatility-transitions", title="Volatility per stage transition",
                  columns=("Transition", "Mean jump |Δ| (0–100)", "n", "95% CI low", "95% CI high", "Low sample"),
                  rows=tuple((r["label"], r["value"], r["n"], r.get("ci_low"), r.get("ci_high"), bool(r.get("low_sample")))
                             for r in rows),
                  caption="A transition opens the responses that end it." if any(links) else "", links=links)
    empty = "" if rows else ("No client answered twice within this journey in this period, so there is no transition to measure "
                             "yet.")
    figure = charts.block_bars(rows, None, x_title="Mean jump |Δ| (0–100)") if rows else {}
    explanation = (f"{explain('volatility')} Bars: the mean jump with its 95% interval; hatched, paler bars have fewer "
                   f"transitions than this workspace's minimum of {min_n}, so their value is unreliable.")
    return Chart(id="volatility", title="Volatility per stage transition", explanation=explanation, figure=figure,
                 table=table, empty=empty, links=links)


def _stages_table(stages: list[StageColumn], rows: list[dict], others: list[dict], transitions: dict, columns, slug: str,
                  f: MetricFilters) -> Table:
    """Every stage (and the rows of stages no longer on the map): its responses open from its name, each metric's
    n from its cell."""
    heads = ["Stage", "Position", "Moments of truth", "Responses"]
    for m in STAGE_METRICS:
        heads += [METRIC_NAMES[m], f"{METRIC_NAMES[m]} n", f"{METRIC_NAMES[m]} 95% CI low", f"{METRIC_NAMES[m]} 95% CI high"]
    heads += ["Volatility to the next stage", "Transitions to the next stage"]
    out, links, cell_links = [], [], []

    def link(key: str | None, label: str, row: dict, metric: str | None = None) -> str:
        count = row[metric]["n"] if metric else row["responses"]
        return row_url(slug, f, "stage", {"key": key, "label": label}, answered=metric) if count else ""

    def n_links(key: str | None, label: str, row: dict) -> dict[int, str]:
        return {5 + 4 * i: link(key, label, row, m) for i, m in enumerate(STAGE_METRICS)}

    moves_column = 4 + 4 * len(STAGE_METRICS) + 1  # "Transitions to the next stage"
    for i, (stage, row) in enumerate(zip(stages, rows, strict=True)):
        key = str(stage.column.stage.uuid)
        links.append(link(key, stage.column.stage.name, row))
        cell_links.append({**n_links(key, stage.column.stage.name, row), moves_column: stage.next.drill if stage.next else ""})
        cells = [stage.column.stage.name, stage.column.position, stage.column.moments_of_truth, row["responses"]]
        for m in STAGE_METRICS:
            cells += [row[m]["value"], row[m]["n"], row[m].get("ci_low"), row[m].get("ci_high")]
        t = transitions.get((str(stage.stage.uuid), str(columns[i + 1].stage.uuid))) if i + 1 < len(columns) else None
        cells += [t["value"] if t else None, t["n"] if t else (0 if i + 1 < len(columns) else None)]
        out.append(tuple(cells))
    for row in others:
        links.append(link(row["key"], row["label"], row))
        cell_links.append(n_links(row["key"], row["label"], row))
        cells = [row["label"], None, None, row["responses"]]
        for m in STAGE_METRICS:
            cells += [row[m]["value"], row[m]["n"], row[m].get("ci_low"), row[m].get("ci_high")]
        out.append((*cells, None, None))
    return Table(id="stages", title="Scores per stage", columns=tuple(heads), rows=tuple(out), links=tuple(links),
                 cell_links=tuple(cell_links))
