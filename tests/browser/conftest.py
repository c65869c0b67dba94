"""Browser tests: pytest-playwright driving Debian's Chromium against pytest-django's live server.

No browser is ever downloaded (never `playwright install`): the wheel's driver launches
/usr/bin/chromium, headless and cut off from the network except for the live server. Every test
here uses `live_server`, which makes its database transactional, so the `world` it requests is
committed and visible to the server thread.

Screenshots go to settings.ARTIFACTS_DIR/screenshots/<name>-<width>.png (git-ignored) so that a
person can look at every page at both widths.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

CHROMIUM = os.environ.get("CXM_CHROMIUM", "/usr/bin/chromium")  # Debian's package
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # closed network: nothing phones home
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}
WIDTHS = {"desktop": DESKTOP, "mobile": MOBILE}


def reader_widths(primary: tuple[str, str], *others: tuple[str, str]) -> list:
    """`who,role,width` cases for a page several roles read: the page's main reader at both widths, each
    other role at one (the first at the phone width, where the longest navigation is likeliest to overflow;
    the next at the desktop width, alternating). Every role and every width is driven through the page;
    the 3 × 2 matrix repeated the same checks on nearly the same markup (roles differ in the navigation
    and a few links, which the server-side tests enumerate per role) at ~10 s a case."""
    cases = [(*primary, width) for width in WIDTHS]
    cases += [(*reader, "mobile" if i % 2 == 0 else "desktop") for i, reader in enumerate(others)]
    return [pytest.param(*case, id="-".join(case)) for case in cases]


WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run browser tests"
        if os.environ.get("CXM_REQUIRE_SERVICES") == "1":
            pytest.fail(f"CXM_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@dataclasses.dataclass
class PageWatch:
    """What a page did that a test may assert on: console errors, uncaught errors, requests."""

    console_errors: list[str] = dataclasses.field(default_factory=list)
    page_errors: list[str] = dataclasses.field(default_factory=list)
    requests: list[str] = dataclasses.field(default_factory=list)
    failed_responses: list[str] = dataclasses.field(default_factory=list)

    def attach(self, page):
        # CSP violations surface only as console errors ("Refused to ... because it violates ...").
        page.on("console", lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("request", lambda req: self.requests.append(req.url))
        page.on("response", lambda res: self.failed_responses.append(f"{res.status} {res.url}")
                if res.status >= 400 else None)
        return self

    def problems(self) -> list[str]:
        return ([f"console error: {t}" for t in self.console_errors]
                + [f"page error: {t}" for t in self.page_errors]
                + [f"HTTP {t}" for t in self.failed_responses])

    def foreign_requests(self, allowed_netloc: str) -> list[str]:
        return [url for url in self.requests
                if urlsplit(url).scheme not in ("data", "blob", "about") and urlsplit(url).netloc != allowed_netloc]


class Browse:
    """A signed-in (or anonymous) browser tab at one viewport, plus its watch."""

    def __init__(self, new_context, live_server):
        self._new_context = new_context
        self.live_server = live_server
        self.netloc = urlsplit(live_server.url).netloc

    def url(self, path: str) -> str:
        return self.live_server.url + path

    def open(self, viewport=DESKTOP, user=None, lazy_charts=False, **context_args):
        """`lazy_charts`: charts draw as they scroll into view, as for a person; by default every chart of the page
        draws at once (static/js/charts.js's CXM_DRAW_ALL_CHARTS), so a test may wait for them all without scrolling."""
        context = self._new_context(viewport=viewport, base_url=self.live_server.url, **context_args)
        if not lazy_charts:
            context.add_init_script("window.CXM_DRAW_ALL_CHARTS = true;")
        if user is not None:
            sign_in_by_cookie(context, self.live_server, user)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page, PageWatch().attach(page)


@pytest.fixture
def browse(new_context, live_server):
    return Browse(new_context, live_server)


def sign_in_by_cookie(context, live_server, user):
    """Skip the login form where it is not under test: a session made by Django's test client."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}])


def screenshot(page, name: str, full_page: bool = True) -> Path:
    width = page.viewport_size["width"]
    path = Path(settings.ARTIFACTS_DIR) / "screenshots" / f"{name}-{width}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    # caret="initial": by default Playwright hides the caret with a style="" it leaves on inputs, which htmx then copies
    # onto swapped-in inputs as an inline style that the strict CSP refuses (a console error after a later filter change).
    page.screenshot(path=str(path), full_page=full_page, caret="initial")
    return path


def axe_violations(page) -> list[str]:
    """WCAG 2.1 A/AA violations found by axe-core (shipped inside axe-playwright-python)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    if results.violations_count == 0:
        return []
    return [results.generate_report()]


def horizontal_overflow(page) -> int:
    """How many CSS pixels the document is wider than the viewport (0 = no sideways scroll)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def wait_for_charts(page, state: str = "all") -> None:
    """Until static/js/charts.js has drawn every chart of the page (state "none": a page without charts),
    each with its SVG. Locator assertions, not page.wait_for_function("<expression>"): once it has to
    poll, Playwright evaluates the string in the page, which the strict CSP (no 'unsafe-eval') refuses."""
    from playwright.sync_api import expect

    expect(page.locator("html")).to_have_attribute("data-charts-drawn", state, timeout=20_000)
    charts = page.locator("[data-chart]")
    expect(page.locator("[data-chart]:not([data-drawn])")).to_have_count(0)
    for i in range(charts.count()):
        expect(charts.nth(i).locator("svg.main-svg").first).to_be_attached()


def assert_page_is_clean(page, watch, name):
    """A screenshot, then: no console or network problem, no axe WCAG 2.1 AA violation, no sideways scroll on a phone."""
    screenshot(page, name)
    assert watch.problems() == [], f"{name}: console/network problems: {watch.problems()}"
    violations = axe_violations(page)
    assert not violations, f"{name}: axe WCAG 2.1 AA violations:\n" + "\n".join(violations)
    if page.viewport_size["width"] < 500:
        assert horizontal_overflow(page) <= 0, f"{name}: the body scrolls sideways at {page.viewport_size['width']}px"


def assert_charts_drawn(page, count=2):
    """Every chart on the page has drawn (static/js/charts.js marks each, then <html>). Playwright's
    locator assertions, not wait_for_function: a polled string predicate is eval'd, which the CSP refuses."""
    from playwright.sync_api import expect

    expect(page.locator("[data-chart]")).to_have_count(count)
    expect(page.locator("[data-chart]:not([data-drawn])")).to_have_count(0)
    expect(page.locator("html")).to_have_attribute("data-charts-drawn", "all" if count else "none")
    for i in range(count):
        expect(page.locator("[data-chart]").nth(i).locator("svg.main-svg").first).to_be_attached()
