"""The CX lead overview (issue 7, page 1): NPS, CSAT and CES tiles, a trend chart per metric, the
breakdowns by touchpoint, stage, segment, staff member and channel, the response funnel per survey and
the latest comments.

Every number comes from the metrics selectors (apps.metrics scores/ and funnel/: rollup tables only) for the
filter bar's `MetricFilters`; the comments from apps.metrics.scores.comments. This module only
chooses, orders and formats: it returns a frozen `OverviewPage` of Tiles, Charts and Tables
(apps.reports.panels) that the template lays out without computing anything. The query count is
fixed: one summary, one trend, two per breakdown (one for channels: their labels need none), two for
the funnel, two for the comments, and one more only when the period is empty (does the workspace have
any response at all?) to choose the empty-state message.

Two page options live in the URL beside the filters (shareable, back button works):
- `interval` of the trend charts, day/week/month; default from the range's length (≤ 31 days → day,
  ≤ 180 → week, longer → month);
- `metric` the breakdown bars show, nps/csat/ces (default nps).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms

from apps.dashboards.filters import FilterState
from apps.dashboards.themes import ThemesPanel, themes_panel
from apps.metrics import charts
from apps.metrics.drill import invitations_url, responses_url, row_url
from apps.metrics.explanations import explain
from apps.metrics.funnel import selectors as funnel_selectors
from apps.metrics.models import Dimension, ResponseRollup
from apps.metrics.params import MetricFilters
from apps.metrics.scores import selectors
from apps.metrics.scores.comments import CommentRow, comments_latest
from apps.metrics.scores.tiles import METRIC_NAMES, metric_tile, min_n_for
from apps.reports.panels import Chart, Table, Tile, number
from apps.surveys.responses.selectors import ScoreBadge, score_badges

METRICS = ("nps", "csat", "ces")
INTERVALS = (("day", "Day"), ("week", "Week"), ("month", "Month"))
METRIC_CHOICES = (("nps", "NPS"), ("csat", "CSAT"), ("ces", "CES"))
BREAKDOWNS = (
    (Dimension.TOUCHPOINT.value, "touchpoint", "Touchpoint"),
    (Dimension.STAGE.value, "journey stage", "Journey stage"),
    (Dimension.SEGMENT.value, "segment", "Segment"),
    (Dimension.STAFF.value, "staff member", "Staff member"),
    (Dimension.CHANNEL.value, "channel", "Channel"),
)
CHART_ROWS = 15  # bars drawn per breakdown; the table (and CSV) keeps every row
COMMENTS = 10
FUNNEL_FILTERS = ("survey", "channel")  # invitations carry these only (funnel_selectors.funnel)

# How each metric is charted: axis title and range (its whole scale, so charts compare at a glance).
AXIS = {"nps": ("NPS (−100 to 100)", [-100, 100]), "csat": ("CSAT, % satisfied", [0, 100]), "ces": ("CES, 1 (hard) to 7 (easy)", [1, 7])}
DIGITS = {"nps": 0, "csat": 0, "ces": 1}


def default_interval(f: MetricFilters) -> str:
    """Day for ranges up to 31 days, week up to 180 days, month beyond (a readable number of points)."""
    return "day" if f.days <= 31 else "week" if f.days <= 180 else "month"


# --- page options ---------------------------------------------------------------------------------

class OverviewOptionsForm(forms.Form):
    interval = forms.ChoiceField(choices=INTERVALS, required=False, label="Trend interval")
    metric = forms.ChoiceField(choices=METRIC_CHOICES, required=False, label="Breakdown metric")


@dataclass(frozen=True)
class OverviewOptions:
    """The page's own options (module docstring); `given` holds those the URL names explicitly,
    carried through the filter bar, the switches and the CSV links."""

    interval: str = "day"
    metric: str = "nps"
    given: tuple[tuple[str, str], ...] = ()


def overview_options(state: FilterState, params) -> tuple[FilterState, OverviewOptions]:
    """Parse `interval` and `metric`. A bad value is refused like a bad filter: its error joins the
    filter bar's (shown above it) and the state turns invalid, so the page answers 400, not a guess."""
    form = OverviewOptionsForm(params)
    if not form.is_valid():
        for name, errors in form.errors.items():
            state.form.add_error(None, f"{form.fields[name].label}: {' '.join(errors)}")
        return replace(state, filters=None), OverviewOptions()
    data = form.cleaned_data
    given = tuple((name, data[name]) for name in ("interval", "metric") if data.get(name))
    interval = data.get("interval") or (default_interval(state.filters) if state.filters else "day")
    return state, OverviewOptions(interval=interval, metric=data.get("metric") or "nps", given=given)


# --- the page -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Switch:
    """One choice of a page option, as a link (works without JavaScript; htmx swaps the page in place)."""

    id: str
    label: str
    query: str
    current: bool


@dataclass(frozen=True)
class Links:
    """What the tile/chart partials read as `state`: the query of this page's CSV links, so a table is
    downloaded with the filters and the options it is shown with."""

    query: str


@dataclass(frozen=True)
class Comment:
    response: str  # public id, for the link to the response page
    when: str  # "12 Mar 2026, 14:05" in the workspace's time zone
    when_iso: str
    client: str
    survey: str
    channel: str
    badges: tuple[ScoreBadge, ...]
    texts: tuple[str, ...]


@dataclass(frozen=True)
class OverviewPage:
    responses: str  # "412 responses (380 in the previous 30 days)"
    tiles: tuple[Tile, ...]
    interval: str
    interval_switch: tuple[Switch, ...]
    trends: tuple[Chart, ...]
    metric: str
    metric_label: str
    metric_switch: tuple[Switch, ...]
    breakdowns: tuple[Chart, ...]
    funnel: Chart
    response_rates: Chart
    funnel_note: str  # which filters the funnel cannot apply, when some are set
    themes: ThemesPanel
    comments: tuple[Comment, ...]
    comments_table: Table
    comments_explanation: str
    comments_query: str  # the responses list with the same range (and the filters it has), comments only
    empty: bool  # the workspace has no response at all yet
    quiet: bool  # responses exist, but none in this period for these filters
    links: Links
    carry: tuple[tuple[str, str], ...]  # the options given, as hidden inputs the filter bar sends along

    @property
    def has_responses(self) -> bool:
        """Anything to chart: else the page shows the tiles, the message, and the funnel if it has data."""
        return not (self.empty or self.quiet)

    @property
    def tables(self) -> list[Table]:
        """Every table of the page (CSV ids), in page order."""
        return [*(t.table for t in self.tiles), *(c.table for c in self.trends), *(c.table for c in self.breakdowns),
                *self.themes.tables, self.funnel.table, self.response_rates.table, self.comments_table]


def overview_page(tenant, state: FilterState, options: OverviewOptions) -> OverviewPage:
    """Compose the overview for the filters of `state` (valid) and the page options."""
    f = state.filters
    summary = selectors.metrics_summary(tenant, f)
    trend = selectors.metrics_trend(tenant, f, options.interval)
    breakdowns = [(by, selectors.metrics_breakdown(tenant, f, by), noun, heading) for by, noun, heading in BREAKDOWNS]
    funnel = funnel_selectors.funnel(tenant, f)
    comments = comments_latest(filters=f, limit=COMMENTS)

    total = summary.metrics["responses"]
    previous_label = f"previous {f.days} days" if f.days > 1 else "previous day"
    tiles = tuple(replace(_tile(metric, summary.metrics[metric], tenant, previous_label), drill=responses_url(tenant.slug, f, answered=metric))
                  for metric in METRICS)
    base = state.params()
    links = Links(query=urlencode({**base, **dict(options.given)}))
    empty = total == 0 and summary.previous_responses == 0 and not _workspace_has_responses()
    return OverviewPage(
        responses=(f"{_count(total, 'response')} ({number(summary.previous_responses)} in the {previous_label})"),
        tiles=tiles,
        interval=options.interval,
        interval_switch=_switch("interval", INTERVALS, options, base),
        trends=tuple(_trend_chart(trend, metric, tenant, f) for metric in METRICS),
        metric=options.metric,
        metric_label=METRIC_NAMES[options.metric],
        metric_switch=_switch("metric", METRIC_CHOICES, options, base),
        breakdowns=tuple(_breakdown_chart(b, by, noun, heading, options.metric, tenant, f) for by, b, noun, heading in breakdowns),
        funnel=_funnel_chart(funnel, lambda step, count, **narrow: invitations_url(tenant.slug, f, step, **narrow) if count else ""),
        response_rates=_response_rate_chart(funnel,
                                            lambda step, count, **narrow: invitations_url(tenant.slug, f, step, **narrow) if count else ""),
        funnel_note=_funnel_note(state),
        themes=themes_panel(tenant, f),
        comments=tuple(_comment(row, tenant.time_zone) for row in comments),
        comments_table=_comments_table(comments, tenant.time_zone),
        comments_explanation=(f"{explain('comments')} Employee-pulse (eNPS) answers are not client feedback and are not "
                              "shown here."),
        comments_query=_comments_query(state),
        empty=empty,
        quiet=total == 0 and not empty,
        links=links,
        carry=options.given,
    )


def _tile(metric: str, block: dict, tenant, previous_label: str) -> Tile:
    """metric_tile, quiet where there is nothing to say: no "low sample" warning without a single
    answer (the value is "—" already), and "no answers" rather than "— (n = 0)" for the period before."""
    tile = metric_tile(metric, block, min_n=min_n_for(tenant, metric), previous_label=previous_label)
    if not tile.n:
        tile = replace(tile, low_sample=False, low_sample_reason="")
    if not (block.get("previous") or {}).get("n"):
        tile = replace(tile, previous=f"No answers in the {previous_label}.")
    return tile


def _workspace_has_responses() -> bool:
    """Whether any response was ever counted here (the rollups' tenant totals), to tell an empty
    workspace ("publish a survey") from an empty period ("widen the filters")."""
    return ResponseRollup.objects.filter(dimension=Dimension.TOTAL).exists()


def _count(n: int, noun: str) -> str:
    return f"{number(n)} {noun}{'' if n == 1 else 's'}"


def _switch(name: str, choices, options: OverviewOptions, base: dict) -> tuple[Switch, ...]:
    current = getattr(options, name)
    given = dict(options.given)
    return tuple(Switch(id=f"{name}-{value}", label=label, query=urlencode({**base, **given, name: value}), current=value == current)
                 for value, label in choices)


# --- trends ---------------------------------------------------------------------------------------

def _trend_chart(trend: selectors.Trend, metric: str, tenant, f: MetricFilters) -> Chart:
    name = METRIC_NAMES[metric]
    y_range = AXIS[metric][1]
    points = trend.points
    # No axis title: the panel's heading names the metric, and a narrow column needs the width.
    figure = charts.trend(points, metric, name=name, y_range=y_range)
    figure["layout"]["height"] = 260
    rows = tuple((p["start"], p["end"], p[metric]["value"], p[metric]["ci_low"], p[metric]["ci_high"], p[metric]["n"],
                  bool(p[metric]["low_sample"]) and p[metric]["n"] > 0, p["partial"]) for p in points)
    answered = sum(p[metric]["n"] for p in points)
    table_links = tuple(responses_url(tenant.slug, f, answered=metric, first=p["start"], last=p["end"]) if p[metric]["n"] else ""
                        for p in points)
    unit = {"day": "day", "week": "week", "month": "month"}[trend.interval]
    return Chart(
        links=table_links, links_trace=len(figure["data"]) - 1,  # the line's points (after the band's edges)
        id=f"trend-{metric}", title=f"{name} per {unit}",
        explanation=f"{explain('trend')} Minimum sample: {min_n_for(tenant, metric)} answers.",
        figure=figure,
        table=Table(id=f"trend-{metric}", title=f"{name} per {unit}",
                    columns=("Period start", "Period end", name, "95% CI low", "95% CI high", "n", "Low sample", "Partial period"),
                    rows=rows, links=table_links),
        empty="" if answered else f"No {name} answers in this period for these filters.",
    )


# --- breakdowns -----------------------------------------------------------------------------------

def _breakdown_rows(rows: list[dict], metric: str) -> list[dict]:
    """Values with at least one answer of `metric`, best first; "Not attributed" (and values removed
    since) after the named ones, which are what one can act on."""
    answered = [r for r in rows if r[metric]["n"] > 0]
    named = [r for r in answered if r["key"] is not None]
    other = [r for r in answered if r["key"] is None]

    def by_value(row: dict) -> tuple:
        return -row[metric]["value"], -row[metric]["n"], row["label"].casefold()

    return sorted(named, key=by_value) + sorted(other, key=by_value)


def _breakdown_chart(breakdown: selectors.Breakdown, by: str, noun: str, heading: str, metric: str, tenant, f: MetricFilters) -> Chart:
    name = METRIC_NAMES[metric]
    rows = _breakdown_rows(breakdown.rows, metric)
    drawn = rows
    caption = f"Sorted by {name}, best first; “Not attributed” last."
    if len(rows) > CHART_ROWS:
        # The chart keeps the values with the most answers (in the same order); the table has all.
        keep = {id(r) for r in sorted(rows, key=lambda r: -r[metric]["n"])[:CHART_ROWS]}
        drawn = [r for r in rows if id(r) in keep]
        caption += f" The chart shows the {CHART_ROWS} values with the most answers; this table has all {len(rows)}."
    x_title, x_range = AXIS[metric]
    figure = charts.block_bars(drawn, metric, x_title=x_title, x_range=x_range)

    def link(row: dict) -> str:
        return row_url(tenant.slug, f, by, row, answered=metric)

    table_rows = tuple((r["label"], r[metric]["value"], r[metric]["ci_low"], r[metric]["ci_high"], r[metric]["n"], r["responses"],
                        bool(r[metric]["low_sample"])) for r in rows)
    title = f"{name} by {noun}"
    return Chart(
        id=f"by-{by}", title=title,
        explanation=(f"{explain('breakdown').split(' Sorted by')[0]} Bars: {name} with its 95% interval "
                     f"and n; hatched bars have fewer answers than the minimum sample. Sorted best first."),
        figure=figure,
        table=Table(id=f"by-{by}", title=title, columns=(heading, name, "95% CI low", "95% CI high", "n", "Responses", "Low sample"),
                    rows=table_rows, caption=caption,
                    links=tuple(link(r) for r in rows)),
        links=tuple(link(r) for r in drawn),
        empty="" if rows else f"No {name} answers in this period for these filters.",
    )


# --- funnel ---------------------------------------------------------------------------------------

FUNNEL_STEPS = (("invited", "Invited"), ("delivered", "Delivered"), ("opened", "Opened"), ("responded", "Responded"))
FUNNEL_OTHER = (("bounced", "Bounced"), ("failed", "Failed"), ("pending", "Still queued"), ("skipped", "Skipped (never sent)"))


def _funnel_chart(funnel: funnel_selectors.Funnel, invitations) -> Chart:
    """`invitations(step, count, **narrow)`: the invitations list's address for a funnel step ("" for none)."""
    overall = funnel.overall
    invited = overall["invited"]
    rows = [(label, overall[key], 100 * overall[key] / invited if invited else None) for key, label in FUNNEL_STEPS]
    rows += [(label, overall[key], 100 * overall[key] / invited if invited and key != "skipped" else None) for key, label in FUNNEL_OTHER]
    rows.append(("Response rate (% of delivered)", overall["response_rate"], None))
    links = tuple(invitations(key, overall[key]) for key, _label in (*FUNNEL_STEPS, *FUNNEL_OTHER)) + ("",)
    empty = ""
    if not invited:
        empty = "No invitations were sent in this period."
        if overall["skipped"]:
            empty += f" {_count(overall['skipped'], 'invitation')} skipped by the sending rules (see the table in the CSV)."
    return Chart(
        id="funnel", title="Response funnel", explanation=explain("funnel"),
        figure=charts.funnel([(label, overall[key]) for key, label in FUNNEL_STEPS]),
        table=Table(id="funnel", title="Response funnel", columns=("Step", "Invitations", "% of invited"), rows=tuple(rows),
                    caption="Each step opens its invitations." if any(links) else "", links=links),
        empty=empty, links=links[:len(FUNNEL_STEPS)],
    )


def _response_rate_chart(funnel: funnel_selectors.Funnel, invitations) -> Chart:
    """Each survey's funnel; its name opens its invitations, each count those of its step, a bar (n = delivered) the
    delivered ones."""
    drawn = [s for s in funnel.surveys if s["response_rate"] is not None]
    counted = {1: "invited", 2: "delivered", 3: "opened", 4: "responded", 9: "bounced", 10: "failed", 11: "pending", 12: "skipped"}
    figure = charts.bars([s["label"] for s in drawn], [s["response_rate"] for s in drawn], low=[s["ci_low"] for s in drawn],
                         high=[s["ci_high"] for s in drawn], n=[s["delivered"] for s in drawn], name="Response rate",
                         x_title="Response rate, % of delivered", x_range=[0, 100])
    rows = tuple((s["label"], s["invited"], s["delivered"], s["opened"], s["responded"], s["response_rate"], s["ci_low"], s["ci_high"],
                  s["open_rate"], s["bounced"], s["failed"], s["pending"], s["skipped"]) for s in funnel.surveys)
    return Chart(
        id="response-rate", title="Response rate by survey",
        explanation=f"{explain('funnel')} Bars: each survey's response rate with its 95% interval; n is the number delivered.",
        figure=figure,
        table=Table(id="response-rate", title="Response funnel by survey",
                    columns=("Survey", "Invited", "Delivered", "Opened", "Responded", "Response rate %", "95% CI low", "95% CI high",
                             "Open rate %", "Bounced", "Failed", "Still queued", "Skipped"),
                    rows=rows, caption="Most invitations first; n on each bar is the number delivered. A survey opens its invitations.",
                    links=tuple(invitations("invited", s["invited"], survey=s["key"]) if s["key"] else "" for s in funnel.surveys),
                    cell_links=tuple({i: invitations(step, s[step], survey=s["key"]) if s["key"] else "" for i, step in counted.items()}
                                     for s in funnel.surveys)),
        empty="" if drawn else "No survey had an invitation delivered in this period.",
        links=tuple(invitations("delivered", s["delivered"], survey=s["key"]) if s["key"] else "" for s in drawn),
    )


def _funnel_note(state: FilterState) -> str:
    """Invitations carry a survey and a channel only: say which of the applied filters the funnel
    cannot apply (they still apply to everything else on the page)."""
    ignored = [label for label, name in (("journey", "journey"), ("stage", "stage"), ("touchpoint", "touchpoint"),
                                         ("segment", "segment"), ("staff member", "staff"))
               if getattr(state.filters, name) is not None]
    if not ignored:
        return ""
    listed = ", ".join(ignored[:-1]) + (" and " if len(ignored) > 1 else "") + ignored[-1]
    return (f"The funnel counts invitations, which carry only a survey and a channel: the {listed} "
            f"filter{'s do' if len(ignored) > 1 else ' does'} not apply to it.")


# --- comments -------------------------------------------------------------------------------------

def _local(row: CommentRow, time_zone: str):
    return row.submitted_at.astimezone(ZoneInfo(time_zone))


def _comment(row: CommentRow, time_zone: str) -> Comment:
    moment = _local(row, time_zone)
    return Comment(response=str(row.response), when=f"{moment:%-d %b %Y, %H:%M}", when_iso=moment.isoformat(timespec="minutes"),
                   client=row.client, survey=row.survey, channel=row.channel, badges=tuple(score_badges(row)), texts=row.texts)


def _comments_table(rows: list[CommentRow], time_zone: str) -> Table:
    return Table(id="comments", title="Latest comments",
                 columns=("Submitted", "Client", "Survey", "Channel", "NPS", "CSAT", "CES", "Smiley", "Comment", "Response id"),
                 rows=tuple((_local(r, time_zone).strftime("%Y-%m-%d %H:%M"), r.client or None, r.survey, r.channel, r.nps, r.csat,
                             r.ces, r.smiley, " / ".join(r.texts), str(r.response)) for r in rows))


def _comments_query(state: FilterState) -> str:
    """The responses list's query for the same days (and the filters it offers), comments only."""
    f = state.filters
    query = {"has_comment": "yes", "date_from": f.first.isoformat(), "date_to": f.last.isoformat()}
    query.update({name: f.uuids[name] for name in ("survey", "touchpoint", "stage") if name in f.uuids})
    if f.channel:
        query["channel"] = f.channel
    return urlencode(query)
