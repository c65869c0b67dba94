"""What a dashboard page is made of: tiles, charts and tables, as frozen values built from selector
output (STYLE.md: templates and charts never query; no number is computed in a template).

- `Table`: the data behind a tile or chart — its text alternative (rendered under the chart) and its
  CSV (`?csv=<table id>` on the page, apps.reports.rendering). Cells hold raw values; `display_rows`
  formats them for the page.
- `Chart`: a plotly figure dict (built by apps.metrics.charts), the rule it shows in words and its
  table. No data → `empty` says why and nothing is drawn.
- `Tile`: one metric with n, its interval, the previous period, and a change marker only when the change
  is significant; greyed with the reason when n is below the workspace's minimum
  (`apps.metrics.scores.tiles.metric_tile` builds one from a metric's summary).

The report toolkit knows no metric and no app above it: feedback (plans, audits), digests and the
dashboards all build their pages from these values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from apps.reports.plotly import figure_escaped, trace_types_drawable


def number(value, digits: int = 1, *, signed: bool = False) -> str:
    """A value for display: "—" for none, rounded half away from zero, a real minus sign."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and not signed:
        return f"{value:,}"
    text = f"{value:+,.{digits}f}" if signed else f"{value:,.{digits}f}"
    if text.lstrip("+−-").strip("0.,") == "":
        text = text.lstrip("+-")
    return text.replace("-", "−")


def interval(low, high, digits: int = 1) -> str:
    if low is None or high is None:
        return "no interval"
    return f"95% CI {number(low, digits)} to {number(high, digits)}"


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]
    caption: str = ""
    links: tuple[str, ...] = ()  # per row, the address its first cell links to ("" for none): the rows behind it
    # per row, {column index ≥ 1: address} for the other cells that count rows (e.g. "Lost", "New"): each opens its own
    cell_links: tuple[dict[int, str], ...] = ()

    @property
    def display_rows(self) -> list[list[str]]:
        return [[_cell(value) for value in row] for row in self.rows]

    @property
    def body_html(self) -> SafeString:
        """The table's rows as HTML (the first cell of each a row header), every cell escaped unless already safe.
        Built here rather than by a template loop: a dashboard page holds a thousand cells or more, and the
        template engine spent more time on them than the page spends in SQL (bench/dashboards.py --profile)."""
        rows = self.display_rows
        links = self.links
        if not rows:
            return mark_safe(f'<tr><td class="empty" colspan="{len(self.columns)}">No data for these filters.</td></tr>')
        escape = conditional_escape

        cell_links = self.cell_links

        def td(cell, link: str) -> str:
            return f'<td><a href="{escape(link)}">{escape(cell)}</a></td>' if link else f"<td>{escape(cell)}</td>"

        def tr(row, link: str, others: dict[int, str]) -> str:
            if not row:
                return "<tr></tr>"
            head = f'<a href="{escape(link)}">{escape(row[0])}</a>' if link else escape(row[0])
            return f'<tr><th scope="row">{head}</th>' + "".join(td(cell, others.get(i, "")) for i, cell in enumerate(row[1:], 1)) + "</tr>"

        return mark_safe("\n".join(tr(row, links[i] if i < len(links) else "", cell_links[i] if i < len(cell_links) else {})
                                   for i, row in enumerate(rows)))  # escaped by tr()

    def __bool__(self) -> bool:  # an empty table is still a table: truthiness never hides one by accident
        return True


def _cell(value) -> str:
    if isinstance(value, float):
        return number(value, 1)
    if value is None:
        return "—"
    return number(value) if isinstance(value, int | bool) else str(value)


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    explanation: str
    figure: dict
    table: Table
    empty: str = ""  # non-empty: there is nothing to draw, and this says why
    # Clicking point i of trace `links_trace` opens links[i] ("" for none): the rows behind that bar or point
    # (static/js/charts.js). The table under the chart links the same rows, for the keyboard and without JavaScript.
    links: tuple[str, ...] = ()
    links_trace: int = 0

    def __post_init__(self):
        # Every string of the figure escaped for plotly's HTML dialect, here for every chart of every page
        # (apps.reports.plotly.figure_escaped; issue 15, F7): a name never becomes a link or markup.
        object.__setattr__(self, "figure", figure_escaped(self.figure))
        trace_types_drawable(self.figure)

    @property
    def has_data(self) -> bool:
        return not self.empty

    @property
    def script_id(self) -> str:
        return f"chart-{self.id}-data"

    @property
    def links_json(self) -> str:
        return json.dumps(list(self.links))

    @property
    def figure_json(self) -> str:
        """The figure as JSON for the chart's data-figure attribute (escaped there by the template)."""
        return json.dumps(self.figure, cls=DjangoJSONEncoder)


def drill_links(table: Table, skip: str = "") -> list[tuple[str, str, str]]:
    """(reading, its value, its address) of the rows of a tile's table that open their own rows — e.g. "Lost 3",
    "Recovered 5" —, each address once and not `skip` (the tile's n): shown under the tile, so every count of a
    tile is reached from it."""
    seen, out = {skip}, []
    for row, link in zip(table.rows, table.links, strict=False):
        if link and link not in seen:
            seen.add(link)
            out.append((str(row[0]), _cell(row[1]), link))
    return out


@dataclass(frozen=True)
class Tile:
    id: str
    label: str
    value: str
    n: int
    interval: str
    explanation: str
    table: Table
    previous: str = ""
    change: str = ""
    significant: bool = False
    direction: str = ""  # "up" / "down" when significant
    better: bool | None = None  # True: the significant change is an improvement
    low_sample: bool = False
    low_sample_reason: str = ""
    extra: tuple[str, ...] = field(default_factory=tuple)  # secondary readings, e.g. "Mean 4.1 / 5"
    drill: str = ""  # the address of the n responses behind the value (the responses list, filtered)
    drill_what: str = "answers"  # what the drill address lists ("clients", "cases")

    @property
    def drill_links(self) -> list[tuple[str, str, str]]:
        return drill_links(self.table, self.drill)
