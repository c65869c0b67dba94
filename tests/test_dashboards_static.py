"""The vendored plotly.js (issue 7 "Charts": plotly.js served from static/, strict CSP) is the installed
wheel's bundle, byte for byte, and its CSS is what scripts/vendor_static.py derives from that bundle.

So upgrading plotly in requirements.txt without running `.venv/bin/python scripts/vendor_static.py`
fails here (the page would otherwise draw with a plotly.js the Python side was not built against, and
the CSS that replaces plotly.js's inline <style> could miss new rules). No network: the wheel is on disk.
Whether a page actually draws is checked by the pages' browser tests.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from pathlib import Path

import plotly
import pytest
from plotly.offline import get_plotlyjs_version

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
def bundle(vendor_static) -> Path:
    path = vendor_static.plotly_bundle()
    assert path.is_file(), f"the installed plotly wheel ships no bundle at {path}"
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_bundle_is_the_installed_wheels(bundle):
    assert bundle.parent.parent == Path(plotly.__file__).parent  # the wheel this interpreter imports, not a copy elsewhere


def test_vendored_plotly_js_is_byte_identical_to_the_wheels_bundle(bundle):
    assert VENDORED_JS.is_file(), f"static/vendor/plotly.min.js is missing: {REVENDOR}"
    differs = f"static/vendor/plotly.min.js differs from plotly {plotly.__version__}'s bundle: {REVENDOR}"
    assert VENDORED_JS.stat().st_size == bundle.stat().st_size, differs
    assert _sha256(VENDORED_JS) == _sha256(bundle), differs


def test_vendored_plotly_js_version_is_the_one_the_wheel_expects():
    head = VENDORED_JS.read_bytes()[:200].decode("utf-8", "replace")
    match = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", head)
    assert match, "the vendored bundle has no version banner"
    assert match.group(1) == get_plotlyjs_version()


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
    """The page loads these two files (no CDN) and marks the stylesheet so plotly.js does not inject its own."""
    base = (ROOT / "templates" / "dashboards" / "base.html").read_text(encoding="utf-8")
    assert "{% static 'vendor/plotly.min.js' %}" in base
    link = '<link id="plotly.js-style-global" class="no-inline-styles" rel="stylesheet" href="{% static \'vendor/plotly.css\' %}">'
    assert link in base
    assert "cdn" not in base.lower()
