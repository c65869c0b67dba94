"""The staff home (issue 7 page 5): what a front-line person needs between two calls, about
themselves only.

- My day at a glance and my open follow-ups (apps.touchpoints.interactions.selectors.my_day);
- my clients' latest scores: the clients I own with their latest NPS/CSAT/CES answer and day and
  their churn-risk band (apps.metrics.scores.client_scores);
- my cases (issue 8): my open follow-up cases, overdue first then by due time, and how many wait
  unassigned in my team's queue (apps.feedback.cases.selectors.cases_for_member);
- my perception gap (METRICS.md "Perception gap"): `selectors.perception_gap` with the staff filter
  forced to me by the filter bar (`dashboard_filters(..., staff=me)`), as a tile, a sentence, and
  actual vs perceived NPS per touchpoint.

The log form itself is the view's (a form, not a number). Nothing here reads another staff member's
rows: every selector is called with this member.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from apps.feedback.cases.selectors import MyCases, cases_for_member
from apps.metrics import charts
from apps.metrics.drill import PAIRS, responses_url, row_url
from apps.metrics.explanations import explain
from apps.metrics.params import MetricFilters
from apps.metrics.scores import selectors
from apps.metrics.scores.client_scores import ClientScores, LatestScore, OwnedClientScores, client_scores_owned
from apps.metrics.scores.tiles import metric_tile, min_n_for
from apps.reports.panels import Chart, Table, Tile, number
from apps.reports.rendering import tables_of
from apps.tenancy.models import Membership
from apps.touchpoints.interactions.selectors import MyDay, my_day

SCORE_SCALES = (("nps", "NPS", "/10"), ("csat", "CSAT", "/5"), ("ces", "CES", "/7"))
# The score bands of METRICS.md, in a word, with their tone: (lowest value of the band, word, tone).
BANDS = {
    "nps": ((9, "promoter", "good"), (7, "passive", ""), (0, "detractor", "bad")),
    "csat": ((4, "satisfied", "good"), (3, "neutral", ""), (1, "dissatisfied", "bad")),
    "ces": ((5, "easy", "good"), (4, "neutral", ""), (1, "hard", "bad")),
}
CLIENT_SCORES_EXPLANATION = ("Each client you own (not churned) with the latest answer they gave to an NPS (0–10), CSAT "
                             "(1–5) and CES (1–7) question, and the day of it; bot-flagged responses are not counted. "
                             "Churn risk is the nightly score (high, medium, low): " + explain("churn_risk"))


@dataclass(frozen=True)
class ScoreCell:
    label: str  # "NPS"
    value: str  # "9/10" or "—"
    day: str  # "3 Mar 2026" or "no answer yet"
    answered: bool
    band: str = ""  # "promoter", "detractor", … (METRICS.md bands)
    tone: str = ""  # "good" / "bad" / "": colours the value; the band word says the same in text


@dataclass(frozen=True)
class ClientRow:
    uuid: str
    name: str
    segment: str
    risk_band: str  # "", "low", "medium", "high"
    risk_label: str  # "High risk (72)" or "Not scored yet"
    scores: tuple[ScoreCell, ...]


@dataclass(frozen=True)
class StaffHome:
    day: MyDay
    period: str  # "25 Oct – 23 Nov 2026": the days of my perception gap ("" when the filter bar was refused)
    follow_ups_table: Table
    clients: tuple[ClientRow, ...]
    clients_total: int
    clients_more: int
    clients_table: Table
    clients_explanation: str
    cases: MyCases
    gap_tile: Tile | None  # None: the filter bar was refused (the section shows its errors)
    gap_sentence: str
    gap_chart: Chart | None

    @property
    def tables(self) -> list[Table]:
        return tables_of(self.follow_ups_table, self.clients_table, self.gap_tile, self.gap_chart)


def _span(filters: MetricFilters) -> str:
    first, last = filters.first, filters.last
    if first == last:
        return f"{first:%-d %b %Y}"
    return f"{first:%-d %b} – {last:%-d %b %Y}" if first.year == last.year else f"{first:%-d %b %Y} – {last:%-d %b %Y}"


def _day(value) -> str:
    return f"{value:%-d %b %Y}" if value is not None else ""


def _cell(metric: str, label: str, scale: str, score: LatestScore) -> ScoreCell:
    if score.value is None:
        return ScoreCell(label=label, value="—", day="no answer yet", answered=False)
    _low, band, tone = next(b for b in BANDS[metric] if score.value >= b[0])
    return ScoreCell(label=label, value=f"{score.value}{scale}", day=_day(score.day), answered=True, band=band, tone=tone)


def _client_row(row: ClientScores) -> ClientRow:
    risk = f"{row.risk_band_label} risk ({row.risk_score})" if row.risk_band else "Not scored yet"
    return ClientRow(uuid=row.uuid, name=row.name, segment=row.segment, risk_band=row.risk_band or "", risk_label=risk,
                     scores=tuple(_cell(metric, label, scale, getattr(row, metric)) for metric, label, scale in SCORE_SCALES))


def _clients_table(owned: OwnedClientScores) -> Table:
    rows = []
    for row in owned.rows:
        cells = []
        for metric, _label, _scale in SCORE_SCALES:
            score = getattr(row, metric)
            cells += [score.value, score.day.isoformat() if score.day else None]
        rows.append((row.name, row.segment, *cells, row.risk_score, row.risk_band_label or None))
    return Table(id="my-clients", title="My clients' latest scores",
                 columns=("Client", "Segment", "Latest NPS", "NPS day", "Latest CSAT", "CSAT day", "Latest CES", "CES day",
                          "Churn risk score", "Churn risk band"),
                 rows=tuple(rows))


def _follow_ups_table(day: MyDay) -> Table:
    rows = tuple((f.interaction.client.name, f.interaction.summary, f.interaction.follow_up_due.isoformat(), f.when,
                  f.interaction.touchpoint.name, f.interaction.contact.name if f.interaction.contact else "")
                 for f in (*day.overdue, *day.due_today, *day.upcoming))
    return Table(id="my-follow-ups", title="My open follow-ups", columns=("Client", "Summary", "Due", "When", "Touchpoint", "Contact"),
                 rows=rows)


def gap_sentence(block: dict) -> str:
    """The gap in a sentence a front-line person reads at a glance (positive: I over-estimate)."""
    n, value = block["n"], block["value"]
    if not n:
        return ("No pairs yet. When you log an interaction, predict the score the client would give (0–10); once the client "
                "answers the survey that interaction sends, the pair counts here.")
    pairs = f"{number(n)} pair{'s' if n != 1 else ''}"
    if value == 0:
        return f"Your predictions matched the clients' answers on average ({pairs})."
    direction = "higher" if value > 0 else "lower"
    text = f"On average you predicted {number(abs(value), 1)} points {direction} than clients answered ({pairs})."
    low, high = block["ci_low"], block["ci_high"]
    if low is not None and high is not None and low <= 0 <= high:
        text += " That is within the margin of error: not clearly different from zero."
    elif low is None:
        text += " Too few pairs to tell whether this is more than chance."
    return text


def _gap_chart(rows: list[dict], links: tuple[str, ...]) -> Chart:
    table = Table(id="my-gap-touchpoints", title="My perception gap per touchpoint",
                  columns=("Touchpoint", "Pairs", "Gap (points)", "95% CI low", "95% CI high", "Actual NPS", "Perceived NPS",
                           "Low sample"),
                  rows=tuple((r["label"], r["n"], r["value"], r["ci_low"], r["ci_high"], r["actual_nps"], r["perceived_nps"],
                              r["low_sample"]) for r in rows),
                  caption="A touchpoint opens your prediction pairs there." if any(links) else "", links=links)
    figure = charts.paired_bars([r["label"] for r in rows], [r["actual_nps"] for r in rows], [r["perceived_nps"] for r in rows],
                                names=("Actual NPS (clients' answers)", "Perceived NPS (your predictions)"), x_title="NPS",
                                x_range=[-106, 106], notes=[f"n = {number(r['n'])}" for r in rows])
    empty = "" if rows else "Nothing to compare yet: no predicted score of yours has been answered in this period."
    return Chart(id="my-gap", title="Actual vs perceived NPS, per touchpoint", explanation=explain("perception_gap"),
                 figure=figure, table=table, empty=empty, links=links)


def staff_home(tenant, *, staff: Membership, filters: MetricFilters | None) -> StaffHome:
    """The staff home of `staff`. `filters` (the period; None when the filter bar was refused) must carry
    the staff filter forced to this member."""
    if filters is not None and filters.staff != staff.pk:
        raise ValueError("the staff home reads the perception gap of its own member only")
    day = my_day(tenant=tenant, staff=staff)
    owned = client_scores_owned(tenant=tenant, owner=staff)
    gap = selectors.perception_gap(tenant, filters) if filters is not None else None
    return StaffHome(
        day=day, period=_span(filters) if filters is not None else "", follow_ups_table=_follow_ups_table(day),
        clients=tuple(_client_row(row) for row in owned.rows), clients_total=owned.total, clients_more=owned.more,
        clients_table=_clients_table(owned), clients_explanation=CLIENT_SCORES_EXPLANATION,
        cases=cases_for_member(tenant=tenant, member=staff),
        gap_tile=replace(metric_tile("perception_gap", gap.overall, min_n=min_n_for(tenant, "perception_gap"), table_id="tile-my-gap"),
                         drill=responses_url(tenant.slug, filters, answered=PAIRS)) if gap else None,
        gap_sentence=gap_sentence(gap.overall) if gap else "",
        gap_chart=_gap_chart(gap.touchpoints, tuple(row_url(tenant.slug, filters, "touchpoint", r, answered=PAIRS) for r in gap.touchpoints))
        if gap else None,
    )
