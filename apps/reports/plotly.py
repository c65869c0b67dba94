"""plotly's HTML dialect, escaped: the report toolkit's guarantee that no user text in a chart becomes
markup or a link (issue 15, F7). Moved from apps.metrics.charts, which re-exports it."""

from __future__ import annotations

import html

# --- plotly's HTML dialect -------------------------------------------------------------------------
# plotly.js draws every text of a figure (tick and category labels, axis and chart titles, legend names,
# bar and hover texts, annotations) through a small HTML dialect: <br>, <b>, <i>, <sup>, <span style> and
# <a href>, which becomes a live link in the SVG. A journey stage named `<a href="https://evil.example">`
# was one (issue 15, F7). So every string of a figure is escaped in one place, `figure_escaped`, applied
# by apps.reports.panels.Chart to every chart a page shows; only `PlotlyText` (written by
# `plotly_text`, and apps.metrics.charts `_axis_label`: escaped names with our own <br>) and our own templates (TEMPLATE_KEYS,
# which never hold user text) pass as they are. plotly turns the entities back into the characters, so
# "Tom & Jerry" and "<b>VIP</b>" show as typed.


class PlotlyText(str):
    """Text already in plotly's dialect: user text escaped, markup ours. Made only by `plotly_text`."""


# The trace types the served plotly.js bundle draws: static/vendor/plotly.min.js is plotly's "finance"
# partial bundle (1.3 MB instead of the full 4.8 MB: every dashboard page loads it, phones included;
# scripts/vendor_static.py). A chart of another type would silently not draw, so `Chart` refuses it
# (`trace_types_drawable`); tests/test_dashboards_static.py checks this list against the bundle itself.
DRAWABLE_TRACE_TYPES = frozenset({"bar", "candlestick", "funnel", "funnelarea", "histogram", "indicator", "ohlc", "pie",
                                  "scatter", "waterfall"})


def trace_types_drawable(figure: dict) -> None:
    """Raise ValueError when a trace of `figure` is of a type the served bundle does not draw."""
    missing = {trace.get("type", "scatter") for trace in figure.get("data", ())} - DRAWABLE_TRACE_TYPES
    if missing:
        raise ValueError(f"plotly trace type(s) {sorted(missing)} are not in the served bundle "
                         "(static/vendor/plotly.min.js, scripts/vendor_static.py): choose another bundle or chart type")


TEMPLATE_KEYS = frozenset({"hovertemplate", "texttemplate"})  # ours: %{…} placeholders and <extra>, never user text


def plotly_text(value, *, line_break_before: str = "") -> PlotlyText:
    """`value` (any text) escaped for plotly; `line_break_before` a second line, escaped too."""
    text = html.escape(str(value), quote=False)
    return PlotlyText(f"{text}<br>{html.escape(line_break_before, quote=False)}" if line_break_before else text)


def figure_escaped(figure):
    """A copy of `figure` (dicts, lists, strings, numbers) with every string escaped for plotly, except
    PlotlyText and the values of TEMPLATE_KEYS."""
    if isinstance(figure, PlotlyText):
        return str(figure)
    if isinstance(figure, str):
        return html.escape(figure, quote=False)
    if isinstance(figure, dict):
        return {key: (value if key in TEMPLATE_KEYS and isinstance(value, str) else figure_escaped(value))
                for key, value in figure.items()}
    if isinstance(figure, list | tuple):
        return [figure_escaped(value) for value in figure]
    return figure
