"""The Client 360 page (issue 19 item 6): everything the workspace knows about one client, on one page.

- **Scores**: the client's NPS, CSAT and CES over all its counted responses (tiles with n and the 95%
  interval), and their **history per calendar month** (tenant-local, `Response.local_day`): a chart per
  metric and one table with the same numbers — NPS with its adjusted-Wald interval, CSAT % top-2-box with
  Wilson, CES mean with the t-interval (METRICS.md; every value, interval and low-sample flag comes from
  `apps.metrics.stats` over merged `Bucket`s, nothing is re-derived here). Each month links to that month's
  answers (below, on this page: the responses list has no client filter).
- **Perception gap** for this client (METRICS.md "Perception gap"): the pairs of `Response.predicted` (the
  staff prediction copied onto the response) and `Response.nps`: mean predicted − actual with its
  t-interval, perceived vs actual NPS of the same pairs, n.
- **Answers**: every counted response, newest first, 25 a page (or one month's), with its score badges,
  the comment, its themes (`ResponseTheme.present`), its sentiment and detected language.
- **Interactions** (the latest 50; the client page has them all), **cases** (open first, overdue first; the
  cases the reader may see: apps.feedback.cases.selectors.visible_q), **churn risk** (the nightly
  `ClientHealth`: score, band and its reasons in words), **contacts** with their opt-out state.

Counted responses: submitted and not bot-flagged (METRICS.md "Counting rules"); bot-flagged ones are
never shown here nor counted.

Who sees which client (`client_for_reader`): admins, CX leads and viewers every client of the workspace;
a staff member only the clients they own (`Client.owner`) — any other client does not exist for them (the
query filters on the owner, so the page answers 404 as for a missing client, never 403).

A fixed number of queries whatever the client's history: the client (1), the monthly sufficient statistics
(1 aggregate), the answers page (count, rows, themes: 3), interactions (count, rows: 2), cases (count,
rows: 2), churn risk (1), contacts (1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, IntegerField, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from apps.clients.models import Client, Contact
from apps.clients.selectors import client_contact_list, client_interaction_list, client_list
from apps.core.dates import local_day
from apps.feedback.cases.selectors import CaseFilters, case_list, sla_text
from apps.feedback.models import Case
from apps.metrics import charts, stats
from apps.metrics.buckets import Bucket
from apps.metrics.explanations import explain
from apps.metrics.models import ClientHealth
from apps.metrics.scores.tiles import METRIC_NAMES, metric_tile, min_n_for
from apps.reports.panels import Chart, Table, Tile, interval, number
from apps.reports.rendering import tables_of
from apps.surveys.models import Response, ResponseTheme
from apps.surveys.responses.selectors import ScoreBadge, SentimentBadge, score_badges, sentiment_badge
from apps.tenancy.models import Membership
from apps.tenancy.roles import READERS, Role
from apps.touchpoints.models import Interaction

ANSWERS_PER_PAGE = 25
INTERACTIONS_LIMIT = 50
CASES_LIMIT = 50
METRICS = ("nps", "csat", "ces")
AXIS = {"nps": ("NPS", [-105, 105]), "csat": ("% satisfied", [-5, 105]), "ces": ("1 (hard) to 7 (easy)", [0.8, 7.2])}
DIGITS = {"nps": 0, "csat": 0, "ces": 1}
UNIT = {"nps": "", "csat": "%", "ces": " / 7"}
CHART_HEIGHT = 230

_PAIR = Q(predicted__isnull=False, nps__isnull=False)
_GAP = F("predicted") - F("nps")
# The sufficient statistics of METRICS.md "Rollups" that NPS, CSAT, CES and the perception gap need, as one
# aggregate over the client's response rows (the same contribution per response as
# apps.metrics.buckets.Bucket.of_response; the other fields of the Bucket stay 0).
STAT_AGGREGATES = {
    "responses": Count("pk"),
    "nps_n": Count("nps"),
    "nps_promoters": Count("pk", filter=Q(nps__gte=9)),
    "nps_passives": Count("pk", filter=Q(nps__gte=7, nps__lte=8)),
    "nps_detractors": Count("pk", filter=Q(nps__lte=6)),
    "csat_n": Count("csat"),
    "csat_top2": Count("pk", filter=Q(csat__gte=4)),
    "csat_bottom2": Count("pk", filter=Q(csat__lte=2)),
    "csat_sum": Sum("csat", output_field=IntegerField()),
    "csat_sumsq": Sum(F("csat") * F("csat"), output_field=IntegerField()),
    "ces_n": Count("ces"),
    "ces_sum": Sum("ces", output_field=IntegerField()),
    "ces_sumsq": Sum(F("ces") * F("ces"), output_field=IntegerField()),
    "ces_easy": Count("pk", filter=Q(ces__gte=5)),
    "gap_n": Count("pk", filter=_PAIR),
    "gap_sum": Sum(_GAP, filter=_PAIR, output_field=IntegerField()),
    "gap_sumsq": Sum(_GAP * _GAP, filter=_PAIR, output_field=IntegerField()),
    "gap_pred_promoters": Count("pk", filter=_PAIR & Q(predicted__gte=9)),
    "gap_pred_detractors": Count("pk", filter=_PAIR & Q(predicted__lte=6)),
    "gap_promoters": Count("pk", filter=_PAIR & Q(nps__gte=9)),
    "gap_detractors": Count("pk", filter=_PAIR & Q(nps__lte=6)),
}

HISTORY_EXPLANATION = ("Each calendar month (this workspace's time zone) of the client's counted answers: NPS with its "
                       "adjusted-Wald 95% interval, CSAT as the % of answers 4 or 5 with the Wilson interval, CES as the mean "
                       "1–7 with the t-interval. Only months with an answer are shown. One client gives few answers a month, "
                       "so most months are below this workspace's minimum sample (drawn hollow): read them as this client's "
                       "answers, not as a reliable score.")


# --- who may read which client ----------------------------------------------------------------------

def client_for_reader(*, uuid, role: str, member: Membership | None) -> Client | None:
    """The client with this public id as `role` may read it, or None. Admins, CX leads and viewers read every
    client of the workspace; a staff member only the clients they own; anyone else none (an API key has no
    member). One query, the client page's own read (segment, owner, contact count, last interaction); for staff
    the owner is part of it, so another staff member's client is never read."""
    if role in READERS:
        clients = client_list()
    elif role == Role.STAFF and member is not None:
        clients = client_list(owner=member)
    else:
        return None
    return clients.filter(uuid=uuid).first()


# --- the page's values --------------------------------------------------------------------------------

@dataclass(frozen=True)
class MonthRow:
    """One month of the history table, formatted (the CSV has the raw values)."""

    month: date
    label: str  # "Mar 2026"
    name: str  # "March 2026"
    link: str  # this month's answers on this page
    responses: int
    cells: tuple[tuple[str, str, str, bool, str], ...]  # per metric: (value, n, interval, low sample, its answers' link)


@dataclass(frozen=True)
class AnswerRow:
    uuid: str
    submitted_at: datetime
    survey: str
    contact: str
    touchpoint: str
    badges: tuple[ScoreBadge, ...]
    comment: str
    comment_language: str  # its detected language by name, "" when not analysed
    sentiment: SentimentBadge | None
    themes: tuple[str, ...]
    predicted: int | None


@dataclass(frozen=True)
class Answers:
    rows: tuple[AnswerRow, ...]
    page: Page
    month: date | None  # the month they are limited to, or None for all
    month_label: str
    metric: str = ""  # with the month: only the answers to this metric (its n in the history), "" for all

    @property
    def total(self) -> int:
        return self.page.paginator.count


@dataclass(frozen=True)
class Risk:
    score: int
    band: str
    band_label: str
    reasons: tuple[str, ...]
    method: str
    computed_at: datetime


@dataclass(frozen=True)
class Client360Page:
    client: Client
    tiles: tuple[Tile, ...]  # NPS, CSAT, CES over all the client's answers
    history_charts: tuple[Chart, ...]  # NPS, CSAT, CES per month
    history_rows: tuple[MonthRow, ...]  # newest first
    history_table: Table
    history_explanation: str
    gap_tile: Tile
    gap_sentence: str
    answers: Answers
    interactions: tuple[Interaction, ...]
    interactions_total: int
    cases: tuple[Case, ...]  # each with `sla` and `overdue` (the cases pages' partials read them)
    cases_total: int
    cases_all_visible: bool  # False: a staff member, who sees their own cases and their team's queue only
    risk: Risk | None
    risk_note: str  # why there is no score, when there is none
    contacts: tuple[Contact, ...]
    opted_out: int
    today: date

    @property
    def risk_explanation(self) -> str:
        return explain("churn_risk") + " High risk: a score of 60 or more; medium: 30 to 59."

    @property
    def period(self) -> str:
        """"Mar 2025 to May 2026": the months of the client's answers ("" with none)."""
        if not self.history_rows:
            return ""
        first, last = self.history_rows[-1].label, self.history_rows[0].label
        return last if first == last else f"{first} to {last}"

    @property
    def responses(self) -> int:
        return sum(row.responses for row in self.history_rows)

    @property
    def interactions_more(self) -> int:
        return self.interactions_total - len(self.interactions)

    @property
    def cases_more(self) -> int:
        return self.cases_total - len(self.cases)

    @property
    def tables(self) -> list[Table]:
        return tables_of(self.tiles, self.history_charts, self.history_table, self.gap_tile)


# --- scores ---------------------------------------------------------------------------------------------

def counted_responses(client: Client) -> QuerySet[Response]:
    """The client's counted responses (submitted, not bot-flagged: METRICS.md "Counting rules")."""
    return Response.objects.filter(client=client, is_bot=False)


def monthly_buckets(client: Client) -> dict[date, Bucket]:
    """The sufficient statistics of the client's counted responses per tenant-local calendar month, oldest
    first. One aggregate query, whatever the number of responses."""
    rows = (counted_responses(client).order_by().annotate(month=TruncMonth("local_day")).values("month")
            .annotate(**STAT_AGGREGATES).order_by("month"))
    return {_as_date(row.pop("month")): Bucket(**{name: int(value or 0) for name, value in row.items()}) for row in rows}


def _as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def month_end(start: date) -> date:
    return (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def month_link(month: date, metric: str = "") -> str:
    """This page, its answers limited to `month` — and with `metric`, to the answers to it: the month's n of that
    metric (relative: the page keeps its address)."""
    return f"?month={month:%Y-%m}{f'&answered={metric}' if metric else ''}#answers"


def parse_month(value: str | None) -> date | None:
    """"2026-03" → 1 March 2026; anything else (missing, malformed) → None: every answer is shown."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return None


def parse_metric(value: str | None) -> str:
    """`answered`: one of NPS/CSAT/CES, anything else → "" (every answer of the month)."""
    return value if value in METRICS else ""


def _cell(metric: str, block: dict, month: date) -> tuple[str, str, str, bool, str]:
    if not block["n"]:
        return "—", "0", "", False, ""
    value = number(block["value"], DIGITS[metric]) + UNIT[metric]
    low, high = block["ci_low"], block["ci_high"]
    if low is None or high is None:  # CES below n = 2, or all equal in a low sample (METRICS.md degenerate intervals)
        spread = "too few answers to estimate the spread" if block["n"] >= 2 else "—"
    else:
        spread = f"{number(low, DIGITS[metric])} to {number(high, DIGITS[metric])}"
    return value, number(block["n"]), spread, bool(block["low_sample"]), month_link(month, metric)


def _month_row(point: dict) -> MonthRow:
    start = point["start"]
    return MonthRow(month=start, label=f"{start:%b %Y}", name=f"{start:%B %Y}", link=month_link(start), responses=point["responses"],
                    cells=tuple(_cell(metric, point[metric], start) for metric in METRICS))


def _history_chart(metric: str, points: list[dict]) -> Chart:
    """One metric per month (only months with an answer to it), the 95% band, hollow points below the minimum sample;
    each point and table row opens that month's answers to it."""
    name = METRIC_NAMES[metric]
    answered = [p for p in points if p[metric]["n"]]
    links = tuple(month_link(p["start"], metric) for p in answered)
    table = Table(id=f"history-{metric}", title=f"{name} per month",
                  columns=("Month", name, "n", "95% CI low", "95% CI high", "Low sample"),
                  rows=tuple((f"{p['start']:%Y-%m}", p[metric]["value"], p[metric]["n"], p[metric]["ci_low"], p[metric]["ci_high"],
                              bool(p[metric]["low_sample"])) for p in answered), links=links)
    figure = {}
    if answered:
        y_title, y_range = AXIS[metric]
        figure = charts.trend(answered, metric, name=name, y_title=y_title, y_range=y_range)
        layout = figure["layout"]
        layout.update(height=CHART_HEIGHT, showlegend=False, font={**layout["font"], "size": 11})
        layout["xaxis"].update(type="date", tickformat="%b\n%Y", tickangle=0, nticks=6)
    return Chart(id=f"history-{metric}", title=f"{name} per month",
                 explanation=f"{explain(metric)} {HISTORY_EXPLANATION}", figure=figure, table=table,
                 empty="" if answered else f"No {name} answer from this client yet.",
                 links=links, links_trace=len(figure["data"]) - 1 if figure else 0)  # the line, after the band's two edges


def _history_table(points: list[dict]) -> Table:
    columns = ["Month", "Responses"]
    for metric in METRICS:
        name = METRIC_NAMES[metric] + (" %" if metric == "csat" else "")
        columns += [name, f"{METRIC_NAMES[metric]} n", f"{METRIC_NAMES[metric]} 95% CI low", f"{METRIC_NAMES[metric]} 95% CI high",
                    f"{METRIC_NAMES[metric]} low sample"]
    rows = []
    for p in reversed(points):
        row = [f"{p['start']:%Y-%m}", p["responses"]]
        for metric in METRICS:
            b = p[metric]
            row += [b["value"], b["n"], b["ci_low"], b["ci_high"], bool(b["low_sample"]) if b["n"] else None]
        rows.append(tuple(row))
    return Table(id="score-history", title="Scores per month", columns=tuple(columns), rows=tuple(rows))


def _tile(tenant, metric: str, block: dict) -> Tile:
    """The tile of apps.metrics.scores.tiles; no answer at all is "—" with n = 0, not also a low-sample warning."""
    tile = metric_tile(metric, block, min_n=min_n_for(tenant, metric), table_id=f"tile-{metric}")
    return replace(tile, low_sample=False, low_sample_reason="") if tile.n == 0 else tile


def gap_sentence(block: dict) -> str:
    """The client's perception gap in words (positive: staff predicted higher than the client answered)."""
    n, value = block["n"], block["value"]
    if not n:
        return ("No pairs yet. When staff log an interaction with this client they can predict the score the client would "
                "give (0–10); once the client answers the survey that interaction triggers, the pair counts here.")
    pairs = f"{number(n)} pair{'s' if n != 1 else ''}"
    if value == 0:
        return f"Staff predictions matched this client's answers on average ({pairs})."
    direction = "higher" if value > 0 else "lower"
    text = f"Staff predicted {number(abs(value), 1)} points {direction} than this client answered, on average ({pairs})."
    low, high = block["ci_low"], block["ci_high"]
    if low is None or high is None:
        return text + " Too few pairs to tell whether this is more than chance."
    if low <= 0 <= high:
        return text + f" The {interval(low, high)} includes 0: not clearly different from zero."
    return text + f" The {interval(low, high)} excludes 0: a clear gap."


# --- answers ----------------------------------------------------------------------------------------------

def _answers(client: Client, *, month: date | None, metric: str, page_number) -> Answers:
    rows = counted_responses(client)
    metric = metric if month is not None else ""
    if month is not None:
        rows = rows.filter(local_day__range=(month, month_end(month)))
    if metric:
        rows = rows.filter(**{f"{metric}__isnull": False})
    themes = Prefetch("theme_links", queryset=ResponseTheme.objects.filter(present=True).select_related("theme")
                      .order_by("theme__name"), to_attr="themes_present")
    rows = rows.select_related("survey", "contact", "touchpoint").prefetch_related(themes).order_by("-submitted_at", "-id")
    page = Paginator(rows, ANSWERS_PER_PAGE).get_page(page_number)
    out = tuple(
        AnswerRow(uuid=str(r.uuid), submitted_at=r.submitted_at, survey=r.survey.name, contact=r.contact.name if r.contact else "",
                  touchpoint=r.touchpoint.name if r.touchpoint else "", badges=tuple(score_badges(r)), comment=r.comment.strip(),
                  comment_language=r.get_comment_language_display() if r.comment_language else "", sentiment=sentiment_badge(r),
                  themes=tuple(link.theme.name for link in r.themes_present), predicted=r.predicted)
        for r in page.object_list
    )
    return Answers(rows=out, page=page, month=month, month_label=f"{month:%B %Y}" if month else "", metric=metric)


# --- risk, cases ------------------------------------------------------------------------------------------

def _risk(client: Client) -> tuple[Risk | None, str]:
    if client.status == Client.Status.CHURNED or client.churned_on is not None:
        return None, "This client has churned: churn risk is scored for active clients only."
    health = ClientHealth.objects.filter(client=client).first()
    if health is None:
        if client.status == Client.Status.PROSPECT:
            return None, "Not scored: churn risk is scored for active clients, and this client is a prospect."
        return None, "Not scored yet: active clients are scored each night; this one will be at the next run."
    return Risk(score=health.score, band=health.band, band_label=health.get_band_display(),
                reasons=tuple(reason["text"] for reason in health.reasons), method=health.get_method_display(),
                computed_at=health.computed_at), ""


def _cases(tenant, client: Client, member: Membership | None, role: str, now: datetime) -> tuple[tuple[Case, ...], int]:
    cases = case_list(tenant=tenant, acting_member=member, role=role, filters=CaseFilters(status="all", client=client), now=now)
    rows = list(cases[:CASES_LIMIT])
    for case in rows:  # what feedback/partials/_sla.html reads (as the cases list does)
        case.sla = sla_text(case, now)
        case.overdue = case.is_overdue(now)
    total = len(rows) if len(rows) < CASES_LIMIT else cases.count()
    return tuple(rows), total


# --- the page -----------------------------------------------------------------------------------------------

def client360_page(tenant, client: Client, *, role: str, member: Membership | None, month: date | None = None,
                   metric: str = "", page_number=None) -> Client360Page:
    """Compose the page of `client` (already checked readable: `client_for_reader`). See the module docstring."""
    now = timezone.now()
    buckets = monthly_buckets(client)
    min_n = {"min_n_nps": tenant.min_n_nps, "min_n_other": tenant.min_n_other}
    points = [{"start": start, "end": month_end(start), "partial": False, **stats.blocks(bucket, **min_n)}
              for start, bucket in buckets.items()]
    overall = stats.blocks(Bucket.merge(buckets.values()), **min_n)
    history_rows = tuple(_month_row(p) for p in reversed(points))
    interactions = client_interaction_list(client=client)
    shown = tuple(interactions[:INTERACTIONS_LIMIT])
    cases, cases_total = _cases(tenant, client, member, role, now)
    risk, risk_note = _risk(client)
    contacts = tuple(client_contact_list(client=client))
    gap = overall["perception_gap"]
    return Client360Page(
        client=client,
        tiles=tuple(_tile(tenant, metric, overall[metric]) for metric in METRICS),
        history_charts=tuple(_history_chart(metric, points) for metric in METRICS),
        history_rows=history_rows, history_table=_history_table(points), history_explanation=HISTORY_EXPLANATION,
        gap_tile=_tile(tenant, "perception_gap", gap), gap_sentence=gap_sentence(gap),
        answers=_answers(client, month=month, metric=metric, page_number=page_number),
        interactions=shown, interactions_total=len(shown) if len(shown) < INTERACTIONS_LIMIT else interactions.count(),
        cases=cases, cases_total=cases_total, cases_all_visible=role in READERS,
        risk=risk, risk_note=risk_note,
        contacts=contacts, opted_out=sum(1 for c in contacts if c.opted_out),
        today=local_day(tenant.time_zone, now),
    )
