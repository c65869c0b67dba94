"""The vendored plotly.js (issue 7 "Charts": plotly.js served from static/, strict CSP) is plotly's
"finance" partial bundle that scripts/vendor_static.py fetches and checks (its sha256), at the installed
wheel's plotly.js major.minor; it draws every trace type the product's charts may use
(apps.reports.plotly.DRAWABLE_TRACE_TYPES, enforced by apps.reports.panels.Chart); and its CSS is what
scripts/vendor_static.py derives from that bundle.

So upgrading plotly in requirements.txt without re-vendoring fails here (the page would otherwise draw
with a plotly.js the Python side was not built against, and the CSS that replaces plotly.js's inline
<style> could miss new rules). No network: the bundle is committed. Whether a page actually draws is
checked by the pages' browser tests.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs_version

from apps.reports.panels import Chart, Table
from apps.reports.plotly import DRAWABLE_TRACE_TYPES

ROOT = Path(__file__).resolve().parent.parent
VENDORED_JS = ROOT / "static" / "vendor" / "plotly.min.js"
VENDORED_CSS = ROOT / "static" / "vendor" / "plotly.css"
REVENDOR = "run `.venv/bin/python scripts/vendor_static.py` and commit static/vendor/"


@pytest.fixture(scope="module")
def vendor_static():
    spec = importlib.util.spec_from_file_location("vendor_static", ROOT / "scripts" / "vendor_static.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bundle() -> Path:
    assert VENDORED_JS.is_file(), f"static/vendor/plotly.min.js is missing: {REVENDOR}"
    return VENDORED_JS


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _trace_types(source: str) -> set[str]:
    return set(re.findall(r'moduleType:"trace",name:"([a-z0-9]+)"', source))


def test_vendored_plotly_js_is_the_checked_finance_bundle(vendor_static, bundle):
    assert _sha256(bundle) == vendor_static.FINANCE_SHA256, f"static/vendor/plotly.min.js was changed by hand: {REVENDOR}"
    head = bundle.read_bytes()[:200].decode("utf-8", "replace")
    assert f"plotly.js (finance - minified) v{vendor_static.FINANCE_VERSION}" in head


def test_vendored_plotly_js_is_the_wheels_major_minor(vendor_static):
    """plotly.py builds figures for its own plotly.js; the served bundle is of the same minor release."""
    wheel = get_plotlyjs_version().split(".")[:2]
    assert vendor_static.FINANCE_VERSION.split(".")[:2] == wheel, f"plotly.js {get_plotlyjs_version()} in the wheel: {REVENDOR}"
    assert _trace_types(vendor_static.plotly_bundle().read_text(encoding="utf-8")) >= DRAWABLE_TRACE_TYPES


def test_the_bundle_draws_exactly_the_trace_types_charts_may_use(bundle):
    assert _trace_types(bundle.read_text(encoding="utf-8")) == DRAWABLE_TRACE_TYPES


def test_a_chart_of_a_type_the_bundle_cannot_draw_is_refused():
    table = Table(id="t", title="T", columns=("a",), rows=())
    Chart(id="ok", title="Ok", explanation="", figure={"data": [{"type": "funnel", "x": [1]}]}, table=table)
    with pytest.raises(ValueError, match="sankey"):
        Chart(id="no", title="No", explanation="", figure={"data": [{"type": "sankey"}]}, table=table)


def test_vendored_plotly_css_is_derived_from_the_bundle(vendor_static, bundle):
    expected = vendor_static.plotly_css(bundle.read_text(encoding="utf-8"))
    assert VENDORED_CSS.is_file(), f"static/vendor/plotly.css is missing: {REVENDOR}"
    assert VENDORED_CSS.read_text(encoding="utf-8") == expected, f"static/vendor/plotly.css is stale: {REVENDOR}"


def test_plotly_css_has_the_rules_plotly_js_would_inject(vendor_static, bundle):
    """The derived stylesheet is complete enough to matter: the modebar, hover and notifier rules are
    there, and every placeholder of plotly.js's style map was replaced."""
    css = vendor_static.plotly_css(bundle.read_text(encoding="utf-8"))
    rules = [line for line in css.splitlines() if "{" in line]
    assert len(rules) >= 20
    for selector in (".js-plotly-plot .plotly .modebar", ".js-plotly-plot .plotly .user-select-none", ".plotly-notifier"):
        assert any(line.startswith(selector) for line in rules), selector
    selectors = [line.split("{", 1)[0] for line in rules]
    assert not any(re.search(r"(^|[\s,])[XY](?=[\s.,:\[]|$)", s) for s in selectors), "a placeholder X/Y was left in a selector"
    assert all(line.rstrip().endswith("}") for line in rules)


def _style_map_entries(source: str) -> int:
    """How many `key: value` pairs plotly.js's style map holds, counted independently of the generator's
    parser: the colons outside string literals between the map's braces (a quoted key may contain colons,
    `"X input:focus"`; a key the minifier left unquoted, `Y:`, may not)."""
    start = source.rfind("{", 0, source.find('"X .user-select-none"'))
    colons, i, quote = 0, start + 1, None
    while True:
        ch = source[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == ":":
            colons += 1
        elif ch == "}":
            return colons
        i += 1


def test_plotly_css_has_one_rule_per_entry_of_the_style_map(vendor_static, bundle):
    source = bundle.read_text(encoding="utf-8")
    css = vendor_static.plotly_css(source)
    assert len([line for line in css.splitlines() if "{" in line]) == _style_map_entries(source)


def test_plotly_css_refuses_a_bundle_without_its_style_map(vendor_static):
    with pytest.raises(SystemExit):
        vendor_static.plotly_css("console.log('not plotly');")


def test_dashboard_base_template_loads_the_vendored_files():
    """The page loads these two files (no CDN; plotly.js through charts.js, only when a chart is drawn) and marks
    the stylesheet so plotly.js does not inject its own."""
    base = (ROOT / "templates" / "dashboards" / "base.html").read_text(encoding="utf-8")
    assert """<script src="{% static 'js/charts.js' %}" data-plotly="{% static 'vendor/plotly.min.js' %}" defer>""" in base
    link = '<link id="plotly.js-style-global" class="no-inline-styles" rel="stylesheet" href="{% static \'vendor/plotly.css\' %}">'
    assert link in base
    assert "cdn" not in base.lower()
