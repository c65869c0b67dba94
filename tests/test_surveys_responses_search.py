"""Comment search and the new filters of the responses list (issue 19 item 2): each comment stemmed in its
language, hostile queries and comments, highlighting escaped, the export and the API honouring the same
filters, another tenant's comments never found."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection

from apps.surveys.models import Response
from apps.surveys.responses.search import clean_query, comment_search, highlighted
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Membership
from tests import factories as f
from tests.builders import responses_world
from tests.conftest import make_api_key

LIST = "/t/acme/responses/"
EXPORT = "/t/acme/responses/export/"
API = "/api/v1/t/acme/responses/"
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="stemming needs Postgres text search")


@pytest.fixture
def ns(world):
    ns = responses_world(world)
    a = world.a
    ns.segment = f.SegmentFactory(tenant=a, name="Enterprise")
    with tenant_context(a):
        Response.objects.filter(pk=ns.promoter.pk).update(journey=ns.stage.journey)  # as a submission records it
        add = lambda comment, language, **kw: f.ResponseFactory(version=ns.nps_v1, nps=4, comment=comment, language=language, **kw)  # noqa: E731
        ns.billed = add("We were billed twice for the same month.", "en", segment=ns.segment)
        ns.billing = add("Billing support was slow to answer.", "en")
        ns.factures = add("Les factures arrivent toujours en retard.", "fr")
        ns.rechnung = add("Die Rechnungen waren falsch.", "de")
        ns.html = add('<script>alert("x")</script> invoice <b>wrong</b>', "en")
        ns.long = add(("Lorem ipsum dolor sit amet. " * 360) + "The invoice finally arrived.", "en")
        ns.emoji = add("😀😀😀", "en")
    with tenant_context(world.b):
        ns.b_billing = f.ResponseFactory(version=ns.b_version, nps=2, comment="Globex billing is broken", language="en")
    return ns


def listed(response) -> set[str]:
    return {str(r.uuid) for r in response.context["page"]}


def uuids(*rows) -> set[str]:
    return {str(r.uuid) for r in rows}


@postgres_only
@pytest.mark.parametrize("query,expected", [
    ("bill", ["billed", "billing"]),  # English stems: billed, billing → bill
    ("facture", ["factures"]),  # French: factures → factur
    ("Rechnung", ["rechnung"]),  # German: Rechnungen → rechnung
    ('"billed twice"', ["billed"]),  # a phrase
    ("bill -twice", ["billing"]),  # a word left out
    ("billing or facture", ["billed", "billing", "factures"]),
    ("invoice", ["html", "long"]),
    ("the", []),  # stop words only: nothing, not everything
])
def test_it_finds_comments_by_stem_in_their_language(world, ns, client, query, expected):
    client.force_login(world.bob)
    response = client.get(LIST, {"q": query})
    assert response.status_code == 200
    assert listed(response) == uuids(*(getattr(ns, name) for name in expected))


@pytest.mark.parametrize("query", ["a & b | !c", "(((", "billing:*", "'", '"', "\\", "&|!():*<->", "x" * 500, "\x00bill\x01"])
def test_a_query_with_search_syntax_characters_is_just_text(world, ns, client, query):
    client.force_login(world.bob)
    response = client.get(LIST, {"q": query})
    assert response.status_code in (200, 400)  # 400 only for a query over the length limit, shown on the form
    if len(query) > 200:
        assert response.status_code == 400
        assert "at most 200 characters" in response.content.decode()
    else:
        assert str(ns.b_billing.uuid) not in response.content.decode()


def test_the_search_never_finds_another_tenants_comment(world, ns, client):
    client.force_login(world.bob)
    response = client.get(LIST, {"q": "billing"})
    assert str(ns.b_billing.uuid) not in listed(response)
    assert "Globex" not in response.content.decode()
    assert str(ns.billing.uuid) in listed(response)


def test_matches_are_highlighted_and_every_comment_is_escaped(world, ns, client):
    client.force_login(world.bob)
    html = client.get(LIST, {"q": "invoice"}).content.decode()
    assert "<mark>invoice</mark>" in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;b&gt;wrong&lt;/b&gt;" in html  # the comment's own markup stays text, as written
    # A 10,000-character comment is cut around its match.
    assert "…The <mark>invoice</mark> finally arrived." in html or "… The <mark>invoice</mark> finally arrived." in html \
        or "<mark>invoice</mark> finally arrived." in html


def test_highlighting_cuts_around_the_first_match_and_marks_whole_words():
    comment = "x " * 300 + "Billing <b>late</b>, billing again; rebilling no."
    out = str(highlighted(comment, {"Billing", "billing"}, width=80))
    assert out.startswith("…")
    assert out.count("<mark>") == 2  # "rebilling" is another word
    assert "&lt;b&gt;late&lt;/b&gt;" in out
    assert str(highlighted("", set())) == ""
    assert str(highlighted("<i>", set())) == "&lt;i&gt;"
    assert clean_query("  a\x00b \n c ") == "a b c"


def test_the_new_filters_segment_journey_and_staff(world, ns, client):
    client.force_login(world.bob)
    assert listed(client.get(LIST, {"segment": ns.segment.uuid})) == uuids(ns.billed)
    assert listed(client.get(LIST, {"journey": ns.stage.journey.uuid})) == uuids(ns.promoter)
    bob = world.membership(world.bob, world.a)
    assert listed(client.get(LIST, {"staff": bob.uuid})) == uuids(ns.promoter)
    with tenant_context(world.b):
        b_member = Membership.objects.first()
    for param, foreign in (("segment", f.SegmentFactory(tenant=world.b).uuid), ("journey", ns.b_stage.journey.uuid), ("staff", b_member.uuid)):
        response = client.get(LIST, {param: foreign})
        assert response.status_code == 400
        assert "Not found in this workspace" in response.content.decode()


@postgres_only
def test_the_export_and_the_api_search_the_same_way(world, ns, client, api_client):
    client.force_login(world.alice)
    body = b"".join(client.get(EXPORT, {"format": "csv", "q": "bill"}).streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {r["response_id"] for r in rows} == uuids(ns.billed, ns.billing)
    _, raw = make_api_key(world.a)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    answer = api_client.get(API, {"q": "bill", "segment": str(ns.segment.uuid)})
    assert answer.status_code == 200, answer.content
    assert [r["id"] for r in answer.json()["results"]] == [str(ns.billed.uuid)]


@postgres_only
def test_the_search_condition_is_the_comment_indexs_expression(world, ns):
    """Postgres uses an expression index only for the same expression: the one the search plans with (deparsed in
    EXPLAIN) must be the index's, word for word (the test database is too small for the planner to pick it)."""
    with tenant_context(world.a), connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_indexdef('surveys_resp_comment_fts'::regclass)")
        definition = cursor.fetchone()[0]
        sql, params = comment_search(Response.objects.all(), "billing").only("id").query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    expression = " ".join(definition.split("USING gin (", 1)[1].split())[:-1].replace("( ", "(")  # spaced as EXPLAIN prints it
    assert expression.startswith("to_tsvector(CASE COALESCE(NULLIF((comment_language)::text, ''::text), (language)::text) "
                                 "WHEN 'en'::text THEN 'english'::regconfig"), expression
    assert plan.count(f"{expression} @@ ") == 2, (expression, plan)


def test_not_attributed_lists_the_responses_without_that_attribution(world, ns, client):
    client.force_login(world.bob)
    with tenant_context(world.a):
        without_touchpoint = set(map(str, Response.objects.filter(is_bot=False, touchpoint__isnull=True).values_list("uuid", flat=True)))
        without_staff = set(map(str, Response.objects.filter(is_bot=False, staff__isnull=True).values_list("uuid", flat=True)))
    assert without_touchpoint
    assert without_staff
    response = client.get(LIST, {"touchpoint": "none"})
    assert response.status_code == 200
    assert listed(response) == without_touchpoint
    assert listed(client.get(LIST, {"staff": "none"})) == without_staff
    assert '<option value="none">Not attributed</option>' in client.get(LIST).content.decode()
    assert client.get(LIST, {"touchpoint": "nothing"}).status_code == 400


def test_the_list_keeps_one_clients_responses_and_says_so(world, ns, client):
    client.force_login(world.bob)
    page = client.get(LIST, {"client": str(ns.cedar.uuid)})
    assert listed(page) == uuids(ns.promoter)
    assert "Only the answers of <strong>Cedar Dental</strong>" in page.content.decode()
    with tenant_context(world.b):
        foreign = f.ClientFactory(tenant=world.b, name="Globex client")
    refused = client.get(LIST, {"client": str(foreign.uuid)})
    assert refused.status_code == 400
    assert "Globex client" not in refused.content.decode()


def test_the_api_takes_none_for_the_responses_without_an_attribution(world, ns, api_client):
    _, raw = make_api_key(world.a)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    with tenant_context(world.a):
        expected = {str(u) for u in Response.objects.filter(is_bot=False, staff__isnull=True).values_list("uuid", flat=True)}
        with_touchpoint = {str(u) for u in Response.objects.filter(is_bot=False, touchpoint__isnull=True).values_list("uuid", flat=True)}
    answer = api_client.get(API, {"staff": "none", "page_size": 100})
    assert answer.status_code == 200, answer.content
    assert {r["id"] for r in answer.json()["results"]} == expected
    assert str(ns.promoter.uuid) not in expected
    answer = api_client.get(API, {"touchpoint": "none", "page_size": 100})
    assert {r["id"] for r in answer.json()["results"]} == with_touchpoint
    assert api_client.get(API, {"staff": "nobody"}).status_code == 400
