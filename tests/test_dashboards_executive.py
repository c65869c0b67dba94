"""The executive summary and its PDF (issue 7, page 7): readers only (viewers land here); every number
equals the metrics API for the same filters; another tenant's data never appears; filters change the
numbers; bad filters answer 400; CSV per table; htmx fragment; an empty workspace's page; a fixed query
count. The PDF is a real PDF (header, pages, the tenant's name and numbers in its text) printed by
headless Chromium, and every way it can fail answers 503 with the reason — never 500 — with the browser
closed."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import random
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from apps.dashboards.pages.executive import trend_first
from apps.metrics.churn.risk import churn_risk_refresh
from apps.metrics.params import MetricFilters
from apps.metrics.rollups import rollups_rebuild
from apps.reports import pdf as pdf_module
from apps.tenancy.context import tenant_context
from tests.builders import executive_world, needs_chromium
from tests.metrics_world import add_random_responses
from tests.pdfs import pdf_pages, pdf_text, printed
from tests.shared_db import built_once, world_build

pytestmark = pytest.mark.postgres

URL = "/t/acme/dashboards/executive/"
PDF_URL = "/t/acme/dashboards/executive.pdf"
API = "/api/v1/t/acme/metrics/"


# --- a world with rollups, funnel, churn and churn risk -------------------------------------------


def page_of(client, url=URL, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content[:800]
    return response, response.context["page"], response.context["state"]


def reading(tile, name):
    return dict(tile.table.rows)[name]


def api(client, endpoint, **params):
    response = client.get(API + endpoint + "/", params)
    assert response.status_code == 200, response.content
    return response.json()


# --- roles -----------------------------------------------------------------------------------------

def test_viewers_land_on_it(world, client):
    client.force_login(world.victor)
    response = client.get("/t/acme/")
    assert response.status_code == 302
    assert response["Location"] == URL


@pytest.mark.parametrize("url", [URL, PDF_URL])
def test_staff_may_not_read_it(world, client, url):
    client.force_login(world.bob)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [URL, PDF_URL])
def test_it_404s_for_another_tenant(world, client, url):
    client.force_login(world.charlie)
    assert client.get(url).status_code == 404


# --- the numbers are the API's ----------------------------------------------------------------------

def _breakdown(*nps_values, low_sample=()):
    from apps.metrics.scores.selectors import Breakdown

    def block(value, n):
        return {"value": value, "n": n, "ci_low": value - 5, "ci_high": value + 5, "low_sample": n < 30}

    rows = [{"key": f"k{i}", "label": f"Desk {i} & <b>co</b>", "nps": block(v, 10 if i in low_sample else 40 + i),
             "csat": block(80, 40), "ces": block(5, 40)} for i, v in enumerate(nps_values)]
    rows.append({"key": None, "label": "Not attributed", "nps": block(99, 500), "csat": block(1, 9), "ces": block(1, 9)})
    return Breakdown(first=None, last=None, by="touchpoint", filters={}, rows=rows)


@pytest.mark.parametrize("values,low,best,worst", [
    ((10, 50, 30, -20, 0, 40, 20), (), [50, 40, 30], [10, 0, -20]),  # seven ranked: three best, three worst
    ((10, 50, 30), (), [50, 30], [10]),  # three: the upper half is best
    ((10, 50, 30, 70), (3,), [50, 30], [10]),  # below the minimum sample: not ranked
    ((10,), (), [10], []),
    ((10, 20), (0, 1), [], []),
])
def test_best_and_worst_touchpoints_are_ranked_among_reliable_ones(values, low, best, worst):
    from apps.dashboards.pages.executive import _touchpoint_chart

    f = MetricFilters(first=date(2026, 3, 1), last=date(2026, 3, 31))
    chart = _touchpoint_chart(_breakdown(*values, low_sample=low), min_n=30, tenant_slug="acme", f=f)
    rows = chart.table.rows
    # Each ranked touchpoint opens its NPS answers of the period.
    assert chart.table.links == tuple(f"/t/acme/responses/?date_from=2026-03-01&date_to=2026-03-31&touchpoint=k{values.index(r[2])}"
                                      "&answered=nps" for r in rows)
    assert [r[2] for r in rows if r[0] == "Best"] == best
    assert [r[2] for r in rows if r[0] == "Worst"] == worst
    assert "Not attributed" not in [r[1] for r in rows]
    if rows:
        labels = chart.figure["data"][0]["y"]
        assert all("&amp; &lt;b&gt;co&lt;/b&gt;" in label and "<b>" not in label for label in labels)  # names are text, not markup
    else:
        assert chart.empty.startswith("No touchpoint has 30 NPS answers")


# --- CSV, htmx, empty, queries ---------------------------------------------------------------------

def test_an_empty_workspace_gets_a_helpful_page(world, client):
    client.force_login(world.carl)
    response = client.get("/t/initech/dashboards/executive/")
    assert response.status_code == 200
    page, html = response.context["page"], response.content.decode()
    assert page.empty
    assert "No responses yet" in html
    assert "/t/initech/surveys/" in html
    assert all(t.value == "—" and not t.low_sample for t in page.tiles)
    assert page.risk.value == "0"
    assert "Low sample" not in html  # nothing to distrust: no value
    assert all(not c.has_data for c in page.trends)
    assert not page.touchpoints.has_data
    assert "Not scored yet" in html


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_rows(world, client, settings):
    settings.METRICS_READ_CACHE_ENTRIES = 0  # every metric read computed both times (a kept one is a version read)
    client.force_login(world.alice)
    rng = random.Random(3)
    w = executive_world(world.a, rng, responses=20, invitations=3)
    _queries(client, URL)
    few = _queries(client, URL)
    add_random_responses(w, rng, 600, start=datetime.now(UTC) - timedelta(days=20), days=19)
    with tenant_context(world.a):
        rollups_rebuild(world.a)
        churn_risk_refresh(world.a)
    many = _queries(client, URL)
    assert many == few


# --- the PDF -----------------------------------------------------------------------------------------


@needs_chromium
def test_an_empty_workspace_prints_too(world, client):
    client.force_login(world.carl)
    response = client.get("/t/initech/dashboards/executive.pdf")
    assert response.status_code == 200
    assert pdf_pages(response.content) == 1
    assert printed("No responses yet", pdf_text(response.content))


def _our_browsers() -> set[int]:
    """Chromium processes started by Playwright (their profile directory names it) from this test process: under
    xdist another worker's browser tests run Chromium at the same time; those carry that worker's name in their
    environment (PYTEST_XDIST_WORKER, inherited from the worker that launched them), ours carry ours."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    found = set()
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                running = b"playwright_chromiumdev_profile" in f.read()
            if running and worker:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    running = f"PYTEST_XDIST_WORKER={worker}".encode() in f.read().split(b"\0")
            with open(f"/proc/{pid}/stat", "rb") as f:
                running = running and f.read().split(b") ", 1)[1][:1] != b"Z"  # a zombie has exited
            if running:
                found.add(int(pid))
        except (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError):
            continue
    return found


def _gone(pids: set[int], wait: float = 5.0) -> bool:
    """The processes have exited (Chromium's helpers take a moment after the browser closes)."""
    deadline = time.monotonic() + wait
    while pids and time.monotonic() < deadline:
        time.sleep(0.1)
        pids = {pid for pid in pids if pid in _our_browsers()}
    return not pids


@override_settings(CXM_CHROMIUM="/nonexistent/chromium")
def test_without_chromium_it_answers_503_with_the_reason(world, client):
    client.force_login(world.alice)
    response = client.get(PDF_URL)
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    html = response.content.decode()
    assert "The PDF could not be made" in html
    assert "Chromium" in html
    assert "is not installed" in html
    assert 'href="/t/acme/dashboards/executive/?period=30d"' in html


@needs_chromium
def test_a_page_that_never_finishes_drawing_times_out_to_503_and_closes_the_browser(world, client, monkeypatch):
    monkeypatch.setattr(pdf_module, "DRAWN", "html[data-charts-drawn='never']")  # charts never report drawn
    client.force_login(world.alice)
    before = _our_browsers()
    with override_settings(CXM_PDF_TIMEOUT=4):
        response = client.get(PDF_URL)
    assert response.status_code == 503
    assert "took longer than 4 seconds" in response.content.decode()
    assert _gone(_our_browsers() - before)


@needs_chromium
def test_a_chromium_failure_answers_503_not_500(world, client, monkeypatch):
    from playwright.sync_api import Error as PlaywrightError

    def crash(self):
        raise PlaywrightError("Target page, context or browser has been closed")

    monkeypatch.setattr(pdf_module._PrintJob, "print", crash)
    client.force_login(world.alice)
    response = client.get(PDF_URL)
    assert response.status_code == 503
    assert "Chromium could not print the page." in response.content.decode()
    monkeypatch.setattr(pdf_module._PrintJob, "print", lambda self: 1 / 0)
    response = client.get(PDF_URL)
    assert response.status_code == 503
    assert "The PDF could not be made." in response.content.decode()


@needs_chromium
def test_it_prints_from_inside_a_running_event_loop():
    """Playwright's sync API refuses a thread with a running asyncio loop (an ASGI server's, or a test
    session's that drives a browser): the printing thread has none. Here a server-like thread runs a loop
    and calls the printer from inside it."""
    result = {}

    def asgi_like_server():
        async def handle_request():
            return pdf_module.html_to_pdf('<html data-charts-drawn="none"><body><h1>Loop 42</h1></body></html>', path="/x/",
                                          timeout=20)

        try:
            result["pdf"] = asyncio.run(handle_request())
        except Exception as exc:  # reported below, with the thread's error
            result["error"] = exc

    server = threading.Thread(target=asgi_like_server)
    server.start()
    server.join(60)
    assert "error" not in result, result.get("error")
    assert result["pdf"].startswith(b"%PDF")
    assert printed("Loop 42", pdf_text(result["pdf"]))


def test_only_static_files_are_served_to_the_printer():
    assert pdf_module.static_file("/static/js/charts.js").name == "charts.js"
    assert pdf_module.static_file("/static/vendor/plotly.min.js") is not None
    for path in ("/static/../cxm/settings/base.py", "/static/%2e%2e/manage.py", "/media/x.png", "/static/no-such.js", "/static/"):
        assert pdf_module.static_file(path) is None, path


class TestOnWorldsBuiltOnce:
    """These tests only read the two worlds: built once for the class, rolled back after it (tests/shared_db.py)."""

    @pytest.fixture(scope="class")
    @classmethod
    def built(cls, django_db_setup, django_db_blocker):
        with built_once(django_db_blocker):
            shared = world_build()
            rng = random.Random(7)
            shared.a.min_n_nps, shared.a.min_n_other = 5, 5  # small samples: every tile and ranking has values to compare
            shared.a.save()
            wa = executive_world(shared.a, rng, responses=500, invitations=60)
            wb = executive_world(shared.b, rng, responses=200, invitations=20)
            yield shared, (wa, wb)

    @pytest.fixture
    def world(self, built, db):
        return built[0]

    @pytest.fixture
    def worlds(self, built, db):
        return built[1]

    @pytest.mark.parametrize("user", ["alice", "carol", "victor"])
    def test_it_renders_for_readers(self, world, client, worlds, user):
        client.force_login(getattr(world, user))
        response, page, _ = page_of(client)
        html = response.content.decode()
        assert "Executive summary" in html
        assert "Acme Advisory" in html
        assert [t.id for t in page.tiles] == ["nps", "csat", "ces", "response-rate", "perception_gap", "churn"]
        assert len(page.trends) == 3
        assert all(c.has_data for c in page.trends)
        assert page.touchpoints.has_data
        assert 'href="/t/acme/dashboards/executive.pdf?period=30d">Download PDF' in html


    @pytest.mark.parametrize("with_segment", [False, True])
    def test_its_numbers_equal_the_metrics_api(self, world, client, worlds, with_segment):
        wa, _ = worlds
        client.force_login(world.carol)
        params = {"segment": str(wa.segments[0].uuid)} if with_segment else {}
        response, page, state = page_of(client, **params)
        html = response.content.decode()
        q = state.api_params()
        assert ("segment" in q) is with_segment
        summary = api(client, "summary", **q)
        tiles = {t.id: t for t in page.tiles}
        for metric in ("nps", "csat", "ces", "perception_gap"):
            block = summary[metric]
            assert block["n"] > 0, metric
            assert reading(tiles[metric], "Value") == block["value"]
            assert (tiles[metric].n, reading(tiles[metric], "95% CI low"), reading(tiles[metric], "95% CI high")) == \
                (block["n"], block["ci_low"], block["ci_high"])
            assert reading(tiles[metric], "Previous value") == block["previous"]["value"]
            assert f'data-tile="{metric}"' in html
            assert tiles[metric].value in html
        assert page.responses == summary["responses"]
        gap = api(client, "perception-gap", **q)["overall"]
        assert reading(tiles["perception_gap"], "Value") == gap["value"]

        funnel = api(client, "funnel", **{"from": q["from"], "to": q["to"]})["overall"]  # invitations carry no segment
        rate = tiles["response-rate"]
        assert reading(rate, "Response rate %") == funnel["response_rate"]
        assert rate.n == funnel["delivered"]
        assert (reading(rate, "Invited"), reading(rate, "Responded"), reading(rate, "Skipped")) == \
            (funnel["invited"], funnel["responded"], funnel["skipped"])
        assert ("All segments" in " ".join(rate.extra)) is with_segment

        churn = api(client, "churn", interval="month", **q)["total"]
        assert reading(tiles["churn"], "Churn rate %") == churn["churn"]["value"]
        assert tiles["churn"].n == churn["at_start"]
        assert reading(tiles["churn"], "Lost") == churn["lost"]
        assert reading(tiles["churn"], "Revenue churn %") == churn["revenue_churn"]["value"]

        risk_q = {"segment": q["segment"]} if with_segment else {}
        for band, name in (("high", "High risk"), ("medium", "Medium risk"), ("low", "Low risk")):
            assert reading(page.risk, name) == api(client, "churn-risk", band=band, **risk_q)["count"], band
        assert page.risk.value == str(reading(page.risk, "High risk"))

        trend = api(client, "trend", interval="month", **{**q, "from": trend_first(state.filters.first, state.filters.last).isoformat()})
        for chart, metric in zip(page.trends, ("nps", "csat", "ces"), strict=True):
            assert [row[1] for row in chart.table.rows] == [p[metric]["value"] for p in trend["points"]]
            assert [row[2] for row in chart.table.rows] == [p[metric]["n"] for p in trend["points"]]
        assert len(page.trends[0].table.rows) == 12

        rows = api(client, "breakdown", by="touchpoint", **q)["rows"]
        by_label = {r["label"]: r for r in rows if r["key"]}
        assert page.touchpoints.table.rows
        for _group, label, nps, low, high, n, csat, ces in page.touchpoints.table.rows:
            r = by_label[label]
            assert (nps, low, high, n, csat, ces) == (r["nps"]["value"], r["nps"]["ci_low"], r["nps"]["ci_high"], r["nps"]["n"],
                                                      r["csat"]["value"], r["ces"]["value"])
        ranked = sorted((r for r in by_label.values() if not r["nps"]["low_sample"] and r["nps"]["n"]),
                        key=lambda r: (-r["nps"]["value"], -r["nps"]["n"], r["label"]))
        shown = [row[1] for row in page.touchpoints.table.rows]
        assert shown[0] == ranked[0]["label"]
        assert shown[-1] == ranked[-1]["label"]


    def test_it_never_shows_another_tenants_data(self, world, client, worlds):
        wa, wb = worlds
        client.force_login(world.alice)
        response, page, state = page_of(client)
        html = response.content.decode()
        for touchpoint in wb.touchpoints:
            assert touchpoint.name not in html
        for row in page.touchpoints.table.rows:
            assert row[1] in {t.name for t in wa.touchpoints}
        # A's numbers are A's rows' (the API counts A only; B's rows would change n).
        assert page.tiles[0].n == api(client, "summary", **state.api_params())["nps"]["n"]


    def test_filters_change_the_numbers(self, world, client, worlds):
        wa, _ = worlds
        client.force_login(world.alice)
        _, last30, _ = page_of(client)
        _, last7, _ = page_of(client, period="7d")
        _, segment, _ = page_of(client, segment=str(wa.segments[1].uuid))
        assert last7.tiles[0].n < last30.tiles[0].n
        assert segment.tiles[0].n < last30.tiles[0].n
        assert last7.trends[0].table.rows == last30.trends[0].table.rows  # the same 12 months
        assert last7.headline != last30.headline


    @pytest.mark.parametrize("url", [URL, PDF_URL])
    def test_invalid_filters_answer_400_with_the_error(self, world, client, worlds, url):
        _, wb = worlds
        client.force_login(world.alice)
        foreign = client.get(url, {"segment": str(wb.segments[0].uuid)})
        assert foreign.status_code == 400
        assert "Select a valid choice" in foreign.content.decode()
        bad_day = client.get(url, {"period": "custom", "from": "2026-04-31", "to": "2026-05-02"})
        assert bad_day.status_code == 400
        assert "Enter a valid date" in bad_day.content.decode()
        assert bad_day["Content-Type"].startswith("text/html")


    def test_each_table_downloads_as_csv(self, world, client, worlds):
        client.force_login(world.victor)
        _, page, _ = page_of(client, period="90d")
        assert len({t.id for t in page.tables}) == len(page.tables)
        for table in page.tables:
            response = client.get(URL, {"period": "90d", "csv": table.id})
            assert response.status_code == 200
            assert response["Content-Type"].startswith("text/csv")
            rows = list(csv.reader(io.StringIO(response.content.decode())))
            assert tuple(rows[0]) == table.columns
            assert len(rows) - 1 == len(table.rows)
        nps = dict(csv.reader(io.StringIO(client.get(URL, {"period": "90d", "csv": "tile-nps"}).content.decode())))
        assert float(nps["Value"]) == reading(page.tiles[0], "Value")
        assert client.get(URL, {"csv": "nope"}).status_code == 404


    def test_htmx_gets_only_the_dashboard_fragment(self, world, client, worlds):
        client.force_login(world.alice)
        response = client.get(URL, {"period": "90d"}, HTTP_HX_REQUEST="true")
        html = response.content.decode()
        assert response.status_code == 200
        assert html.lstrip().startswith('<div id="dashboard"')
        assert "<html" not in html
        assert "executive.pdf?period=90d" in html  # the PDF link follows the filters


    @needs_chromium
    def test_the_pdf_is_the_page_printed(self, world, client, worlds):
        client.force_login(world.victor)
        _, page, state = page_of(client)
        response = client.get(PDF_URL)
        assert response.status_code == 200, response.content[:500]
        assert response["Content-Type"] == "application/pdf"
        first, last = state.filters.first, state.filters.last
        assert response["Content-Disposition"] == f'attachment; filename="acme-executive-{first}-{last}.pdf"'
        data = response.content
        assert data.startswith(b"%PDF-")
        assert data.rstrip().endswith(b"%%EOF")
        assert pdf_pages(data) == 1  # one A4 page
        assert len(data) > 20_000  # fonts and vector charts, not an empty page
        text = pdf_text(data)
        assert printed("Acme Advisory", text)
        assert printed("Executive summary", text)
        assert printed(page.headline, text)
        assert printed(state.description, text)  # "487 responses …", "Last 30 days (…)"
        for tile in page.tiles:
            assert printed(f"{tile.label}{tile.value}", text), tile.id
        assert printed(f"{page.risk.label}{page.risk.value}", text)
        assert printed(page.touchpoints.table.rows[0][1], text)  # the best touchpoint, named in the chart
        assert not printed("Download PDF", text)
        assert not printed("Apply", text)  # no controls printed


    @needs_chromium
    def test_the_pdf_follows_the_filters(self, world, client, worlds):
        wa, _ = worlds
        client.force_login(world.alice)
        segment = wa.segments[0]
        _, page, state = page_of(client, period="7d", segment=str(segment.uuid))
        response = client.get(PDF_URL, {"period": "7d", "segment": str(segment.uuid)})
        assert response.status_code == 200
        text = pdf_text(response.content)
        assert printed(f"Segment: {segment.name}", text)
        assert printed("Last 7 days", text)
        assert printed(f"{page.tiles[0].label}{page.tiles[0].value}", text)
        assert f"{state.filters.first}-{state.filters.last}.pdf" in response["Content-Disposition"]

