"""The churn and retention page (issue 7 page 3), built from the metrics selectors only:

- `selectors.churn`: churn and retention per period with Wilson intervals, revenue churn, quarterly
  cohorts and the Kaplan–Meier tenure curve (METRICS.md "Churn and retention");
- `selectors.client_health_list`: the at-risk list (score, band, top reasons in words) and the count
  per band (METRICS.md "Churn risk");
- `selectors.churn_model_current`: which churn model scored them (logistic regression with its
  held-out AUC, or the documented rules).

Filters: the period and the client segment (churn is about accounts, so the client's present segment;
the at-risk list is "now" and ignores the period). Rates are per calendar week, month, quarter or
year (`interval`; by default chosen from the length of the range). Every number is formatted here
(apps.reports.panels); the template only places them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from django.db.models import Count
from django.urls import reverse

from apps.core.dates import add_months
from apps.metrics import charts
from apps.metrics.churn import selectors
from apps.metrics.churn.risk import RULES
from apps.metrics.explanations import explain
from apps.metrics.models import ClientHealth
from apps.metrics.params import MetricFilters
from apps.reports.panels import Chart, Table, Tile, interval, number
from apps.reports.rendering import tables_of

INTERVALS = (("week", "Week"), ("month", "Month"), ("quarter", "Quarter"), ("year", "Year"))
AT_RISK_LIMIT = 25
CHURN_BAND = "rgba(213, 94, 0, 0.16)"  # the vermillion of charts.VERMILLION, as a band

COHORTS_EXPLANATION = ("Clients grouped by the calendar quarter they became active. “% still active after m months”: among "
                       "the cohort's clients for whom m months have passed by today, those not churned by then (Wilson 95% "
                       "interval; n = clients counted). Clients whose milestone is still ahead are left out.")
AT_RISK_EXPLANATION = explain("churn_risk") + " The list shows active clients now, riskiest first; it ignores the period."


def default_interval(first: date, last: date) -> str:
    """Weeks for up to about two months, months up to two years, quarters beyond: a handful of points
    or more, each with enough clients to say something."""
    days = (last - first).days + 1
    if days <= 62:
        return "week"
    if days <= 731:
        return "month"
    return "quarter"


@dataclass(frozen=True)
class CohortCell:
    value: str  # "92.0%"
    n: str  # "25": the clients counted ("" when none is observable yet)
    url: str = ""  # those clients


@dataclass(frozen=True)
class CohortRow:
    label: str
    size: int
    cells: tuple[CohortCell, ...]  # per milestone (3, 6, 12 months)
    url: str = ""  # the cohort's clients


@dataclass(frozen=True)
class AtRiskRow:
    uuid: str
    name: str
    segment: str
    owner: str
    score: int
    band: str
    band_label: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ChurnPage:
    interval: str
    interval_auto: bool  # no `interval` was asked for: the default of the range is used
    interval_choices: tuple[tuple[str, str], ...]
    query: str  # the filters and the interval, for CSV links (the templates read it as `state.query`)
    empty: str  # non-empty: there is no client to measure (in this segment), and this says what to do
    notes: tuple[str, ...]
    tiles: tuple[Tile, ...]
    charts: tuple[Chart, ...]
    cohorts: tuple[CohortRow, ...]
    cohort_months: tuple[int, ...]
    cohorts_table: Table
    cohorts_explanation: str
    at_risk: tuple[AtRiskRow, ...]
    at_risk_total: int
    at_risk_table: Table
    at_risk_empty: str
    at_risk_explanation: str
    model: str
    rules: tuple[str, ...]  # the documented rules, when they (not a fitted model) scored the clients

    @property
    def tables(self) -> list[Table]:
        return tables_of(self.tiles, self.charts, self.cohorts_table, self.at_risk_table)


# --- labels -------------------------------------------------------------------------------------

def period_label(start: date, end: date, interval_name: str, partial: bool) -> str:
    """A period [start, end) in words: "Mar 2026", "2026 Q1", "2–8 Mar 2026"; cut periods say so."""
    last = end - timedelta(days=1)
    if interval_name == "month":
        text = f"{start:%b %Y}"
    elif interval_name == "quarter":
        text = f"{start.year} Q{(start.month - 1) // 3 + 1}"
    elif interval_name == "year":
        text = str(start.year)
    else:
        text = f"{start:%-d %b} – {last:%-d %b %Y}" if start != last else f"{start:%-d %b %Y}"
    if partial and interval_name != "week":
        text += f" ({start:%-d %b} – {last:%-d %b})"
    return text


def _pct(value, digits: int = 1) -> str:
    return "—" if value is None else f"{number(value, digits)}%"


def _amount(value: float) -> str:
    return number(value, 0)


# --- figures ------------------------------------------------------------------------------------

def rate_figure(x: list[str], rate: list[dict], *, name: str, color: str, band_color: str, hollow: list[bool]) -> dict:
    """One rate per period with its 95% band, hollow where the period started with fewer clients than
    the workspace's minimum sample (charts.rates has no hollow points; built from the same parts)."""
    data = charts.band(x, [r["ci_low"] for r in rate], [r["ci_high"] for r in rate], color=band_color)
    text = [f"{r['k']} of {r['n']} clients" + (" (low sample)" if h else "") for r, h in zip(rate, hollow, strict=True)]
    data.append(charts.series(x, [r["value"] for r in rate], name=name, color=color, hollow=hollow, text=text))
    return {"data": data, "layout": charts.layout(y_title="% of clients at start", legend=True)}


# --- the page -----------------------------------------------------------------------------------

def churn_page(tenant, filters: MetricFilters, *, interval_name: str | None, filter_query: str) -> ChurnPage:
    """The churn page for `filters` (period and segment) with rates per `interval_name` (None: the
    default of the range). `filter_query` is the filter bar's query string (CSV links carry it)."""
    chosen = interval_name or default_interval(filters.first, filters.last)
    report = selectors.churn(tenant, filters, chosen)
    min_n = tenant.min_n_other
    query = "&".join(part for part in (filter_query, urlencode({"interval": interval_name}) if interval_name else "") if part)

    periods, total, tenure = report["periods"], report["total"], report["tenure"]
    has_clients = tenure["n"] > 0 or total["at_start"] > 0 or total["new"] > 0
    empty = ""
    if not has_clients:
        empty = ("No client in this segment has been active yet." if filters.segment is not None else
                 "No clients yet: add clients (or import them) with the day each became active, and the day it left if it did.")

    health = selectors.client_health_list(tenant, segment_id=filters.segment)
    bands = {row["band"]: row["n"] for row in health.order_by().values("band").annotate(n=Count("id"))}
    top = list(health.select_related("client__segment", "client__owner__user")[:AT_RISK_LIMIT])
    model = selectors.churn_model_current()

    notes = []
    if has_clients and total["lost"] == 0 and tenure["events"] == 0:
        notes.append("No client has churned yet: churn is 0% and the tenure curve stays at 100% until the first one leaves.")
    elif has_clients and total["lost"] == 0:
        notes.append("No client active at the start of this range churned within it.")

    segment = filters.uuids.get("segment")

    def clients(which: str, period: dict, count, **extra) -> str:
        """The clients behind `count` of `period` ("" when there are none)."""
        return churn_clients_url(tenant.slug, which, period["start"], period["end"], segment, **extra) if count else ""

    today = report["today"]
    by_today = (date.fromisoformat(today) + timedelta(days=1)).isoformat()
    tiles = (
        _rate_tile("churn", "Churn rate", total["churn"], total, min_n, explain("churn"),
                   f"{number(total['lost'])} of {number(total['at_start'])} clients lost · {number(total['new'])} new",
                   clients),
        _rate_tile("retention", "Retention rate", total["retention"], total, min_n, explain("churn"),
                   f"{number(total['at_end'] - total['new'])} of {number(total['at_start'])} still active at the end",
                   clients),
        _revenue_tile(total, clients),
        _risk_tile(bands, lambda band, count: risk_clients_url(tenant.slug, band, segment) if count else ""),
        _tenure_tile(tenure, lambda which, count: churn_clients_url(tenant.slug, which, None, by_today, segment) if count else ""),
    )
    x = [p["start"] for p in periods]
    labels = [period_label(date.fromisoformat(p["start"]), date.fromisoformat(p["end"]), chosen, p["partial"]) for p in periods]
    chart_list = (_churn_chart(periods, labels, x, chosen, min_n, clients),
                  _retention_chart(periods, labels, x, chosen, min_n, clients),
                  _revenue_chart(periods, labels, x, chosen, clients),
                  _tenure_chart(tenure, lambda which, days, count: churn_clients_url(tenant.slug, which, None, by_today, segment,
                                                                                     days=str(days)) if count else ""))
    cohort_rows, cohorts_table, months = _cohorts(report["cohorts"], clients, today)
    at_risk = tuple(_at_risk_row(row) for row in top)
    at_risk_total = sum(bands.values())
    at_risk_empty = ""
    if not at_risk:
        at_risk_empty = ("No churn-risk scores yet: every active client is scored each night." if model is None else
                         "No active client is scored in this segment." if filters.segment is not None else
                         "No active client is scored: scores cover active clients, refreshed each night.")
    return ChurnPage(
        interval=chosen, interval_auto=interval_name is None, interval_choices=INTERVALS, query=query, empty=empty,
        notes=tuple(notes), tiles=tiles, charts=chart_list, cohorts=cohort_rows, cohort_months=months,
        cohorts_table=cohorts_table, cohorts_explanation=COHORTS_EXPLANATION, at_risk=at_risk, at_risk_total=at_risk_total,
        at_risk_table=_at_risk_table(top), at_risk_empty=at_risk_empty, at_risk_explanation=AT_RISK_EXPLANATION,
        model=_model_text(model), rules=tuple(RULES.values()) if model is None or model.method == ClientHealth.Method.RULES else (),
    )


def _rate_tile(tile_id: str, label: str, rate: dict, total: dict, min_n: int, explanation: str, extra: str, clients) -> Tile:
    """`clients(which, period, count)`: the clients list's address for a set of a period's clients; the tile's n (the
    clients active at the start) opens them, its readings theirs. Retention's k (active at the end − new) is a
    difference of counts, not a set of clients: it has no link."""
    n = rate["n"]
    low = 0 < n < min_n
    rows = (("Rate (%)", rate["value"]), ("Clients counted (k)", rate["k"]), ("Clients at the start (n)", n),
            ("95% CI low", rate["ci_low"]), ("95% CI high", rate["ci_high"]), ("Lost", total["lost"]), ("New", total["new"]),
            ("Active at the end", total["at_end"]))
    links = ("", "", clients("at_start", total, n), "", "",  # churn's k is its "Lost" (linked there)
             clients("lost", total, total["lost"]), clients("new", total, total["new"]), clients("at_end", total, total["at_end"]))
    return Tile(id=tile_id, label=label, value=_pct(rate["value"]), n=n, interval=interval(rate["ci_low"], rate["ci_high"]),
                explanation=explanation, table=Table(id=f"tile-{tile_id}", title=label, columns=("Reading", "Value"), rows=rows,
                                                     links=links),
                drill=clients("at_start", total, n), drill_what="clients",
                extra=(extra,), low_sample=low,
                low_sample_reason=(f"{n} clients at the start is below this workspace's minimum of {min_n}: the rate is unreliable."
                                   if low else ""))


def _revenue_tile(total: dict, clients) -> Tile:
    revenue = total["revenue_churn"]
    known = total["at_start"] - revenue["clients_without_value"]
    extra = [f"{_amount(revenue['lost_value'])} of {_amount(revenue['start_value'])} annual value lost"]
    if revenue["clients_without_value"]:
        extra.append(f"{number(revenue['clients_without_value'])} clients without a known annual value left out")
    rows = (("Revenue churn (%)", revenue["value"]), ("Annual value lost", revenue["lost_value"]),
            ("Annual value at the start", revenue["start_value"]), ("Clients with a known value", known),
            ("Clients without a value (left out)", revenue["clients_without_value"]))
    return Tile(id="revenue-churn", label="Revenue churn", value=_pct(revenue["value"]), n=known,
                interval="clients with a known annual value", explanation=explain("revenue_churn"),
                table=Table(id="tile-revenue-churn", title="Revenue churn", columns=("Reading", "Value"), rows=rows,
                            links=("", "", "", clients("at_start", total, known, value="known"),
                                   clients("at_start", total, revenue["clients_without_value"], value="unknown"))),
                drill=clients("at_start", total, known, value="known"), drill_what="clients", extra=tuple(extra))


def _risk_tile(bands: dict, clients) -> Tile:
    """`clients(band, count)`: the clients list of one churn-risk band ("scored": any)."""
    scored = sum(bands.values())
    counts = [(band, bands.get(band.value, 0)) for band in (ClientHealth.Band.HIGH, ClientHealth.Band.MEDIUM, ClientHealth.Band.LOW)]
    return Tile(id="at-risk", label="High churn risk", value=number(counts[0][1]) if scored else "—", n=scored,
                interval=f"{number(counts[1][1])} medium · {number(counts[2][1])} low",
                explanation=explain("churn_risk"), extra=("Active clients scored now (the period does not apply).",),
                table=Table(id="tile-at-risk", title="Clients per churn-risk band", columns=("Band", "Clients"),
                            rows=tuple((str(band.label), k) for band, k in counts),
                            links=tuple(clients(band.value, k) for band, k in counts)),
                drill=clients("scored", scored), drill_what="clients")


def _tenure_tile(tenure: dict, clients) -> Tile:
    """`clients(which, count)`: the clients that had become active ("started") or churned ("churned") by today."""
    median = tenure["median_days"]
    if median is not None:
        value = f"{number(median)} days"
        extra = f"Half of the clients had left by day {number(median)}."
    elif tenure["n"]:
        value = "Not reached"
        extra = "More than half of the clients are still active at every tenure seen so far."
    else:
        value, extra = "—", "No client has been active yet."
    return Tile(id="tenure", label="Median tenure", value=value, n=tenure["n"], interval=f"{number(tenure['events'])} churned so far",
                explanation=explain("tenure"), extra=(extra,),
                table=Table(id="tile-tenure", title="Median tenure", columns=("Reading", "Value"),
                            rows=(("Median tenure (days)", median), ("Clients", tenure["n"]), ("Churned", tenure["events"])),
                            links=("", clients("started", tenure["n"]), clients("churned", tenure["events"]))),
                drill=clients("started", tenure["n"]), drill_what="clients")


def _interval_word(interval_name: str) -> str:
    return dict(INTERVALS).get(interval_name, interval_name).lower()


def _clients_list_url(tenant_slug: str, **query) -> str:
    return f"{reverse('clients:list', kwargs={'tenant_slug': tenant_slug})}?{urlencode({k: v for k, v in query.items() if v})}"


def risk_clients_url(tenant_slug: str, band: str, segment: str | None) -> str:
    """The clients list with the active clients of a churn-risk band ("scored": any), in the page's segment."""
    return _clients_list_url(tenant_slug, risk=band, segment=segment)


def churn_clients_url(tenant_slug: str, which: str, start: str | None, before: str, segment: str | None, **extra) -> str:
    """The clients list with the clients behind a churn figure (apps.clients.selectors.CHURN_SETS) of the period
    [start, before), in the page's segment; `extra`: value=known/unknown, milestone + as_of for a cohort."""
    return _clients_list_url(tenant_slug, churn=which, period_from=start, period_before=before, segment=segment, **extra)


def _churn_chart(periods, labels, x, interval_name, min_n, clients) -> Chart:
    rates = [p["churn"] for p in periods]
    links = tuple(clients("lost", p, p["lost"]) for p in periods)
    table = Table(id="churn-periods", title="Churn per period",
                  columns=("Period", "From", "To (exclusive)", "Active at start", "Lost", "Churn (%)", "95% CI low", "95% CI high"),
                  rows=tuple((label, p["start"], p["end"], p["at_start"], p["lost"], p["churn"]["value"], p["churn"]["ci_low"],
                              p["churn"]["ci_high"]) for label, p in zip(labels, periods, strict=True)),
                  caption="A period opens the clients it lost; each count opens its clients." if any(links) else "", links=links,
                  cell_links=tuple({3: clients("at_start", p, p["at_start"]), 4: clients("lost", p, p["lost"])} for p in periods))
    empty = "" if any(r["n"] for r in rates) else "No client was active at the start of any period, so there is no rate to show."
    figure = rate_figure(x, rates, name="Churn rate", color=charts.VERMILLION, band_color=CHURN_BAND,
                         hollow=[0 < r["n"] < min_n for r in rates])
    return Chart(id="churn-rate", title=f"Churn rate per {_interval_word(interval_name)}", explanation=explain("churn"),
                 figure=figure, table=table, empty=empty, links=links)


def _retention_chart(periods, labels, x, interval_name, min_n, clients) -> Chart:
    rates = [p["retention"] for p in periods]
    table = Table(id="retention-periods", title="Retention per period",
                  columns=("Period", "Active at start", "New", "Active at end", "Retained", "Retention (%)", "95% CI low",
                           "95% CI high"),
                  rows=tuple((label, p["at_start"], p["new"], p["at_end"], p["retention"]["k"], p["retention"]["value"],
                              p["retention"]["ci_low"], p["retention"]["ci_high"]) for label, p in zip(labels, periods, strict=True)),
                  cell_links=tuple({1: clients("at_start", p, p["at_start"]), 2: clients("new", p, p["new"]),
                                    3: clients("at_end", p, p["at_end"])} for p in periods))
    empty = "" if any(r["n"] for r in rates) else "No client was active at the start of any period, so there is no rate to show."
    figure = rate_figure(x, rates, name="Retention rate", color=charts.BLUE, band_color=charts.BAND,
                         hollow=[0 < r["n"] < min_n for r in rates])
    return Chart(id="retention-rate", title=f"Retention rate per {_interval_word(interval_name)}", explanation=explain("churn"),
                 figure=figure, table=table, empty=empty)


def _revenue_chart(periods, labels, x, interval_name, clients) -> Chart:
    revenue = [p["revenue_churn"] for p in periods]
    table = Table(id="revenue-periods", title="Revenue churn per period",
                  columns=("Period", "Annual value at start", "Annual value lost", "Revenue churn (%)", "Clients without a value"),
                  rows=tuple((label, r["start_value"], r["lost_value"], r["value"], r["clients_without_value"])
                             for label, r in zip(labels, revenue, strict=True)),
                  cell_links=tuple({4: clients("at_start", p, p["revenue_churn"]["clients_without_value"], value="unknown")}
                                   for p in periods))
    empty = "" if any(r["start_value"] > 0 for r in revenue) else (
        "No annual value is known for the clients active in this range: record it on the client's page to see revenue churn.")
    # No labels on the bars: on a phone they turn sideways; the values are in the table and on hover.
    figure = charts.columns(x, [r["value"] for r in revenue], name="Revenue churn", y_title="% of annual value", color=charts.ORANGE)
    return Chart(id="revenue-churn", title=f"Revenue churn per {_interval_word(interval_name)}", explanation=explain("revenue_churn"),
                 figure=figure, table=table, empty=empty)


def _tenure_chart(tenure: dict, clients) -> Chart:
    """`clients(which, days, count)`: a curve point's clients at risk ("tenure_at_risk") or churned ("tenure_churned")."""
    curve = tenure["curve"]
    table = Table(id="tenure-curve", title="Tenure curve (Kaplan–Meier)",
                  columns=("Days since active", "Clients at risk", "Churned that day", "Still active (%)", "95% CI low", "95% CI high"),
                  rows=tuple((p["days"], p["at_risk"], p["events"], p["survival"], p["ci_low"], p["ci_high"]) for p in curve),
                  cell_links=tuple({1: clients("tenure_at_risk", p["days"], p["at_risk"]), 2: clients("tenure_churned", p["days"], p["events"])}
                                   for p in curve))
    empty = "" if tenure["n"] else "No client has been active yet."
    figure = charts.survival(curve)
    figure["layout"]["xaxis"]["title"]["text"] = "Days since becoming active"  # the shared title overflows a phone's width
    return Chart(id="tenure", title="Tenure: share of clients still active", explanation=explain("tenure"),
                 figure=figure, table=table, empty=empty)


def _cohorts(cohorts: list[dict], clients, today: str) -> tuple[tuple[CohortRow, ...], Table, tuple[int, ...]]:
    """The cohort grid and its table; a cohort's size opens its clients, a milestone's n those observable by today."""
    months = tuple(m["months"] for m in cohorts[0]["active_after"]) if cohorts else (3, 6, 12)
    rows, table_rows = [], []
    links, cell_links = [], []
    for cohort in cohorts:
        start = date.fromisoformat(cohort["start"])
        quarter = {"start": cohort["start"], "end": add_months(start, 3).isoformat()}
        cells, raw, cell_link = [], [cohort["cohort"], cohort["start"], cohort["size"]], {}
        for milestone in cohort["active_after"]:
            url = clients("cohort", quarter, milestone["n"], milestone=str(milestone["months"]), as_of=today)
            cells.append(CohortCell(value=_pct(milestone["value"]), n=number(milestone["n"]) if milestone["n"] else "", url=url))
            cell_link[len(raw) + 1] = url
            raw += [milestone["value"], milestone["n"], milestone["ci_low"], milestone["ci_high"]]
        links.append(clients("cohort", quarter, cohort["size"]))
        cell_link[2] = links[-1]
        cell_links.append(cell_link)
        rows.append(CohortRow(label=cohort["cohort"], size=cohort["size"], cells=tuple(cells), url=links[-1]))
        table_rows.append(tuple(raw))
    columns = ["Cohort", "First day", "Clients"]
    for m in months:
        columns += [f"Active after {m} months (%)", f"n ({m} months)", f"95% CI low ({m} months)", f"95% CI high ({m} months)"]
    table = Table(id="cohorts", title="Cohorts by quarter of becoming active", columns=tuple(columns), rows=tuple(table_rows),
                  cell_links=tuple(cell_links))
    return tuple(rows), table, months


def _owner_name(client) -> str:
    owner = client.owner
    return (owner.user.full_name or owner.user.email) if owner is not None else ""


def _at_risk_row(health) -> AtRiskRow:
    client = health.client
    return AtRiskRow(uuid=str(client.uuid), name=client.name, segment=client.segment.name if client.segment else "",
                     owner=_owner_name(client), score=health.score, band=health.band, band_label=health.get_band_display(),
                     reasons=tuple(reason["text"] for reason in health.reasons))


def _at_risk_table(rows) -> Table:
    return Table(id="at-risk", title=f"Clients most at risk (top {AT_RISK_LIMIT})",
                 columns=("Client", "Segment", "Owner", "Score", "Band", "Reason 1", "Reason 2", "Reason 3", "Method", "Scored at"),
                 rows=tuple((h.client.name, h.client.segment.name if h.client.segment else "", _owner_name(h.client), h.score,
                             h.get_band_display(), *([r["text"] for r in h.reasons] + ["", "", ""])[:3], h.get_method_display(),
                             h.computed_at.isoformat()) for h in rows))


def _model_text(model) -> str:
    if model is None:
        return "No churn model yet: clients are scored each night, with documented rules until enough clients have left to fit a model."
    when = f"{model.fitted_at:%-d %b %Y}"
    if model.method == ClientHealth.Method.MODEL:
        auc = "no held-out AUC" if model.auc is None else f"held-out AUC {number(model.auc, 2)} on {number(model.n_test)} clients"
        return (f"Logistic regression fitted on {when} on {number(model.n_churned)} churned and {number(model.n_retained)} retained "
                f"clients; {auc} (0.5 = no better than chance, 1 = perfect ranking).")
    return (f"Documented rules (scored on {when}): a model needs at least 30 churned and 30 retained clients, and this workspace "
            f"has {number(model.n_churned)} churned and {number(model.n_retained)} retained.")
