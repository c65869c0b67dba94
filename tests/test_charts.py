"""apps.metrics.charts: every public figure builder, fed selector-shaped input (real `stats.blocks`,
`selectors.periods`, `churn.retention.tenure_curve`), gives a figure plotly accepts, that survives strict JSON,
keeps missing values as gaps, and is readable by colour-blind people (issue 7 "Charts").

charts.py builds plain dicts for speed; `plotly.graph_objects.Figure(fig)` validates every key and value
here instead (an unknown key or a bad value raises). Colours: every mark's colour is one of Okabe & Ito's
eight (an interval band is one of them, translucent); the rest is neutral ink, grid or white. Meaning is
never carried by colour alone: low-sample points are hollow, low-sample bars hatched, the comparison
series dashed or hatched. No database.
"""

from __future__ import annotations

import inspect
import json
import re
from datetime import date

import pandas as pd
import plotly.graph_objects as go
import pytest

from apps.metrics import charts, stats
from apps.metrics.buckets import Bucket
from apps.metrics.churn import retention
from apps.metrics.scores.selectors import periods

OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}
NEUTRAL = {charts.INK, charts.MUTED, charts.GRID, charts.GREY, "#8592a3", "#ffffff", "rgba(0,0,0,0)"}
MIN_N = {"min_n_nps": 30, "min_n_other": 10}


# --- selector-shaped input ------------------------------------------------------------------------

def bucket(nps=(), csat=(), ces=()) -> Bucket:
    """A merged bucket of responses with these scores (one response per score)."""
    parts = [Bucket.of_response(nps=s) for s in nps] + [Bucket.of_response(csat=s) for s in csat]
    parts += [Bucket.of_response(ces=s) for s in ces]
    return Bucket.merge(parts)


def trend_points(first=date(2025, 3, 1), last=date(2025, 3, 10)) -> list[dict]:
    """As metrics_trend gives them: day 4 has no response (value None: a gap), days 8–10 are low samples."""
    points = []
    for i, (start, end, partial) in enumerate(periods(first, last, "day")):
        if i == 3:
            b = Bucket()
        elif i >= 7:
            b = bucket(nps=(10, 9, 3), csat=(5, 4), ces=(6, 2))
        else:
            b = bucket(nps=[10] * (20 + i) + [8] * 10 + [2] * 6, csat=[5] * 8 + [2] * 4, ces=[7, 6, 5, 5, 3, 2] * 2)
        points.append({"start": start, "end": end, "partial": partial, **stats.blocks(b, **MIN_N)})
    return points


def breakdown_rows() -> list[dict]:
    """As metrics_breakdown gives them: a big row, a low-sample row, an empty one, "Not attributed"."""
    shapes = [("Checkout", bucket(nps=[10] * 30 + [3] * 10)), ("Phone support", bucket(nps=(10, 6, 9))),
              ("Kiosk", Bucket()), ("Not attributed", bucket(nps=[9] * 12 + [8] * 30))]
    return [{"key": str(i), "label": label, **stats.blocks(b, **MIN_N)} for i, (label, b) in enumerate(shapes)]


def tenure() -> list[dict]:
    """As churn_report's tenure curve: everyone churns in the end, so the last point's interval is None."""
    frame = pd.DataFrame({"active_from": pd.to_datetime(["2024-01-01"] * 4),
                          "churned_on": pd.to_datetime(["2024-02-01", "2024-03-01", "2024-06-01", "2024-09-01"])})
    return retention.tenure_curve(frame, date(2025, 1, 1))["curve"]


def rows_values(rows, metric, key):
    return [row[metric][key] for row in rows]


FIGURES = {
    "layout": lambda: {"data": [], "layout": charts.layout(x_title="Day", y_title="NPS", y_range=[-100, 100], bar_horizontal=True)},
    "band": lambda: {"data": charts.band(["a", "b", "c"], [1, None, 2], [3, None, 4]), "layout": charts.layout()},
    "series": lambda: {"data": [charts.series(["a", "b", "c"], [1, None, 3], name="S", hollow=[False, True, True],
                                              text=["n = 40", "n = 0", "n = 3"])], "layout": charts.layout()},
    "trend": lambda: charts.trend(trend_points(), "nps", name="NPS", y_title="NPS", y_range=[-100, 100]),
    "bars": lambda: charts.bars(["A", "B", "C"], [40.0, None, -5.5], low=[30.0, None, -20.0], high=[50.0, None, 9.0], n=[80, 0, 12],
                                faded=[False, True, True], name="NPS", x_title="NPS", x_range=[-100, 100]),
    "block_bars": lambda: charts.block_bars(breakdown_rows(), "nps", x_title="NPS"),
    "paired_bars": lambda: charts.paired_bars(["Ann", "Ben", "Cy"], [40.0, None, 10.0], [55.0, 20.0, None],
                                              names=("Actual NPS", "Perceived NPS"), x_title="NPS", x_range=[-100, 100]),
    "funnel": lambda: charts.funnel([("Invited", 120), ("Delivered", 110), ("Opened", 60), ("Responded", 30)]),
    "rates": lambda: charts.rates(["2025-01-01", "2025-02-01", "2025-03-01"],
                                  [("Churn", [2.5, None, 4.0], [1.0, None, 2.0], [5.0, None, 7.5]),
                                   ("Retention", [97.5, None, 96.0], [95.0, None, 92.5], [99.0, None, 98.0])]),
    "survival": lambda: charts.survival(tenure()),
    "columns": lambda: charts.columns(["Awareness", "Purchase", "Use"], [30.0, None, -10.0], name="NPS", y_title="NPS",
                                      text=["n = 40", "no answers", "n = 12"], y_range=[-100, 100]),
    "plan_progress": lambda: charts.plan_progress(trend_points(), "nps", name="NPS", baseline=(12.0, 2.5, 21.0), target=30.0,
                                                  y_title="NPS", y_range=[-100, 100]),
    "period_pair": lambda: charts.period_pair(["Sign", "Onboard"], [10.0, None], [2.0, None], [18.0, None], [25.0, 40.0],
                                              [15.0, 30.0], [35.0, 50.0], names=("Six months before", "Last six months"),
                                              x_title="NPS", x_range=[-100, 100], notes=["n = 40 → 52", "n = 0 → 33"]),
}


ESCAPING = {"figure_escaped", "plotly_text"}  # not figure builders: plotly's HTML dialect, tested at the end


def public_functions() -> set[str]:
    return {name for name, fn in inspect.getmembers(charts, inspect.isfunction)
            if not name.startswith("_") and fn.__module__ == charts.__name__ and name not in ESCAPING}


def test_every_public_function_is_covered():
    assert public_functions() == set(FIGURES), "a new chart builder needs a case in FIGURES"


@pytest.fixture(params=sorted(FIGURES))
def figure(request) -> dict:
    return FIGURES[request.param]()


# --- validity ------------------------------------------------------------------------------------

def test_plotly_accepts_the_figure(figure):
    go.Figure(figure)  # raises ValueError on any key or value plotly.js does not know


def test_figure_is_strict_json_and_round_trips(figure):
    text = json.dumps(figure, allow_nan=False)  # what json_script ships; NaN/Infinity are not JSON
    assert json.loads(text) == figure


@pytest.mark.parametrize("builder", ["trend", "bars", "block_bars", "paired_bars", "funnel", "rates", "survival", "columns"])
def test_empty_input_still_gives_a_valid_figure(builder):
    empty = {
        "trend": lambda: charts.trend([], "nps", name="NPS"), "bars": lambda: charts.bars([], [], low=[], high=[], n=[], faded=[]),
        "block_bars": lambda: charts.block_bars([], "nps"), "paired_bars": lambda: charts.paired_bars([], [], [], names=("a", "b")),
        "funnel": lambda: charts.funnel([]), "rates": lambda: charts.rates([], [("Churn", [], [], [])]),
        "survival": lambda: charts.survival([]), "columns": lambda: charts.columns([], [], name="NPS"),
    }[builder]()
    go.Figure(empty)
    json.dumps(empty, allow_nan=False)


# --- gaps ------------------------------------------------------------------------------------------

def test_trend_keeps_a_period_without_answers_as_a_gap():
    points = trend_points()
    figure = charts.trend(points, "nps", name="NPS")
    high, low, line = figure["data"]
    assert len(line["x"]) == len(points)
    assert line["x"][3] == "2025-03-04"  # the period is there…
    assert line["y"][3] is None
    assert high["y"][3] is None
    assert low["y"][3] is None  # …without a value
    assert line["connectgaps"] is False
    assert line["y"][:3] == rows_values(points, "nps", "value")[:3]
    assert [low["y"][0], high["y"][0]] == [points[0]["nps"]["ci_low"], points[0]["nps"]["ci_high"]]
    assert line["text"][3] == "n = 0"


def test_bars_keep_a_missing_value_without_an_error_bar():
    bar = charts.bars(["A", "B"], [40.0, None], low=[30.0, None], high=[52.5, None], n=[80, 0])["data"][0]
    assert bar["x"] == [40.0, None]
    assert bar["error_x"]["array"] == [12.5, None]
    assert bar["error_x"]["arrayminus"] == [10.0, None]
    assert bar["error_x"]["symmetric"] is False


def test_block_bars_use_each_rows_block():
    rows = breakdown_rows()
    bar = charts.block_bars(rows, "nps")["data"][0]
    assert bar["y"] == [f"{row['label']}<br>n = {n:,}" for row, n in zip(rows, rows_values(rows, "nps", "n"), strict=True)]
    assert bar["x"] == rows_values(rows, "nps", "value")
    assert bar["x"][2] is None
    assert "text" not in bar  # n sits under the label: on the bar the interval's whisker would cross it
    values, highs = rows_values(rows, "nps", "value"), rows_values(rows, "nps", "ci_high")
    assert bar["error_x"]["array"][0] == pytest.approx(highs[0] - values[0])
    assert bar["error_x"]["array"][2] is None


def test_block_bars_without_a_metric_read_the_row_as_the_block():
    blocks = [stats.blocks(bucket(nps=[10] * 40), **MIN_N)["nps"] | {"label": "All"}]
    assert charts.block_bars(blocks, None)["data"][0]["x"] == [100.0]


def test_rates_and_paired_bars_keep_gaps():
    figure = FIGURES["rates"]()
    lines = [t for t in figure["data"] if t.get("mode") == "lines+markers"]
    assert [line["y"][1] for line in lines] == [None, None]
    assert all(t["y"][1] is None for t in figure["data"])
    paired = FIGURES["paired_bars"]()["data"]
    assert paired[0]["x"][1] is None
    assert paired[1]["x"][2] is None  # laid on their side: values on x


def test_survival_steps_and_keeps_an_undefined_interval_as_a_gap():
    curve = tenure()
    assert curve[-1]["survival"] == 0.0
    assert curve[-1]["ci_low"] is None  # what the selector gives at S = 0
    high, low, line = charts.survival(curve)["data"]
    assert line["x"] == [p["days"] for p in curve]
    assert line["y"] == [p["survival"] for p in curve]
    assert line["line"]["shape"] == "hv"
    assert high["line"]["shape"] == low["line"]["shape"] == "hv"
    assert low["y"][-1] is None
    assert high["y"][-1] is None


def test_band_fills_between_its_edges_and_is_named_once_in_the_legend():
    high, low = charts.band([1, 2], [0, 1], [2, 3], name="95% interval")
    assert (high["y"], low["y"]) == ([2, 3], [0, 1])
    assert low["fill"] == "tonexty"
    assert "fill" not in high  # low fills up to the trace before it: high
    assert (high["showlegend"], low["showlegend"]) == (False, True)
    assert high["legendgroup"] == low["legendgroup"]
    assert high["hoverinfo"] == low["hoverinfo"] == "skip"


# --- colour and what does not depend on it --------------------------------------------------------

_HEX = re.compile(r"#[0-9a-fA-F]{6}")
_RGBA = re.compile(r"rgba\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*([\d.]+)\s*\)")


def rgb_of(color: str) -> str:
    """"#rrggbb" of a colour string (hex, or rgba: alpha dropped)."""
    if _HEX.fullmatch(color):
        return color.upper()
    match = _RGBA.fullmatch(color.replace(" ", "").replace(",", ", "))
    assert match, f"not a colour this test reads: {color!r}"
    return "#" + "".join(f"{int(c):02X}" for c in match.groups()[:3])


def colours(node, path="") -> list[tuple[str, str]]:
    """Every (path, colour) in a figure: values of keys ending in "color" (lists flattened)."""
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("color") and value is not None:
                for item in value if isinstance(value, list) else [value]:
                    out.append((f"{path}.{key}", item))
            else:
                out += colours(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            out += colours(item, f"{path}[{i}]")
    return out


def test_every_colour_is_okabe_ito_or_neutral(figure):
    for path, colour in colours(figure):
        if colour in NEUTRAL:
            continue
        assert rgb_of(colour) in {c.upper() for c in OKABE_ITO}, f"{path} = {colour}: not an Okabe–Ito colour"


def test_every_visible_mark_has_its_colour_set(figure):
    """No mark falls back to plotly's default colourway (which is not colour-blind safe): each visible
    trace names its colour, one per point when given per point."""
    for trace in figure["data"]:
        if trace.get("line", {}).get("width") == 0 and "markers" not in trace.get("mode", ""):
            assert trace.get("fill") in (None, "tonexty")
            assert trace.get("fill") is None or trace["fillcolor"]
            continue  # an invisible band edge
        color = trace.get("marker", {}).get("color")
        assert color, f"{trace.get('type')} {trace.get('name')}: no marker colour"
        if isinstance(color, list):
            points = trace.get("y") if trace.get("type") == "funnel" or trace.get("orientation") == "h" else trace.get("x")
            assert len(color) == len(points or [])


def test_funnel_of_any_length_colours_every_step():
    steps = [("Invited", 120), ("Delivered", 110), ("Opened", 60), ("Responded", 30), ("Bounced", 8), ("Skipped", 4)]
    figure = charts.funnel(steps)
    go.Figure(figure)
    marker = figure["data"][0]["marker"]["color"]
    assert len(marker) == len(steps)
    assert all(rgb_of(c) in OKABE_ITO for c in marker)


def test_low_sample_points_are_hollow_rings_in_the_series_colour():
    """plotly.js draws an "-open" symbol as a ring stroked in marker.color with no fill: the ring must
    be the line's colour (white would make it invisible), and the other points filled."""
    points = trend_points()
    line = charts.trend(points, "nps", name="NPS")["data"][-1]
    low = [p["nps"]["low_sample"] for p in points]
    assert low[7:] == [True] * 3
    assert not any(low[:3])
    symbols, color = line["marker"]["symbol"], line["marker"].get("color")
    assert [s.endswith("-open") for s in symbols] == low
    per_point = color if isinstance(color, list) else [color] * len(points)
    for i, hollow in enumerate(low):
        assert per_point[i] == line["line"]["color"], f"point {i}: ring/fill colour {per_point[i]} is not the line's"
        assert hollow == symbols[i].endswith("-open")
    assert "(low sample)" in line["text"][8]
    assert "(low sample)" not in line["text"][0]


def test_series_without_hollow_points_is_filled():
    trace = charts.series([1, 2], [3, 4], name="S", color=charts.ORANGE)
    assert "symbol" not in trace["marker"]
    assert trace["marker"]["color"] == trace["line"]["color"] == charts.ORANGE


def test_low_sample_bars_are_hatched_not_only_paler():
    rows = breakdown_rows()
    marker = charts.block_bars(rows, "nps")["data"][0]["marker"]
    low = rows_values(rows, "nps", "low_sample")
    assert low == [False, True, True, False]
    assert [shape != "" for shape in marker["pattern"]["shape"]] == low
    assert [opacity < 1 for opacity in marker["opacity"]] == low


def test_bar_labels_are_escaped_with_their_note_on_a_second_line():
    bar = charts.bars(["<b>VIP</b> & co", "Desk"], [10.0, 20.0], notes=["best · n = 40", "worst · n = 31"])["data"][0]
    assert bar["y"] == ["&lt;b&gt;VIP&lt;/b&gt; &amp; co<br>best · n = 40", "Desk<br>worst · n = 31"]
    paired = charts.paired_bars(["<i>x</i>"], [1.0], [2.0], names=("a", "b"))["data"][0]
    assert paired["y"] == ["&lt;i&gt;x&lt;/i&gt;"]


def test_low_sample_hatches_are_drawn_over_the_bar_colour():
    marker = charts.block_bars(breakdown_rows(), "nps")["data"][0]["marker"]
    assert marker["pattern"]["fillmode"] == "overlay"  # plotly's default paints the background: the bar vanished


def test_comparison_series_is_dashed_or_hatched():
    first, second = FIGURES["paired_bars"]()["data"]
    assert "pattern" not in first["marker"]
    assert second["marker"]["pattern"]["shape"]
    assert first["marker"]["color"] != second["marker"]["color"]
    lines = [t for t in FIGURES["rates"]()["data"] if t.get("mode") == "lines+markers"]
    assert [line["line"]["dash"] for line in lines] == ["solid", "dash"]


def test_interval_bands_are_labelled_in_the_legend():
    figure = charts.trend(trend_points(), "csat", name="CSAT")
    shown = [t["name"] for t in figure["data"] if t.get("showlegend")]
    assert "95% interval" in shown
    assert "CSAT" in [t["name"] for t in figure["data"]]
    rates = FIGURES["rates"]()
    assert {t["name"] for t in rates["data"] if t.get("fill")} == {"Churn: 95% interval", "Retention: 95% interval"}


def test_layout_is_the_house_style():
    out = charts.layout(height=200, y_range=[0, 100], bar_horizontal=True, barmode="group")
    assert out["height"] == 200
    assert out["yaxis"]["range"] == [0, 100]
    assert out["barmode"] == "group"
    assert out["yaxis"]["autorange"] == "reversed"  # horizontal bars: the first row on top, as in the table
    assert "title" not in out or not isinstance(out.get("title"), str)  # the page's heading names the chart
    assert out["font"]["family"] == charts.FONT
    rows = breakdown_rows()
    assert charts.block_bars(rows, "nps")["layout"]["height"] >= 36 * len(rows)  # grows with the rows


# --- plotly's HTML dialect (issue 15, F7) ---------------------------------------------------------

EVIL = '<a href="https://evil.example/5">Sign</a>'
EVIL_ESCAPED = '&lt;a href="https://evil.example/5"&gt;Sign&lt;/a&gt;'


def figure_strings(figure, key=None):
    """Every (key, string) of a figure, however deep."""
    if isinstance(figure, str):
        yield key, figure
    elif isinstance(figure, dict):
        for k, value in figure.items():
            yield from figure_strings(value, k)
    elif isinstance(figure, list | tuple):
        for value in figure:
            yield from figure_strings(value, key)


def test_it_escapes_every_text_of_a_figure_for_plotly_but_our_templates_and_labels():
    figure = {
        "data": [{"type": "bar", "x": [EVIL, "Desk"], "y": [1, 2], "name": EVIL, "legendgroup": EVIL, "text": [EVIL, "ok"],
                  "hovertext": [EVIL], "customdata": [[EVIL, 3]], "hovertemplate": "%{x}<br>%{customdata[0]}<extra></extra>",
                  "texttemplate": "%{text}<br>n", "marker": {"color": "#0072B2"}}],
        "layout": {"title": {"text": EVIL}, "xaxis": {"title": {"text": EVIL}, "ticktext": [EVIL], "tickvals": [0]},
                   "annotations": [{"text": EVIL, "x": 0, "y": 0}], "font": {"family": charts.FONT}},
    }
    escaped = charts.figure_escaped(figure)
    texts = [(key, value) for key, value in figure_strings(escaped) if "evil" in value]
    assert len(texts) == 10
    assert {value for _, value in texts} == {EVIL_ESCAPED}
    assert escaped["data"][0]["hovertemplate"] == "%{x}<br>%{customdata[0]}<extra></extra>"
    assert escaped["data"][0]["texttemplate"] == "%{text}<br>n"
    assert escaped["data"][0]["customdata"][0][1] == 3
    assert escaped["layout"]["font"]["family"] == charts.FONT  # nothing to escape: unchanged
    assert charts.figure_escaped({"y": [charts.plotly_text(EVIL, line_break_before="n = 3")]}) == {"y": [f"{EVIL_ESCAPED}<br>n = 3"]}
    go.Figure(escaped)


def test_a_chart_panel_escapes_its_figure_whichever_builder_made_it():
    from apps.reports.panels import Chart, Table

    figure = charts.columns([EVIL, "Onboard"], [1, 2], name=EVIL)
    figure["layout"]["annotations"] = [{"text": EVIL, "x": 0, "y": 1, "showarrow": False}]
    bars = charts.bars([EVIL], [3.0], n=[40])  # labels written by _axis_label: escaped once, not twice
    for built in (figure, bars):
        chart = Chart(id="c", title="t", explanation="e", figure=built, table=Table(id="t", title="t", columns=(), rows=()))
        strings = [value for _, value in figure_strings(chart.figure)]
        assert [s for s in strings if "<a" in s] == []
        assert [s for s in strings if "&amp;lt;" in s] == []
        assert any(EVIL_ESCAPED in s for s in strings)
        json.loads(json.dumps(chart.figure, allow_nan=False))
