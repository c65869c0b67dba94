"""From a number to the responses behind it (issue 19 item 1), on the CX lead overview: every tile's n, every
breakdown row and every trend period links to the responses list with that period, the page's filters and
the row's own, and the list counts exactly the number's n — with each kind of filter the page has (one
dimension: rollups; two: cells). The links are plain anchors (keyboard, no JavaScript needed)."""

from __future__ import annotations

import random
from html import unescape

import pytest

from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.builders import overview_world

pytestmark = pytest.mark.postgres

PAGE = "/t/acme/dashboards/"
RANGE = {"period": "custom", "from": "2026-03-20", "to": "2026-04-08"}
FILTER_CASES = {
    "none": lambda w: {},
    "touchpoint": lambda w: {"touchpoint": str(w.touchpoints[0].uuid)},
    "touchpoint+channel": lambda w: {"touchpoint": str(w.touchpoints[1].uuid), "channel": "email"},
    "staff+segment": lambda w: {"staff": str(w.staff[0].uuid), "segment": str(w.segments[0].uuid)},
    "survey+stage": lambda w: {"survey": str(w.versions[0].survey.uuid), "stage": str(w.stages[0].uuid)},
}


def listed(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, (url, response.content[:500])
    return response.context["page"].paginator.count


@pytest.mark.parametrize("case", FILTER_CASES)
def test_every_number_on_the_overview_opens_exactly_its_responses(world, client, case):
    w = overview_world(world.a, random.Random(7), 240, invitations=0)
    overview_world(world.b, random.Random(8), 60, invitations=0)  # another tenant's rows never counted
    client.force_login(world.carol)
    response = client.get(PAGE, {**RANGE, **FILTER_CASES[case](w)})
    assert response.status_code == 200
    page, html = response.context["page"], unescape(response.content.decode())
    for tile in page.tiles:
        assert tile.drill in html
        assert listed(client, tile.drill) == tile.n, tile.label
    links = 0
    for chart in (*page.breakdowns, *page.trends):
        table = chart.table
        if chart.has_data:  # one address per point of the clickable trace
            assert len(chart.links) == len(chart.figure["data"][chart.links_trace]["y"])
        n = table.columns.index("n")
        assert len(table.links) == len(table.rows)
        for row, link in zip(table.rows, table.links, strict=True):
            if link:
                assert f'href="{link}"' in html
                assert listed(client, link) == row[n], (chart.id, row)
                links += 1
            else:  # a value deleted since ("Removed"), or a trend period without answers
                assert row[0] == "Removed" or row[n] == 0
        if case == "none" and chart.id.startswith("by-") and chart.id != "by-channel":
            assert any(row[0] == "Not attributed" for row in table.rows), chart.id  # the world leaves some unattributed
    assert links >= (12 if case == "none" else 3)


def test_a_drill_down_link_keeps_the_metric_and_the_days(world, client):
    w = overview_world(world.a, random.Random(3), 80, invitations=0)
    client.force_login(world.carol)
    page = client.get(PAGE, RANGE).context["page"]
    nps = next(t for t in page.tiles if t.id == "nps")
    assert "answered=nps" in nps.drill
    assert "date_from=2026-03-20" in nps.drill
    assert "date_to=2026-04-08" in nps.drill
    listing = client.get(nps.drill)
    assert all(r.nps is not None for r in listing.context["page"])
    assert w.touchpoints  # the world has attribution the breakdowns link by


def test_every_stage_score_and_journey_tile_opens_exactly_its_responses(world, client):
    from tests.builders import PROFILE_B, build_journey_world
    from tests.factories import MembershipFactory, UserFactory

    build_journey_world(world.a, staff=[world.membership(world.bob, world.a)])
    build_journey_world(world.b, staff=[MembershipFactory(tenant=world.b, user=UserFactory())], profile=PROFILE_B, clients=9, seed=2)
    client.force_login(world.carol)
    response = client.get("/t/acme/dashboards/journeys/")
    assert response.status_code == 200
    page, html = response.context["page"], unescape(response.content.decode())
    links = 0
    for tile in page.tiles[:3]:
        assert tile.drill in html
        assert listed(client, tile.drill) == tile.n
    for column in page.stages:
        for score in column.scores:
            if score.n:
                assert f'href="{score.drill}"' in html
                assert listed(client, score.drill) == score.n, (column.label, score.metric)
                links += 1
            else:
                assert not score.drill
    chart = {c.id: c for c in page.charts}["stage-scores"]
    assert chart.links == chart.table.links  # a click on a stage's point opens the same responses
    assert chart.figure["data"][chart.links_trace]["mode"] == "lines+markers"  # the points, not the band
    for row, link in zip(chart.table.rows, chart.table.links, strict=True):
        if row[2]:
            assert listed(client, link) == row[2]
    assert links >= 6
    table = page.stages_table  # every stage's responses and each metric's n, from their cells
    followed = 0
    for i, row in enumerate(table.rows):
        if row[3]:
            assert listed(client, table.links[i]) == row[3], row[0]
            followed += 1
        for column, link in table.cell_links[i].items():
            assert bool(link) == bool(row[column]), (row[0], column)
            if link:
                assert listed(client, link) == row[column], (row[0], table.columns[column])
                followed += 1
    assert followed >= 8
    # volatility: the tile, each stage card's move to the next stage and each transition row open the responses
    # that end those moves (the later of a client's two consecutive scores in the journey), as many as its n
    volatility = page.tiles[3]
    assert "transition_from=any" in volatility.drill
    assert listed(client, volatility.drill) == volatility.n > 0
    moved = [column.next for column in page.stages if column.next and column.next.n]
    assert moved
    for move in moved:
        assert f'href="{move.drill}"' in html
        assert listed(client, move.drill) == move.n
    chart = {c.id: c for c in page.charts}["volatility"]
    assert chart.links == chart.table.links
    for row, link in zip(chart.table.rows, chart.table.links, strict=True):
        assert link, row
        assert listed(client, link) == row[2], row[0]
    bad = {"journey": page.journey.uuid}
    with tenant_context(world.b):
        foreign = f.StageFactory(tenant=world.b, journey=f.JourneyFactory(tenant=world.b))
    for query, words in (({"transition_from": "any"}, "need that journey"), ({**bad, "transition_from": str(foreign.uuid)}, ""),
                         ({**bad, "transition_from": "nonsense"}, "")):
        answer = client.get("/t/acme/responses/", query)
        assert answer.status_code == 400, query
        assert words in answer.content.decode()


def test_each_stages_themes_keep_the_pages_filters_and_open_exactly_their_comments(world, client):
    """A stage's themes on the journey view count the comments under the page's segment and channel (the theme cells)
    and each opens exactly those comments."""
    import io

    from django.core.management import call_command

    from apps.surveys.models import Response
    from apps.surveys.themes.services import theme_create
    from tests.builders import build_journey_world

    w = build_journey_world(world.a, staff=[world.membership(world.bob, world.a)])
    texts = ["The invoice was wrong", "Slow answer on the phone", "Invoice late and the phone rang out", "Fine"]
    with tenant_context(world.a):
        theme_create(tenant=world.a, name="Billing", keywords={"en": ["invoice"]})
        theme_create(tenant=world.a, name="Reachability", keywords={"en": ["phone"]})
        for i, pk in enumerate(Response.objects.order_by("pk").values_list("pk", flat=True)):
            Response.objects.filter(pk=pk).update(comment=texts[i % len(texts)], language="en")
    call_command("analyse_comments", tenant=[world.a.slug], stdout=io.StringIO())
    client.force_login(world.carol)
    counts = []
    for query in ({}, {"segment": str(w.segment.uuid)}, {"segment": str(w.segment.uuid), "channel": "web"}):
        page = client.get("/t/acme/dashboards/journeys/", {"period": "90d", **query})
        assert page.status_code == 200
        shown = {}
        for column in page.context["page"].stages:
            for t in column.themes:
                assert listed(client, t.drill) == t.comments, t.drill
                shown[(column.label, t.name)] = t.comments
        counts.append(shown)
    everyone, segment, segment_web = counts
    assert everyone
    assert segment
    assert all(n < everyone[key] for key, n in segment.items())  # the segment applies: half the clients
    assert not segment_web  # that segment's clients answered by e-mail only


@pytest.mark.parametrize("who,path", [("carol", "/t/acme/dashboards/perception-gap/"), ("bob", "/t/acme/dashboards/perception-gap/")])
def test_every_perception_gap_row_opens_exactly_its_pairs(world, client, who, path):
    from tests.builders import build_journey_world

    build_journey_world(world.a, staff=[world.membership(world.bob, world.a), world.membership(world.dana, world.a)])
    client.force_login(getattr(world, who))
    response = client.get(path)
    assert response.status_code == 200
    page, html = response.context["page"], unescape(response.content.decode())
    tile = page.tiles[0]
    assert "answered=perception_gap" in tile.drill
    assert tile.drill in html
    assert listed(client, tile.drill) == tile.n > 0
    links = 0
    for chart in page.charts:  # the gap rows and the perceived-vs-actual rows (the overall row first)
        for row, link in zip(chart.table.rows, chart.table.links, strict=True):
            assert link, (chart.id, row)  # every row here has pairs
            assert listed(client, link) == row[1], (chart.id, row)
            links += 1
    assert links >= 6


def test_the_staff_homes_perception_gap_opens_exactly_their_pairs(world, client):
    """The staff home's own gap: the tile's n and each touchpoint row open exactly the member's prediction pairs."""
    from tests.builders import build_journey_world

    build_journey_world(world.a, staff=[world.membership(world.bob, world.a), world.membership(world.dana, world.a)])
    client.force_login(world.bob)
    response = client.get("/t/acme/home/", {"period": "90d"})
    assert response.status_code == 200
    page = response.context["page"]
    bob = world.membership(world.bob, world.a)
    assert f"staff={bob.uuid}" in page.gap_tile.drill
    assert listed(client, page.gap_tile.drill) == page.gap_tile.n > 0
    table = page.gap_chart.table
    assert page.gap_chart.links == table.links
    for row, link in zip(table.rows, table.links, strict=True):
        assert link, row
        assert listed(client, link) == row[1], row
    assert len(table.rows) >= 2


def test_the_executive_charts_open_the_responses_behind_their_points(world, client):
    w = overview_world(world.a, random.Random(4), 160, invitations=0)
    assert w.touchpoints
    client.force_login(world.carol)
    page = client.get("/t/acme/dashboards/executive/", RANGE).context["page"]
    for tile in page.tiles[:3]:
        assert listed(client, tile.drill) == tile.n
    for chart in page.trends:
        assert chart.links == chart.table.links
        assert chart.figure["data"][chart.links_trace]["mode"] == "lines+markers"
        n = chart.table.columns.index("n")
        for row, link in zip(chart.table.rows, chart.table.links, strict=True):
            if row[n]:
                assert listed(client, link) == row[n], (chart.id, row)
    touchpoints = page.touchpoints
    assert touchpoints.links == touchpoints.table.links
    for row, link in zip(touchpoints.table.rows, touchpoints.table.links, strict=True):
        assert listed(client, link) == row[5]


def test_each_churn_period_and_the_churn_tile_open_exactly_the_clients_they_lost(world, client):
    """Churn: a period's "Lost" opens the clients list with exactly those clients (active at its start, churned in it),
    prospects and clients that became active and left within the period not counted, as the rate counts them."""
    from datetime import date


    with tenant_context(world.a):
        seg = f.SegmentFactory(tenant=world.a, name="Retail")
        make = lambda name, **kw: f.ClientFactory(tenant=world.a, name=name, segment=seg, **kw)  # noqa: E731
        make("Lost in March", active_from=date(2025, 1, 10), churned_on=date(2025, 3, 5), status="churned")
        make("Lost in April", active_from=date(2025, 1, 10), churned_on=date(2025, 4, 20), status="churned")
        make("In and out in March", active_from=date(2025, 3, 2), churned_on=date(2025, 3, 20), status="churned")
        make("Still here", active_from=date(2025, 1, 10))
        make("Prospect", active_from=date(2025, 1, 10), churned_on=date(2025, 3, 5), status="prospect")
        f.ClientFactory(tenant=world.a, name="Other segment", active_from=date(2025, 1, 10), churned_on=date(2025, 3, 9),
                        status="churned")
    client.force_login(world.carol)
    page = client.get("/t/acme/dashboards/churn/", {"from": "2025-03-01", "to": "2025-04-30", "segment": str(seg.uuid),
                                                    "interval": "month"})
    assert page.status_code == 200
    churn_chart = next(c for c in page.context["page"].charts if c.id == "churn-rate")
    table = churn_chart.table
    lost = {row[0]: row[4] for row in table.rows}
    assert sorted(lost.values()) == [1, 1]
    for row, link in zip(table.rows, table.links, strict=True):
        listed = client.get(link)
        assert listed.status_code == 200
        assert listed.context["page"].paginator.count == row[4], (row, link)
        assert "The clients lost in" in listed.content.decode()
    tile = next(t for t in page.context["page"].tiles if t.id == "churn")
    assert client.get(tile.drill).context["page"].paginator.count == tile.n == 3  # active at the start (n)
    lost_link = next(url for reading, _value, url in tile.drill_links if reading == "Lost")
    assert client.get(lost_link).context["page"].paginator.count == 2
    for bad, words in (({"churn": "lost", "period_from": "2025-03-01"}, "need its period"),
                       ({"churn": "lost", "period_from": "2025-03-01", "period_before": "2025-02-01"}, "ends before it starts"),
                       ({"churn": "at_start", "period_from": "2025-03-01", "period_before": "2025-04-01", "milestone": "3"},
                        "milestone needs its cohort"),
                       ({"period_from": "2025-03-01"}, "open them from the churn page"),
                       ({"churn": "everyone", "period_from": "2025-03-01", "period_before": "2025-04-01"}, "Select a valid choice")):
        answer = client.get("/t/acme/clients/", bad)
        assert answer.status_code == 400, bad
        assert words in answer.content.decode(), bad


def _client_links(built):
    """(address, the count it stands for) of every link of the churn page: tiles' n and readings, each table's
    row and cell links, the cohort grid's sizes and milestone n."""
    for tile in built.tiles:
        if tile.drill:
            yield tile.drill, tile.n
        for row, link in zip(tile.table.rows, tile.table.links or [""] * len(tile.table.rows), strict=True):
            if link:
                yield link, row[1]
    for table in [chart.table for chart in built.charts] + [built.cohorts_table]:
        for i, row in enumerate(table.rows):
            if i < len(table.links) and table.links[i]:
                yield table.links[i], row[4] if table.id == "churn-periods" else row[2]
            for column, link in (table.cell_links[i] if i < len(table.cell_links) else {}).items():
                if link:
                    yield link, row[column]
    for row in built.cohorts:
        if row.url:
            yield row.url, row.size
        for cell in row.cells:
            if cell.url:
                yield cell.url, int(cell.n)


def test_every_churn_count_opens_exactly_its_clients(world, client):
    """Every count on the churn page — each period's active at start, lost, new and active at end, revenue's
    clients with and without a value, each cohort's size and each milestone's n, the tenure curve's clients and
    churned and each point of its curve (at risk, churned that day), each churn-risk band — opens the clients list
    with exactly those clients (another segment's, prospects and another workspace's present and never counted)."""
    from datetime import date, timedelta

    from django.utils import timezone

    from apps.core.dates import add_months, local_today
    from apps.metrics.models import ClientHealth

    today = local_today(world.a.time_zone)
    with tenant_context(world.a):
        seg = f.SegmentFactory(tenant=world.a, name="Retail")
        other = f.SegmentFactory(tenant=world.a, name="Wholesale")
        rng = random.Random(19)
        for i in range(40):
            active = today - timedelta(days=rng.randint(20, 1100))
            churned = active + timedelta(days=rng.randint(1, 500)) if rng.random() < 0.5 else None
            churned = churned if churned is None or churned <= today else None
            made = f.ClientFactory(tenant=world.a, name=f"Client {i}", segment=seg if i % 4 else other, active_from=active,
                                   churned_on=churned, status="churned" if churned else "active",
                                   annual_value=None if i % 5 == 0 else 1000 + i)
            if i % 3 == 0:  # scored (a churned client's stale score is not counted)
                ClientHealth.objects.create(tenant=world.a, client=made, score=80 if i % 2 else 20, band="high" if i % 2 else "low",
                                            method="rules", reasons=[], features={}, computed_at=timezone.now())
        edge = date(today.year - 1, 1, 1)
        while edge < today:  # on the periods' edges: becoming active, or churning, on a quarter's first day
            f.ClientFactory(tenant=world.a, name=f"Starts {edge}", segment=seg, active_from=edge)
            f.ClientFactory(tenant=world.a, name=f"Leaves {edge}", segment=seg, active_from=edge - timedelta(days=40),
                            churned_on=edge, status="churned")
            edge = add_months(edge, 3)
        f.ClientFactory(tenant=world.a, name="Prospect", segment=seg, active_from=today - timedelta(days=300), status="prospect")
    with tenant_context(world.b):
        f.ClientFactory(tenant=world.b, name="Elsewhere", active_from=today - timedelta(days=300))
    client.force_login(world.carol)
    first = date(today.year - 1, 1, 1)
    for query in ({"segment": str(seg.uuid)}, {}):
        page = client.get("/t/acme/dashboards/churn/", {"period": "custom", "from": first.isoformat(), "to": today.isoformat(),
                                                         "interval": "quarter", **query})
        assert page.status_code == 200
        links = list(_client_links(page.context["page"]))
        assert len(links) > 30
        churn_tile = page.context["page"].tiles[0]
        assert churn_tile.n >= 5  # clients active at the start: the tile's n, not its lost
        kinds = {link.split("churn=")[1].split("&")[0] for link, _ in links if "churn=" in link}
        assert kinds == {"at_start", "lost", "new", "at_end", "cohort", "started", "churned", "tenure_at_risk", "tenure_churned"}
        assert {link.split("risk=")[1].split("&")[0] for link, _ in links if "risk=" in link} == {"scored", "high", "low"}
        for link, n in links:
            assert listed(client, link) == n, link
    html = page.content.decode()
    assert "clients behind this number" in html
    assert "counted at this milestone" in html


def test_the_executive_churn_and_risk_tiles_open_their_clients(world, client):
    """The executive summary's client churn tile (its n, its lost, new and active-at-end readings) and the churn-risk
    tile's bands open exactly their clients, as the churn page's do."""
    from datetime import date, timedelta

    from django.utils import timezone

    from apps.metrics.models import ClientHealth

    with tenant_context(world.a):
        for i in range(12):
            made = f.ClientFactory(tenant=world.a, name=f"C{i}", active_from=date(2024, 1, 1) + timedelta(days=30 * i),
                                   churned_on=date(2026, 10, 1) + timedelta(days=i) if i % 3 == 0 else None,
                                   status="churned" if i % 3 == 0 else "active")
            if i % 3:
                ClientHealth.objects.create(tenant=world.a, client=made, score=70 if i % 2 else 40, band="high" if i % 2 else "medium",
                                            method="rules", reasons=[], features={}, computed_at=timezone.now())
    client.force_login(world.carol)
    page = client.get("/t/acme/dashboards/executive/", {"period": "90d"}).context["page"]
    churn = next(t for t in page.tiles if t.id == "churn")
    assert listed(client, churn.drill) == churn.n > 0
    readings = {reading: (value, url) for reading, value, url in churn.drill_links}
    assert set(readings) >= {"Lost"}
    for value, url in readings.values():
        assert listed(client, url) == int(value), url
    gap = next(t for t in page.tiles if t.id == "perception_gap")
    assert "answered=perception_gap" in gap.drill
    assert listed(client, gap.drill) == gap.n
    risk = {reading: (value, url) for reading, value, url in page.risk.drill_links}
    assert set(risk) == {"High risk", "Medium risk", "Scored clients"}
    for value, url in risk.values():
        assert listed(client, url) == int(value), url
    html = client.get("/t/acme/dashboards/executive/", {"period": "90d"}).content.decode()
    assert "metric-tile__drills" in html


def test_every_funnel_number_opens_exactly_its_invitations(world, client):
    """The overview's funnel (each step, and a click on its bars), each survey's funnel row and counts, and the executive
    summary's response-rate tile (n = delivered, and its readings) open the invitations list with exactly the
    invitations they count — made on the period's days, of the survey and channel filtered, another workspace's never."""
    overview_world(world.a, random.Random(11), 80, invitations=60)
    overview_world(world.b, random.Random(12), 30, invitations=20)
    client.force_login(world.carol)
    page = client.get(PAGE, RANGE).context["page"]
    funnel = page.funnel.table
    followed = 0
    for row, link in zip(funnel.rows, funnel.links, strict=True):
        if link:
            assert "/surveys/invitations/" in link
            assert listed(client, link) == row[1], row[0]
            followed += 1
    assert page.funnel.links == funnel.links[:4]
    rates = page.response_rates.table
    for i, row in enumerate(rates.rows):
        if rates.links[i]:
            assert listed(client, rates.links[i]) == row[1], row[0]
            followed += 1
        for column, link in rates.cell_links[i].items():
            if link:
                assert listed(client, link) == row[column], (row[0], rates.columns[column])
                followed += 1
    assert followed >= 20
    survey = next(s for s in page.response_rates.table.links if s).split("survey=")[1].split("&")[0]
    narrowed = client.get(PAGE, {**RANGE, "survey": survey, "channel": "email"}).context["page"].funnel.table
    assert any(narrowed.links)
    for row, link in zip(narrowed.rows, narrowed.links, strict=True):
        if link:
            assert f"survey={survey}" in link
            assert "channel=email" in link
            assert listed(client, link) == row[1], row[0]
    executive = client.get("/t/acme/dashboards/executive/", RANGE).context["page"]
    rate = next(t for t in executive.tiles if t.id == "response-rate")
    assert listed(client, rate.drill) == rate.n > 0
    readings = rate.drill_links
    assert len(readings) >= 4
    for _reading, value, url in readings:
        assert listed(client, url) == int(value), url


def test_the_invitations_list_refuses_bad_filters_and_is_for_readers(world, client):
    overview_world(world.a, random.Random(13), 20, invitations=10)
    with tenant_context(world.b):
        foreign = f.SurveyFactory(tenant=world.b)
    url = "/t/acme/surveys/invitations/"
    client.force_login(world.victor)  # a viewer reads it
    assert client.get(url).status_code == 200
    for query in ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, {"date_from": "0001-01-01"}, {"date_to": "9999-12-31"},
                  {"step": "everything"}, {"survey": str(foreign.uuid)}, {"survey": "nope"}, {"date_from": "yesterday"}):
        response = client.get(url, query)
        assert response.status_code == 400, query
        assert "Some filters are not valid" in response.content.decode()
    client.force_login(world.bob)  # staff do not
    assert client.get(url).status_code == 403


def test_the_admin_dashboards_invitation_counts_open_exactly_their_invitations(world, client):
    """The admin dashboard's invitation tiles (created, invited, sent, queued, delivered, bounced, failed, opened,
    responded; bounces; failures; skipped per reason) and its skip-reason rows open exactly their invitations."""
    overview_world(world.a, random.Random(14), 40, invitations=80)
    overview_world(world.b, random.Random(15), 20, invitations=20)
    client.force_login(world.alice)
    page = client.get("/t/acme/dashboards/health/", RANGE).context["page"]
    followed = 0
    for tile in page.tiles:
        for reading, value, url in tile.drill_links:
            assert listed(client, url) == int(value.replace(",", "")), (tile.id, reading)
            followed += 1
    skip = next(c for c in page.charts if c.id == "skip-reasons")
    for row, link in zip(skip.table.rows, skip.table.links, strict=True):
        assert bool(link) == bool(row[1])
        if link:
            assert listed(client, link) == row[1], row[0]
            followed += 1
    assert followed >= 12
