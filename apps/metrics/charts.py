"""Charts as pure functions: selector output in, a plotly figure dict out ({"data", "layout"}), shipped by
the template in a data-figure attribute and drawn by static/js/charts.js with the vendored plotly.js (STYLE.md 9;
RECIPES.md "Charts under a strict Content-Security-Policy").

Plain dicts rather than plotly.graph_objects: building and validating a graph_objects.Figure costs tens of
milliseconds per chart, a page draws about ten, and the output is the same JSON. tests/test_charts.py
validates every function's output with graph_objects.Figure, so a typo in a key still fails a test.

Readable by colour-blind people: the Okabe–Ito palette, and meaning never carried by colour alone
(interval bands are labelled, low-sample points are hollow, the comparison series is dashed or hatched).
Every chart's numbers are also in its table (the text alternative, apps.reports.panels.Table).
"""

from __future__ import annotations

from datetime import date

from apps.reports.plotly import TEMPLATE_KEYS, PlotlyText, figure_escaped, plotly_text  # noqa: F401 - re-exported

# Okabe & Ito (2008), "Color Universal Design".
BLUE, ORANGE, SKY, GREEN, YELLOW, VERMILLION, PURPLE, GREY = (
    "#0072B2", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#D55E00", "#CC79A7", "#4b5563")
BAND = "rgba(0, 114, 178, 0.16)"
BAND_ALT = "rgba(230, 159, 0, 0.18)"
INK, MUTED, GRID = "#111827", "#4b5563", "#e2e8f0"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'


def _iso(day) -> str:
    return day.isoformat() if isinstance(day, date) else str(day)


def layout(*, height: int = 300, x_title: str = "", y_title: str = "", y_range: list | None = None, legend: bool = True,
           bar_horizontal: bool = False, **extra) -> dict:
    """The house layout: system font, light grid, no plotly title (the page's heading names the chart)."""
    out = {
        "height": height,
        "margin": {"l": 8, "r": 16, "t": 8, "b": 8, "pad": 4},
        "font": {"family": FONT, "size": 13, "color": INK},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "showlegend": legend,
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
        "hoverlabel": {"font": {"family": FONT}},
        "xaxis": {"title": {"text": x_title}, "gridcolor": GRID, "zerolinecolor": "#8592a3", "automargin": True,
                  "color": MUTED},
        "yaxis": {"title": {"text": y_title}, "gridcolor": GRID, "zerolinecolor": "#8592a3", "automargin": True,
                  "color": MUTED},
    }
    if y_range is not None:
        out["yaxis"]["range"] = y_range
    if bar_horizontal:
        out["yaxis"]["autorange"] = "reversed"  # first row at the top, as in the table
        out["xaxis"]["zeroline"] = True
    out.update(extra)
    return out


def band(x: list, low: list, high: list, *, name: str = "95% interval", color: str = BAND) -> list[dict]:
    """An interval band: the high edge, then the low edge filled up to it. Gaps (None) stay gaps."""
    edge = {"mode": "lines", "line": {"width": 0}, "hoverinfo": "skip", "type": "scatter", "x": x}
    return [
        {**edge, "y": high, "showlegend": False, "name": name, "legendgroup": name},
        {**edge, "y": low, "fill": "tonexty", "fillcolor": color, "name": name, "legendgroup": name, "showlegend": True},
    ]


def series(x: list, y: list, *, name: str, color: str = BLUE, dash: str = "solid", hollow: list[bool] | None = None,
           text: list[str] | None = None, shape: str = "linear") -> dict:
    """A line with markers; `hollow[i]` draws point i hollow (a low sample): an open symbol, which
    plotly.js strokes in marker.color with no fill (so that colour stays the line's, never white)."""
    trace = {"type": "scatter", "mode": "lines+markers", "x": x, "y": y, "name": name, "connectgaps": False,
             "line": {"color": color, "width": 2.5, "dash": dash, "shape": shape},
             "marker": {"color": color, "size": 7, "line": {"color": color, "width": 2}}}
    if hollow is not None:
        trace["marker"]["symbol"] = ["circle-open" if h else "circle" for h in hollow]
    if text is not None:
        trace["text"] = text
        trace["hovertemplate"] = "%{x}<br>%{y}<br>%{text}<extra></extra>"
    return trace


def trend(points: list[dict], metric: str, *, name: str, y_title: str = "", y_range: list | None = None) -> dict:
    """One metric over the periods of apps.metrics.scores.selectors.Trend.points: the line, its 95% band, and
    hollow points where the period's n is below the minimum sample."""
    x = [_iso(p["start"]) for p in points]
    blocks = [p[metric] for p in points]
    y = [b["value"] for b in blocks]
    text = [f"n = {b['n']}" + (" (low sample)" if b.get("low_sample") and b["n"] else "") for b in blocks]
    data = band(x, [b.get("ci_low") for b in blocks], [b.get("ci_high") for b in blocks])
    data.append(series(x, y, name=name, hollow=[bool(b.get("low_sample")) for b in blocks], text=text))
    return {"data": data, "layout": layout(y_title=y_title, y_range=y_range)}


# plotly's HTML dialect: every string of a figure is escaped in one place (apps/reports/plotly.py), applied
# by apps.reports.panels.Chart to every chart a page shows; labels built here are PlotlyText already.
# Re-exported at the top (charts.plotly_text, charts.figure_escaped) for the figure builders of the apps above.


def _axis_label(label: str, note: str = "") -> PlotlyText:
    """A category label as plotly draws it: the name escaped (a touchpoint called "<b>VIP</b>" shows as
    typed); `note` goes on a second, shorter line."""
    return plotly_text(label, line_break_before=note)


def bars(labels: list[str], values: list, *, low: list | None = None, high: list | None = None, n: list[int] | None = None,
         notes: list[str] | None = None, faded: list[bool] | None = None, name: str = "", x_title: str = "",
         x_range: list | None = None, color: str | list[str] = BLUE) -> dict:
    """Horizontal bars, one per label (first at the top), with 95% error bars when low/high are given.
    Each label's second line is `notes[i]`, else "n = …" when `n` is given — under the label, not on the
    bar, where the interval's whisker would cross it and a short bar would cut it off. `faded[i]` hatches
    bar i over its colour (a low sample: pattern, not colour alone)."""
    if notes is None and n is not None:
        notes = [f"n = {k:,}" for k in n]
    shown = [_axis_label(label, notes[i] if notes else "") for i, label in enumerate(labels)]
    trace = {"type": "bar", "orientation": "h", "y": shown, "x": values, "name": name or "value",
             "marker": {"color": color}, "hovertemplate": "%{y}: %{x}<extra></extra>"}
    if low is not None and high is not None:
        trace["error_x"] = {"type": "data", "symmetric": False, "color": INK, "thickness": 1.5, "width": 4,
                            "array": [(h - v) if h is not None and v is not None else None for v, h in zip(values, high, strict=True)],
                            "arrayminus": [(v - lo) if lo is not None and v is not None else None for v, lo in zip(values, low, strict=True)]}
    if faded is not None:
        # fillmode overlay: the white hatch is drawn over the bar's colour (plotly's default fills the
        # background instead, and the bar vanished, leaving only its whisker).
        trace["marker"]["pattern"] = {"shape": ["/" if f else "" for f in faded], "fgcolor": "#ffffff", "solidity": 0.35,
                                      "fillmode": "overlay"}
        trace["marker"]["opacity"] = [0.55 if f else 1 for f in faded]
    per_row = 48 if notes else 36
    fig_layout = layout(height=max(170, per_row * len(labels) + 70), x_title=x_title, legend=False, bar_horizontal=True)
    if x_range is not None:
        fig_layout["xaxis"]["range"] = x_range
    return {"data": [trace], "layout": fig_layout}


def block_bars(rows: list[dict], metric: str | None, *, label: str = "label", x_title: str = "", x_range: list | None = None) -> dict:
    """`bars` from rows carrying metric blocks (a breakdown's rows; metric None: the row is the block),
    with n under each label, intervals, and low samples hatched."""
    blocks = [row if metric is None else row[metric] for row in rows]
    return bars([str(row[label]) for row in rows], [b["value"] for b in blocks], low=[b.get("ci_low") for b in blocks],
                high=[b.get("ci_high") for b in blocks], n=[b["n"] for b in blocks],
                faded=[bool(b.get("low_sample")) for b in blocks], x_title=x_title, x_range=x_range)


def paired_bars(labels: list[str], first: list, second: list, *, names: tuple[str, str], x_title: str = "",
                x_range: list | None = None, notes: list[str] | None = None) -> dict:
    """Two values side by side per label (e.g. actual vs perceived NPS), laid on their side — one row per
    label, first at the top, so long names stay readable on a phone; the second bar is hatched.
    An NPS axis (x_range within −100…100) gets three ticks, which a phone's width can hold."""
    shown = [_axis_label(label, notes[i] if notes else "") for i, label in enumerate(labels)]
    fig_layout = layout(height=max(190, 64 * len(labels) + 90), x_title=x_title, bar_horizontal=True, barmode="group")
    if x_range is not None:
        fig_layout["xaxis"]["range"] = x_range
        if x_range[0] <= -100 and x_range[1] >= 100:
            fig_layout["xaxis"].update(tickvals=[-100, 0, 100], ticktext=["−100", "0", "100"], tickangle=0)
    return {"data": [
        {"type": "bar", "orientation": "h", "y": shown, "x": first, "name": names[0], "marker": {"color": BLUE},
         "hovertemplate": "%{y}: %{x}<extra>%{fullData.name}</extra>"},
        {"type": "bar", "orientation": "h", "y": shown, "x": second, "name": names[1],
         "marker": {"color": ORANGE, "pattern": {"shape": "/", "fillmode": "overlay", "fgcolor": "#ffffff"}},
         "hovertemplate": "%{y}: %{x}<extra>%{fullData.name}</extra>"},
    ], "layout": fig_layout}


def funnel(steps: list[tuple[str, int]]) -> dict:
    """The invitation funnel: invited → delivered → opened → responded."""
    return {"data": [{"type": "funnel", "y": [label for label, _ in steps], "x": [value for _, value in steps],
                      "textinfo": "value+percent initial", "marker": {"color": [(BLUE, SKY, GREEN, ORANGE)[i % 4] for i in range(len(steps))]},
                      "connector": {"line": {"color": GRID}}}],
            "layout": layout(height=260, legend=False)}


def rates(x: list, lines: list[tuple[str, list, list, list]], *, y_title: str = "%", y_range: list | None = None) -> dict:
    """Rates per period with their 95% bands: lines = [(name, values, lows, highs)], the second dashed."""
    colors, fills, dashes = (BLUE, ORANGE, GREEN), (BAND, BAND_ALT, "rgba(0,158,115,0.16)"), ("solid", "dash", "dot")
    data = []
    for i, (name, values, lows, highs) in enumerate(lines):
        data += band(x, lows, highs, name=f"{name}: 95% interval", color=fills[i % 3])
        data.append(series(x, values, name=name, color=colors[i % 3], dash=dashes[i % 3]))
    return {"data": data, "layout": layout(y_title=y_title, y_range=y_range)}


def survival(curve: list[dict], *, name: str = "Still active") -> dict:
    """A Kaplan–Meier curve (steps) with its band: curve = [{days, survival, ci_low, ci_high}]."""
    x = [p["days"] for p in curve]
    data = band(x, [p.get("ci_low") for p in curve], [p.get("ci_high") for p in curve])
    for trace in data:
        trace["line"] = {"width": 0, "shape": "hv"}
    data.append(series(x, [p.get("survival") for p in curve], name=name, shape="hv"))
    data[-1]["mode"] = "lines"
    return {"data": data, "layout": layout(x_title="Days since the client became active", y_title="% still active", y_range=[0, 102])}


def columns(labels: list[str], values: list, *, name: str, y_title: str = "", color: str = BLUE, text: list[str] | None = None,
            y_range: list | None = None) -> dict:
    """Vertical bars, one per label (e.g. a journey's stages in order)."""
    trace = {"type": "bar", "x": labels, "y": values, "name": name, "marker": {"color": color}}
    if text is not None:
        trace["text"] = text
        trace["textposition"] = "auto"
    return {"data": [trace], "layout": layout(y_title=y_title, y_range=y_range, legend=False)}


def plan_progress(points: list[dict], metric: str, *, name: str, baseline: tuple | None, target: float | None,
                  y_title: str = "", y_range: list | None = None) -> dict:
    """An action plan's metric per week since its start (apps.metrics.scores.selectors.Trend.points): the line with
    its 95% band (hollow points: low samples), the baseline's interval as a second, orange band across the
    whole period with its value dashed, and the target as a dotted green line. baseline = (value, low, high)
    or None (no answers before the plan); every line is named in the legend, never colour alone."""
    x = [_iso(p["start"]) for p in points]
    data = []
    if baseline is not None and baseline[0] is not None and x:
        value, low, high = baseline
        if low is not None and high is not None:
            data += band(x, [low] * len(x), [high] * len(x), name="Baseline: 95% interval", color=BAND_ALT)
        data.append({"type": "scatter", "mode": "lines", "x": x, "y": [value] * len(x), "name": "Baseline",
                     "line": {"color": ORANGE, "width": 2, "dash": "dash"}, "marker": {"color": ORANGE},
                     "hovertemplate": "Baseline %{y}<extra></extra>"})
    if target is not None and x:
        data.append({"type": "scatter", "mode": "lines", "x": x, "y": [target] * len(x), "name": "Target",
                     "line": {"color": GREEN, "width": 2.5, "dash": "dot"}, "marker": {"color": GREEN},
                     "hovertemplate": "Target %{y}<extra></extra>"})
    trend_figure = trend(points, metric, name=name)
    data += trend_figure["data"]
    return {"data": data, "layout": layout(y_title=y_title, y_range=y_range)}


def period_pair(labels: list[str], first: list, first_low: list, first_high: list, second: list, second_low: list,
                second_high: list, *, names: tuple[str, str], x_title: str = "", x_range: list | None = None,
                notes: list[str] | None = None) -> dict:
    """Two periods side by side per label (e.g. a journey's stages, the six months before and the last
    six), with 95% error bars: the earlier period hatched orange, the later solid blue, one row per
    label, first at the top. `notes[i]` is label i's second line (e.g. the n of both periods)."""

    def errors(values, lows, highs):
        return {"type": "data", "symmetric": False, "color": INK, "thickness": 1.5, "width": 3,
                "array": [(h - v) if h is not None and v is not None else None for v, h in zip(values, highs, strict=True)],
                "arrayminus": [(v - lo) if lo is not None and v is not None else None for v, lo in zip(values, lows, strict=True)]}

    shown = [_axis_label(label, notes[i] if notes else "") for i, label in enumerate(labels)]
    fig_layout = layout(height=max(200, 72 * len(labels) + 90), x_title=x_title, bar_horizontal=True, barmode="group")
    if x_range is not None:
        fig_layout["xaxis"]["range"] = x_range
    return {"data": [
        {"type": "bar", "orientation": "h", "y": shown, "x": first, "name": names[0], "error_x": errors(first, first_low, first_high),
         "marker": {"color": ORANGE, "pattern": {"shape": "/", "fillmode": "overlay", "fgcolor": "#ffffff"}},
         "hovertemplate": "%{y}: %{x}<extra>%{fullData.name}</extra>"},
        {"type": "bar", "orientation": "h", "y": shown, "x": second, "name": names[1], "error_x": errors(second, second_low, second_high),
         "marker": {"color": BLUE}, "hovertemplate": "%{y}: %{x}<extra>%{fullData.name}</extra>"},
    ], "layout": fig_layout}
