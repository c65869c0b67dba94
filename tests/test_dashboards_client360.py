"""The Client 360 page (issue 19 item 6): one client's scores per month, answers, interactions, cases, churn
risk, perception gap and contacts.

Numbers: each month's NPS, CSAT and CES (value, n, interval) and the client's perception gap equal what
apps.metrics.stats derives from the rows themselves (`Bucket.of_response`, METRICS.md), counted on the
tenant-local day, bot-flagged answers and other clients' answers left out; a hand-worked month checks the
rules too. Answers show their scores, comment (escaped), themes (a person's removal hidden), sentiment and
language, newest first, 25 a page, or one month's. Access: another tenant's client and a staff member's
view of a client they do not own answer 404, like a missing one; their own, and every client for readers,
200. The number of queries does not grow with the client's history. An empty client renders with an empty
state in every section; every table is a CSV. The client page links to it, for those who may open it."""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.metrics import stats
from apps.metrics.buckets import Bucket
from apps.reports.panels import number
from apps.surveys.models import ResponseTheme, Theme
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.builders import high_risk
from tests.routes import without_csrf

pytestmark = pytest.mark.postgres


def url(client_obj, tenant_slug="acme"):
    return f"/t/{tenant_slug}/clients/{client_obj.uuid}/360/"


def get(http, user, path, query=None):
    http.force_login(user)
    return http.get(path, query or {})


def at(year, month, day, hour=12, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def answer(client_obj, version, when, **values):
    values = {"nps": None, **values}
    return f.ResponseFactory(version=version, client=client_obj, submitted_at=when, **values)


def expected_blocks(tenant, rows):
    """What METRICS.md says of these rows: every block from the canonical per-response contribution."""
    bucket = Bucket.merge(Bucket.of_response(nps=r.nps, csat=r.csat, ces=r.ces, predicted=r.predicted) for r in rows)
    return stats.blocks(bucket, min_n_nps=tenant.min_n_nps, min_n_other=tenant.min_n_other)


def csv_rows(response):
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.fixture
def history(world):
    """Cedar (owned by Bob) with answers over three months of 2025 in Brussels time, one of them submitted at
    23:30 UTC on 31 October (1 November in Brussels); a bot answer and another client's answers that never count."""
    a = world.a
    bob = world.membership(world.bob, a)
    with tenant_context(a):
        version = f.SurveyVersionFactory(survey=f.SurveyFactory(tenant=a, kind="custom", name="Quarterly check-in"))
        cedar = f.ClientFactory(tenant=a, name="Cedar Dental", owner=bob)
        other = f.ClientFactory(tenant=a, name="Oak Holdings")
        rows = [
            # September: NPS 10, 9, 3 → (2 − 1) / 3 = 33.3; CSAT 5, 2 → 50 %; CES 6, 4 → mean 5.0.
            answer(cedar, version, at(2025, 9, 3), nps=10, csat=5, ces=6, predicted=9),
            answer(cedar, version, at(2025, 9, 12), nps=9, csat=2, predicted=10),
            answer(cedar, version, at(2025, 9, 20), nps=3, ces=4, predicted=8),
            # 31 October 23:30 UTC is 1 November 00:30 in Brussels: a November answer.
            answer(cedar, version, at(2025, 10, 31, 23, 30), nps=6, csat=4, predicted=6),
            answer(cedar, version, at(2025, 11, 14), nps=8, ces=7),
            answer(cedar, version, at(2025, 11, 28), csat=3, ces=5),
            # January 2026: one detractor with a prediction.
            answer(cedar, version, at(2026, 1, 9), nps=2, predicted=7),
        ]
        answer(cedar, version, at(2025, 9, 5), nps=0, csat=1, ces=1, predicted=10, is_bot=True)
        answer(other, version, at(2025, 9, 5), nps=0, csat=1, ces=1, predicted=10)
    return world, cedar, rows


# --- numbers --------------------------------------------------------------------------------------------

def test_each_months_scores_equal_the_rows(history, client):
    world, cedar, rows = history
    response = get(client, world.carol, url(cedar))
    assert response.status_code == 200
    page = response.context["page"]
    months = {"2025-09": rows[0:3], "2025-11": rows[3:6], "2026-01": rows[6:7]}
    assert [f"{row.month:%Y-%m}" for row in page.history_rows] == ["2026-01", "2025-11", "2025-09"]  # newest first
    table = {row[0]: row for row in page.history_table.rows}
    assert set(table) == set(months)
    for label, month_rows in months.items():
        expected = expected_blocks(world.a, month_rows)
        row = table[label]
        assert row[1] == len(month_rows)
        for i, metric in enumerate(("nps", "csat", "ces")):
            block = expected[metric]
            got = row[2 + 5 * i: 6 + 5 * i]
            assert tuple(got) == (block["value"], block["n"], block["ci_low"], block["ci_high"]), (label, metric)


def test_a_hand_worked_month(history, client):
    world, cedar, _rows = history
    page = get(client, world.carol, url(cedar)).context["page"]
    september = next(row for row in page.history_table.rows if row[0] == "2025-09")
    nps, csat, ces = september[2:7], september[7:12], september[12:17]
    assert nps[:2] == (33.3, 3)
    low, high = stats.nps_interval(2, 1, 3)
    assert nps[2:4] == (stats.round_half_away(min(low, 100 / 3)), stats.round_half_away(max(high, 100 / 3)))
    assert csat[:2] == (50.0, 2)
    wilson = stats.wilson(1, 2)
    assert csat[2:4] == (stats.round_half_away(100 * wilson[0]), stats.round_half_away(100 * wilson[1]))
    assert ces[:2] == (5.0, 2)
    half = stats.t_quantile(1) * math.sqrt(2) / math.sqrt(2)
    assert ces[2:4] == (stats.round_half_away(max(1.0, 5 - half)), stats.round_half_away(min(7.0, 5 + half)))


def test_the_tiles_cover_every_counted_answer(history, client):
    world, cedar, rows = history
    page = get(client, world.carol, url(cedar)).context["page"]
    expected = expected_blocks(world.a, rows)
    tiles = {tile.id: tile for tile in page.tiles}
    assert {metric: tiles[metric].n for metric in ("nps", "csat", "ces")} == {"nps": 6, "csat": 4, "ces": 4}
    assert tiles["nps"].value == number(expected["nps"]["value"], 0)  # (2 − 3) / 6 → −17
    assert tiles["nps"].low_sample  # 6 answers, below the minimum of 30: greyed, with the reason
    assert page.responses == 7


def test_the_perception_gap_equals_the_pairs(history, client):
    world, cedar, rows = history
    response = get(client, world.carol, url(cedar))
    page = response.context["page"]
    pairs = [(r.predicted, r.nps) for r in rows if r.predicted is not None and r.nps is not None]
    gaps = [p - a for p, a in pairs]
    assert len(pairs) == 5
    mean = sum(gaps) / len(gaps)  # (−1 + 1 + 5 + 0 + 5) / 5 = 2.0
    sd = math.sqrt(sum((g - mean) ** 2 for g in gaps) / (len(gaps) - 1))
    half = stats.t_quantile(len(gaps) - 1) * sd / math.sqrt(len(gaps))
    block = {row[0]: row[1] for row in page.gap_tile.table.rows}
    assert block["n"] == 5
    assert block["Value"] == 2.0
    assert (block["95% CI low"], block["95% CI high"]) == (stats.round_half_away(mean - half), stats.round_half_away(mean + half))
    expected = expected_blocks(world.a, rows)["perception_gap"]
    assert (expected["perceived_nps"], expected["actual_nps"]) == (20.0, -20.0)  # predictions 9 10 8 6 7; answers 10 9 3 6 2
    assert page.gap_tile.extra == ("Perceived NPS 20 vs actual −20",)
    assert "Staff predicted 2.0 points higher than this client answered, on average (5 pairs)." in response.content.decode()


def test_the_history_table_shows_the_numbers_and_opens_each_month(history, client):
    world, cedar, rows = history
    html = get(client, world.carol, url(cedar)).content.decode()
    table = html[html.index('id="table-history"'):html.index("</table>", html.index('id="table-history"'))]
    assert "Sep 2025" in table
    assert ">33<" in table  # NPS of September as a tile writes it: an integer
    assert 'href="?month=2025-09#answers"' in table
    assert '3<span class="visually-hidden"> answers in September 2025</span>' in table
    september = expected_blocks(world.a, rows[0:3])["nps"]
    assert f'<td class="c360-ci">{number(september["ci_low"], 0)} to {number(september["ci_high"], 0)}</td>' in table


def test_a_month_link_lists_that_months_answers(history, client):
    world, cedar, rows = history
    response = get(client, world.carol, url(cedar), {"month": "2025-11"})
    answers = response.context["page"].answers
    assert answers.total == 3
    assert [a.uuid for a in answers.rows] == [str(r.uuid) for r in sorted(rows[3:6], key=lambda r: r.submitted_at, reverse=True)]
    assert "Answers of November 2025" in response.content.decode()
    everything = get(client, world.carol, url(cedar), {"month": "not-a-month"}).context["page"].answers
    assert everything.total == 7


def test_csv_of_every_table(history, client):
    world, cedar, _rows = history
    page = get(client, world.carol, url(cedar)).context["page"]
    ids = [t.id for t in page.tables]
    assert {"score-history", "history-nps", "history-csat", "history-ces", "tile-nps", "tile-perception_gap"} <= set(ids)
    for table_id in ids:
        response = client.get(url(cedar), {"csv": table_id})
        assert response.status_code == 200, table_id
    rows = csv_rows(client.get(url(cedar), {"csv": "score-history"}))
    assert rows[0][:3] == ["Month", "Responses", "NPS"]
    assert [r[0] for r in rows[1:]] == ["2026-01", "2025-11", "2025-09"]
    assert client.get(url(cedar), {"csv": "nope"}).status_code == 404


# --- answers ----------------------------------------------------------------------------------------------

def test_an_answer_shows_its_comment_themes_sentiment_and_language(history, client):
    world, cedar, rows = history
    a = world.a
    with tenant_context(a):
        billing = Theme.objects.create(tenant=a, name="Billing")
        speed = Theme.objects.create(tenant=a, name="Response time")
        removed = Theme.objects.create(tenant=a, name="Removed by a person")
        commented = rows[6]
        commented.comment = "La facture était fausse et personne ne rappelle."
        commented.comment_language = "fr"
        commented.comment_sentiment = -0.62
        commented.save()
        for theme in (billing, speed):
            ResponseTheme.objects.create(tenant=a, response=commented, theme=theme, source="rule")
        ResponseTheme.objects.create(tenant=a, response=commented, theme=removed, source="person", present=False)
    response = get(client, world.carol, url(cedar))
    row = next(r for r in response.context["page"].answers.rows if r.uuid == str(commented.uuid))
    assert row.themes == ("Billing", "Response time")
    assert row.sentiment.label == "Negative"
    assert row.comment_language == "Français"
    assert [(b.scale, b.value, b.label) for b in row.badges] == [("NPS", 2, "Detractor")]
    html = response.content.decode()
    item = html[html.index(f'data-answer="{commented.uuid}"'):]
    item = item[:item.index("</li>\n")]
    assert "La facture était fausse" in item
    assert '<li class="tag">Billing</li>' in item
    assert "Removed by a person" not in item
    assert "Negative" in item
    assert "−0.62" in item or "-0.62" in item
    assert f"/t/acme/responses/{commented.uuid}/" in item


def test_answers_are_newest_first_25_a_page(world, client):
    a = world.a
    with tenant_context(a):
        version = f.SurveyVersionFactory(survey=f.SurveyFactory(tenant=a, kind="custom"))
        cedar = f.ClientFactory(tenant=a)
        start = timezone.now() - timedelta(days=60)
        made = [answer(cedar, version, start + timedelta(days=n), nps=n % 11) for n in range(30)]
    first = get(client, world.alice, url(cedar)).context["page"].answers
    assert [r.uuid for r in first.rows] == [str(r.uuid) for r in reversed(made)][:25]
    second = client.get(url(cedar), {"page": 2}).context["page"].answers
    assert [r.uuid for r in second.rows] == [str(r.uuid) for r in reversed(made)][25:]


def test_a_script_in_a_comment_is_shown_as_text(history, client):
    world, cedar, rows = history
    with tenant_context(world.a):
        rows[0].comment = '<script>alert("x")</script><img src=x onerror=alert(1)>'
        rows[0].save()
        Theme.objects.create(tenant=world.a, name="<b>Bold</b>")
        ResponseTheme.objects.create(tenant=world.a, response=rows[0], theme=Theme.objects.get(name="<b>Bold</b>"), source="rule")
    html = get(client, world.carol, url(cedar)).content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<b>Bold</b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;b&gt;Bold&lt;/b&gt;" in html


# --- the other sections -------------------------------------------------------------------------------------

def test_interactions_cases_risk_and_contacts(world, client):
    a = world.a
    bob, dana = world.membership(world.bob, a), world.membership(world.dana, a)
    now = timezone.now()
    with tenant_context(a):
        cedar = f.ClientFactory(tenant=a, name="Cedar Dental", owner=bob)
        anna = f.ContactFactory(client=cedar, name="Anna Opted", opted_out=True)
        f.ContactFactory(client=cedar, name="Ben Reachable")
        desk = f.TouchpointFactory(tenant=a, name="Help desk")
        f.InteractionFactory(staff=bob, client=cedar, touchpoint=desk, summary="Older call", occurred_at=now - timedelta(days=9))
        f.InteractionFactory(staff=dana, client=cedar, touchpoint=desk, contact=anna, summary="Newest call", predicted_score=8,
                             occurred_at=now - timedelta(days=1))
        closed = f.CaseFactory(tenant=a, client=cedar, title="Closed case", assignee=bob, status="wont_fix", due_at=now - timedelta(days=20))
        overdue = f.CaseFactory(tenant=a, client=cedar, title="Overdue case", assignee=bob, due_at=now - timedelta(hours=3))
        later = f.CaseFactory(tenant=a, client=cedar, title="Later case", assignee=bob, due_at=now + timedelta(days=2))
        danas = f.CaseFactory(tenant=a, client=cedar, title="Dana's case", assignee=dana, due_at=now + timedelta(days=3))
        f.CaseFactory(tenant=a, title="Another client's case", assignee=bob)
    high_risk(cedar, score=72, text="Detractor at the last answer")

    lead = get(client, world.carol, url(cedar))
    page = lead.context["page"]
    assert [i.summary for i in page.interactions] == ["Newest call", "Older call"]
    assert [c.title for c in page.cases] == [overdue.title, later.title, danas.title, closed.title]  # open first, overdue first
    assert (page.risk.score, page.risk.band, page.risk.reasons) == (72, "high", ("Detractor at the last answer",))
    assert [(c.name, c.opted_out) for c in page.contacts] == [("Anna Opted", True), ("Ben Reachable", False)]
    html = lead.content.decode()
    assert f"/t/acme/cases/{overdue.uuid}/" in html
    assert "Overdue</strong>" in html
    assert "High risk" in html
    assert 'data-opt-out="yes"' in html
    assert "Opted out" in html

    # Bob owns Cedar: he reads its 360, with the cases he may see (not Dana's).
    mine = get(client, world.bob, url(cedar)).context["page"]
    assert [c.title for c in mine.cases] == [overdue.title, later.title, closed.title]
    assert not mine.cases_all_visible


# --- access -------------------------------------------------------------------------------------------------

def test_another_tenants_client_answers_404(world, client):
    with tenant_context(world.b):
        foreign = f.ClientFactory(tenant=world.b, name="Globex client")
    assert get(client, world.alice, url(foreign)).status_code == 404
    # Dana is an admin of Globex: there it opens.
    assert get(client, world.dana, url(foreign, "globex")).status_code == 200


def test_staff_open_only_the_clients_they_own(world, client):
    a = world.a
    bob, dana = world.membership(world.bob, a), world.membership(world.dana, a)
    with tenant_context(a):
        bobs = f.ClientFactory(tenant=a, name="Bob's client", owner=bob)
        danas = f.ClientFactory(tenant=a, name="Dana's client", owner=dana)
        nobodys = f.ClientFactory(tenant=a, name="Nobody's client")
    assert get(client, world.bob, url(bobs)).status_code == 200
    missing = get(client, world.bob, url(danas).replace(str(danas.uuid), "00000000-0000-4000-8000-000000000000"))
    assert missing.status_code == 404
    for other in (danas, nobodys):
        response = get(client, world.bob, url(other))
        assert response.status_code == 404
        assert without_csrf(response.content) == without_csrf(missing.content)  # not told apart from a missing client
        assert other.name not in response.content.decode()
    assert get(client, world.bob, url(danas), {"csv": "score-history"}).status_code == 404


@pytest.mark.parametrize("who", ["alice", "carol", "victor"])
def test_readers_open_every_client(world, client, who):
    a = world.a
    with tenant_context(a):
        danas = f.ClientFactory(tenant=a, name="Dana's client", owner=world.membership(world.dana, a))
    assert get(client, getattr(world, who), url(danas)).status_code == 200


def test_signed_out_visitors_are_sent_to_sign_in(world, client):
    with tenant_context(world.a):
        cedar = f.ClientFactory(tenant=world.a)
    response = client.get(url(cedar))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_client_page_links_to_the_360_for_who_may_open_it(world, client):
    a = world.a
    bob = world.membership(world.bob, a)
    with tenant_context(a):
        bobs = f.ClientFactory(tenant=a, owner=bob)
        others = f.ClientFactory(tenant=a)
    link = 'href="{}"'
    for user, target, shown in ((world.carol, others, True), (world.victor, others, True), (world.bob, bobs, True),
                                (world.bob, others, False)):
        html = get(client, user, f"/t/acme/clients/{target.uuid}/").content.decode()
        assert (link.format(url(target)) in html) is shown, (user.email, target.name)


# --- empty, queries -------------------------------------------------------------------------------------------

def test_a_client_without_history_renders_an_empty_state_everywhere(world, client):
    with tenant_context(world.a):
        quiet = f.ClientFactory(tenant=world.a, name="Quiet Client", owner=world.membership(world.bob, world.a))
    response = get(client, world.bob, url(quiet))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("No answers yet: this client's NPS", "No answers from this client yet", "No pairs yet",
                 "No interactions logged with this client yet", "No case of yours", "No contacts yet", "Not scored yet"):
        assert text in html, text
    page = response.context["page"]
    assert [tile.value for tile in page.tiles] == ["—", "—", "—"]
    assert not any(tile.low_sample for tile in page.tiles)
    assert "data-chart=" not in html
    assert "data-tile=" not in html
    assert re.search(r"<h1>\s*Quiet Client\s*</h1>", html)


def _queries(http, user, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = http.get(path)
    assert response.status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_history(world, client):
    a = world.a
    bob = world.membership(world.bob, a)
    with tenant_context(a):
        version = f.SurveyVersionFactory(survey=f.SurveyFactory(tenant=a, kind="custom"))
        theme = Theme.objects.create(tenant=a, name="Billing")
        clients = []
        for size in (2, 20):
            c = f.ClientFactory(tenant=a, owner=bob)
            contacts = [f.ContactFactory(client=c) for _ in range(max(1, size // 4))]
            touchpoint = f.TouchpointFactory(tenant=a)
            for n in range(size):
                r = answer(c, version, timezone.now() - timedelta(days=17 * n), nps=n % 11, csat=1 + n % 5, ces=1 + n % 7,
                           predicted=(n + 3) % 11, comment=f"Comment {n}", contact=contacts[n % len(contacts)], touchpoint=touchpoint)
                ResponseTheme.objects.create(tenant=a, response=r, theme=theme, source="rule")
                f.InteractionFactory(staff=bob, client=c, touchpoint=touchpoint, contact=contacts[0])
                f.CaseFactory(tenant=a, client=c, assignee=bob)
            clients.append(c)
        high_risk(clients[1])
    client.force_login(world.bob)
    client.get(url(clients[0]))  # the first request of a session also saves the session: not the page's cost
    small, large = (_queries(client, world.bob, url(c)) for c in clients)
    assert large == small
    assert large <= 20


def test_each_months_n_per_metric_opens_exactly_those_answers(history, client):
    """A month's NPS, CSAT and CES n (table cell, chart point and its table row) open that month's answers to that
    metric: as many as the n."""
    from urllib.parse import parse_qs, urlsplit

    world, cedar, _rows = history
    page = get(client, world.carol, url(cedar)).context["page"]
    followed = 0
    links = [(link, n) for row in page.history_rows for _value, n, _spread, _low, link in row.cells if link]
    links += [(link, r[2]) for chart in page.history_charts for r, link in zip(chart.table.rows, chart.table.links, strict=True)]
    for link, n in links:
        query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
        assert query["answered"] in ("nps", "csat", "ces")
        answers = get(client, world.carol, url(cedar), query).context["page"].answers
        assert answers.total == int(n), link
        followed += 1
    assert followed >= 6
    assert any(int(n) != row.responses for row in page.history_rows for _v, n, _s, _l, _link in row.cells)  # the filter matters
