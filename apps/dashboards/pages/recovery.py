"""The recovery page (issue 8 item 3): did resolving a case win the client back? Recovery rate and the
score change after recovery, with n and 95% intervals, overall, per root cause and per staff member
(the case's assignee), from `apps.feedback.recovery.selectors.recovery_report` only — the rule is in
its docstring and in `explain("recovery")`.

Readers (admin, CX lead, viewer) see every case. A staff member sees only their own cases: the view
forces the staff filter (the case's assignee) to their membership, and the page then has no per-staff
chart or table (no other staff member's name or number can appear).

Filters: the period applies to the recovery answer's day; touchpoint, stage, journey, segment, survey
and channel to the answer that opened the case (cases opened from an interaction or a client leave
as soon as one of these is given); staff to the assignee.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.dashboards.filters import FilterState
from apps.feedback.recovery.selectors import NO_ROOT_CAUSE, UNASSIGNED, RecoveryReport, recovery_report
from apps.metrics import charts
from apps.metrics.drill import cases_url
from apps.metrics.explanations import explain
from apps.reports.panels import Chart, Table, Tile, interval, number
from apps.reports.rendering import tables_of

FIELDS = ("journey", "stage", "touchpoint", "segment", "survey", "staff", "channel")
ROW_COLUMNS = ("", "Cases", "Recovered", "Recovery rate %", "95% CI low", "95% CI high", "Mean score change (points)",
               "Change 95% CI low", "Change 95% CI high", "Low sample")


@dataclass(frozen=True)
class RecoveryPage:
    own: bool  # a staff member reading their own cases
    counted: int
    empty: str  # non-empty: nothing counted in this period, and this says why / what to do
    tiles: tuple[Tile, ...]
    charts: tuple[Chart, ...]

    @property
    def has_data(self) -> bool:
        return self.counted > 0

    @property
    def tables(self) -> list[Table]:
        return tables_of(self.tiles, self.charts)


def _pct(value, digits: int = 0) -> str:
    return "—" if value is None else f"{number(value, digits)}%"


def _points(value) -> str:
    return "—" if value is None else f"{number(value, 1, signed=True)} pts"


def _low_reason(n: int, min_n: int, what: str = "cases") -> str:
    return f"n = {n} {what} is below this workspace's minimum of {min_n}: the value is unreliable."


def rate_tile(o: dict, *, min_n: int, cases) -> Tile:
    """`cases(which, **narrow)`: the case list's address for a set of the report's cases (apps.metrics.drill)."""
    n = o["n"]
    low = bool(o["low_sample"]) and n > 0
    return Tile(id="recovery-rate", label="Recovery rate", value=_pct(o["rate"]), n=n, interval=interval(o["low"], o["high"]),
                explanation=explain("recovery"),
                extra=(f"{number(o['recovered'])} of {number(n)} detractor case{'s' if n != 1 else ''} recovered",) if n else (),
                table=Table(id="tile-recovery-rate", title="Recovery rate", columns=("Reading", "Value"),
                            rows=(("Recovery rate %", o["rate"]), ("Counted cases", n), ("Recovered", o["recovered"]),
                                  ("95% CI low", o["low"]), ("95% CI high", o["high"]), ("Low sample", bool(o["low_sample"]))),
                            links=("", cases("counted") if n else "", cases("recovered") if o["recovered"] else "", "", "", "")),
                low_sample=low, low_sample_reason=_low_reason(n, min_n) if low else "",
                drill=cases("counted") if n else "", drill_what="cases")


def change_tile(o: dict, metrics: list[dict], *, min_n: int, cases) -> Tile:
    c = o["change"]
    n = c["n"]
    low = bool(o["low_sample"]) and n > 0
    per_metric = tuple(f"{row['label']}: {_points(row['change']['mean'])} (n = {number(row['n'])})" for row in metrics)
    rows = [("Mean change (points)", c["mean"]), ("Counted cases", n), ("95% CI low", c["low"]), ("95% CI high", c["high"])]
    rows += [(f"{row['label']} mean change", row["change"]["mean"]) for row in metrics]
    links = ("", cases("counted") if n else "")  # the per-metric lines are means, not counts: their cases are the n's
    return Tile(id="score-change", label="Score change after recovery", value=_points(c["mean"]), n=n,
                interval=interval(c["low"], c["high"]) if n else "no interval",
                explanation=explain("recovery") + " Each metric's change is in its own points; the overall mean mixes them "
                                                  "when cases were opened from more than one metric, so read the per-metric lines.",
                extra=per_metric if len(metrics) > 1 else (),
                table=Table(id="tile-score-change", title="Score change after recovery", columns=("Reading", "Value"), rows=tuple(rows),
                            links=links),
                low_sample=low, low_sample_reason=_low_reason(n, min_n) if low else "",
                drill=cases("counted") if n else "", drill_what="cases")


def resolved_tile(report: RecoveryReport, cases) -> Tile:
    return Tile(id="cases-resolved", label="Cases resolved", value=number(report.resolved), n=report.resolved,
                interval=f"{number(report.recovery_sent)} with a recovery survey sent",
                explanation="Cases resolved in the period (by the day they were resolved, this workspace's time zone) and "
                            "still resolved; a resolved case can send the client a short recovery survey.",
                table=Table(id="tile-cases-resolved", title="Cases resolved", columns=("Reading", "Value"),
                            rows=(("Cases resolved", report.resolved), ("Recovery survey sent", report.recovery_sent)),
                            links=(cases("resolved") if report.resolved else "", cases("sent") if report.recovery_sent else "")),
                drill=cases("resolved") if report.resolved else "", drill_what="cases")


def answered_tile(report: RecoveryReport, cases) -> Tile:
    counted = report.overall["n"]
    return Tile(id="recovery-answered", label="Recovery surveys answered", value=number(report.answered), n=report.answered,
                interval=f"{number(counted)} counted in the recovery rate",
                explanation="Recovery surveys answered in the period (by the answer's day). An answer counts in the recovery "
                            "rate when its case was opened from a negative answer and the recovery survey asked the same "
                            "question; bot-flagged answers never count.",
                table=Table(id="tile-recovery-answered", title="Recovery surveys answered", columns=("Reading", "Value"),
                            rows=(("Answered", report.answered), ("Counted in the recovery rate", counted)),
                            links=(cases("answered") if report.answered else "", cases("counted") if counted else "")),
                drill=cases("answered") if report.answered else "", drill_what="cases")


def _table(table_id: str, title: str, first: str, rows: list[dict], links: tuple[str, ...] = ()) -> Table:
    return Table(id=table_id, title=title, columns=(first, *ROW_COLUMNS[1:]),
                 rows=tuple((r["label"], r["n"], r["recovered"], r["rate"], r["low"], r["high"], r["change"]["mean"],
                             r["change"]["low"], r["change"]["high"], bool(r["low_sample"])) for r in rows),
                 caption="A row opens the cases it counts." if any(links) else "", links=links)


def rate_chart(chart_id: str, title: str, first: str, rows: list[dict], *, empty: str, min_n: int,
               links: tuple[str, ...] = ()) -> Chart:
    figure = {}
    if rows:
        figure = charts.bars([r["label"] for r in rows], [r["rate"] for r in rows], low=[r["low"] for r in rows],
                             high=[r["high"] for r in rows], notes=[f"n = {number(r['n'])} · {_points(r['change']['mean'])}" for r in rows],
                             faded=[bool(r["low_sample"]) for r in rows], x_title="Recovery rate %", x_range=[0, 102])
    return Chart(id=chart_id, title=title,
                 explanation=f"{explain('recovery')} Bars: the recovery rate with its 95% interval; under each name the number "
                             f"of counted cases and the mean score change. Hatched, paler bars have fewer than {min_n} cases "
                             "(this workspace's minimum), so their value is unreliable.",
                 figure=figure, table=_table(chart_id, title, first, rows, links), empty="" if rows else empty, links=links)


def recovery_page(tenant, state: FilterState, *, own: bool) -> RecoveryPage:
    """Compose the page (module docstring). One report: a fixed number of queries."""
    report = recovery_report(tenant, state.filters)
    min_n = tenant.min_n_other
    if own:
        empty = ("None of your cases has a recovery answer in this period. When you resolve a case from a negative answer "
                 "and send the recovery survey, the client's new answer counts here.")
    else:
        empty = ("No recovery answers in this period. When a case opened from a negative answer is resolved with a recovery "
                 "survey and the client answers it, it counts here. Try a longer period, or fewer filters.")
    f = state.filters

    def cases(which: str, **narrow: str) -> str:
        return cases_url(tenant.slug, f, which, **narrow)

    def row_links(rows: list[dict], field: str, none_label: str, none_field: str) -> tuple[str, ...]:
        """Each row's counted cases: its value's, "none" for the row without one, "" for a value deleted since."""
        return tuple(cases("counted", **{field: r["key"]}) if r["key"] else
                     cases("counted", **{none_field: "on"}) if r["label"] == none_label else "" for r in rows)

    chart_list = [rate_chart("recovery-root-causes", "Recovery per root cause", "Root cause", report.root_causes, empty=empty, min_n=min_n,
                             links=row_links(report.root_causes, "root_cause", NO_ROOT_CAUSE, "no_root_cause"))]
    if not own:
        chart_list.append(rate_chart("recovery-staff", "Recovery per staff member", "Staff member (assignee)", report.staff,
                                     empty=empty, min_n=min_n, links=row_links(report.staff, "assignee", UNASSIGNED, "unassigned")))
    tiles = (rate_tile(report.overall, min_n=min_n, cases=cases), change_tile(report.overall, report.metrics, min_n=min_n, cases=cases),
             resolved_tile(report, cases), answered_tile(report, cases))
    return RecoveryPage(own=own, counted=report.overall["n"], empty="" if report.has_data else empty, tiles=tiles,
                        charts=tuple(chart_list))
