"""A response's comment analysed (issue 19 item 3): language and sentiment stored on the response on commit of
its submission, and by `manage.py analyse_comments` (progress, resumable, per tenant, never across tenants);
the responses list, its export and the API filter and show them."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection  # noqa: F401 - read by the skipif condition

from apps.core.nlp import ANALYSER_VERSION
from apps.surveys.models import Response
from apps.surveys.respond.services import response_submit
from apps.surveys.responses import comments
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.builders import live_survey, responses_world
from tests.conftest import make_api_key

LIST = "/t/acme/responses/"
EXPORT = "/t/acme/responses/export/"
API = "/api/v1/t/acme/responses/"


def _row(tenant, pk) -> Response:
    with tenant_context(tenant):
        return Response.objects.get(pk=pk)


def test_a_submitted_comment_is_analysed_once_its_response_commits(world, django_capture_on_commit_callbacks):
    survey = live_survey(world.a, languages=("en", "fr"))
    with tenant_context(world.a), django_capture_on_commit_callbacks(execute=False) as queued:
        response, _ = response_submit(tenant=world.a, version=survey.current_version, channel="web", language="en",
                                      answers={"nps": 3, "reason": "Service très décevant et facture fausse."})
        assert Response.objects.get(pk=response.pk).comment_analyser == 0  # nothing before commit
    for callback in queued:
        callback()
    stored = _row(world.a, response.pk)
    assert stored.comment_language == "fr"  # the text's language, not the survey's
    assert stored.comment_sentiment < -0.3
    assert stored.comment_analyser == ANALYSER_VERSION
    with tenant_context(world.a):
        assert comments.response_comment_analyse(tenant=world.a, response_id=response.pk) is False  # already done: a no-op


def test_a_response_without_a_comment_queues_no_analysis(world, monkeypatch):
    from apps.surveys.respond import services as respond
    from apps.surveys.tasks import analyse_response_comment

    survey = live_survey(world.a)
    queued = []
    monkeypatch.setattr(respond, "enqueue_on_commit", lambda task, *args: queued.append((task, args)))
    with tenant_context(world.a):
        silent, _ = response_submit(tenant=world.a, version=survey.current_version, channel="web", language="en", answers={"nps": 9})
        spoken, _ = response_submit(tenant=world.a, version=survey.current_version, channel="web", language="en",
                                    answers={"nps": 9, "reason": "Great"})
    assert queued == [(analyse_response_comment, (world.a.pk, spoken.pk))]
    stored = _row(world.a, silent.pk)
    assert (stored.comment_language, stored.comment_sentiment, stored.comment_analyser) == ("", None, 0)


def test_a_comment_rewritten_before_the_task_runs_is_left_for_its_own_analysis(world, monkeypatch):
    survey = live_survey(world.a)
    with tenant_context(world.a):
        response = f.ResponseFactory(version=survey.current_version, nps=9, comment="Great help, thank you!", language="en")
        real_fill = comments.response_comment_fill

        def fill_then_rewrite(row):
            real_fill(row)
            Response.objects.filter(pk=row.pk).update(comment="Changed meanwhile")

        monkeypatch.setattr(comments, "response_comment_fill", fill_then_rewrite)
        assert comments.response_comment_analyse(tenant=world.a, response_id=response.pk) is False
        assert Response.objects.get(pk=response.pk).comment_analyser == 0


@pytest.fixture
def pending(world):
    """Comments stored without analysis (as before this feature, or while the broker was down): 5 in Acme, 2 in Globex."""
    a_survey, b_survey = live_survey(world.a), live_survey(world.b)
    texts = ["Très bon accompagnement, merci !", "Die Rechnung war falsch.", "Great consultant, very helpful.",
             "Heel traag en slecht bereikbaar.", "Muy amables y rápidos."]
    with tenant_context(world.a):
        a_rows = [f.ResponseFactory(version=a_survey.current_version, nps=7, comment=text, language="en") for text in texts]
        f.ResponseFactory(version=a_survey.current_version, nps=7, comment="", language="en")  # no comment: never pending
    with tenant_context(world.b):
        b_rows = [f.ResponseFactory(version=b_survey.current_version, nps=7, comment="Awful service", language="en") for _ in range(2)]
    return a_rows, b_rows


def test_the_command_analyses_one_tenants_pending_comments_with_progress(world, pending):
    a_rows, b_rows = pending
    out = io.StringIO()
    call_command("analyse_comments", tenant=[world.a.slug], stdout=out)
    text = out.getvalue()
    assert "5/5 responses" in text
    assert f"{world.a.slug}: 5 responses analysed" in text
    languages = [_row(world.a, r.pk).comment_language for r in a_rows]
    assert languages == ["fr", "de", "en", "nl", "es"]
    assert all(_row(world.a, r.pk).comment_analyser == ANALYSER_VERSION for r in a_rows)
    assert [_row(world.b, r.pk).comment_analyser for r in b_rows] == [0, 0]  # another tenant: untouched
    again = io.StringIO()
    call_command("analyse_comments", tenant=[world.a.slug], stdout=again)
    assert f"{world.a.slug}: 0 responses analysed" in again.getvalue()
    everything = io.StringIO()
    call_command("analyse_comments", tenant=[world.a.slug], everything=True, stdout=everything)
    assert f"{world.a.slug}: 5 responses analysed" in everything.getvalue()
    with pytest.raises(CommandError, match="No active tenant with slug nope"):
        call_command("analyse_comments", tenant=["nope"])


def test_the_command_resumes_where_it_stopped_and_redoes_an_older_analysers_rows(world, pending):
    a_rows, _ = pending
    calls = []

    def stop_after_first_batch(done, total):
        calls.append((done, total))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        comments.comments_analyse(world.a, batch=2, progress=stop_after_first_batch)
    assert calls == [(2, 5)]
    assert [_row(world.a, r.pk).comment_analyser for r in a_rows] == [ANALYSER_VERSION] * 2 + [0] * 3  # the first batch stays
    assert comments.comments_analyse(world.a, batch=2) == 3
    with tenant_context(world.a):
        Response.objects.filter(pk=a_rows[0].pk).update(comment_analyser=ANALYSER_VERSION - 1)  # made by an older analyser
    assert comments.comments_analyse(world.a) == 1
    assert _row(world.a, a_rows[0].pk).comment_analyser == ANALYSER_VERSION


@pytest.fixture
def ns(world):
    ns = responses_world(world)
    with tenant_context(world.a):
        add = lambda comment: f.ResponseFactory(version=ns.nps_v1, nps=4, comment=comment, language="en")  # noqa: E731
        ns.angry_fr = add("Service très décevant, facture fausse et équipe désagréable.")
        ns.happy_de = add("Der Berater war sehr freundlich und hilfreich, danke!")
        ns.plain_en = add("We had a call on Tuesday.")
    with tenant_context(world.b):
        ns.b_angry = f.ResponseFactory(version=ns.b_version, nps=1, comment="Service très décevant", language="fr")
    call_command("analyse_comments", stdout=io.StringIO())
    return ns


def _uuids(*rows) -> set[str]:
    return {str(r.uuid) for r in rows}


def test_the_list_filters_on_the_comments_sentiment_and_language(world, ns, client):
    client.force_login(world.bob)
    negative = client.get(LIST, {"sentiment": "negative"})
    assert {str(r.uuid) for r in negative.context["page"]} >= _uuids(ns.angry_fr)
    assert str(ns.happy_de.uuid) not in {str(r.uuid) for r in negative.context["page"]}
    assert str(ns.b_angry.uuid) not in negative.content.decode()
    assert {str(r.uuid) for r in client.get(LIST, {"comment_language": "de"}).context["page"]} == _uuids(ns.happy_de)
    both = client.get(LIST, {"comment_language": "fr", "sentiment": "negative"})
    assert {str(r.uuid) for r in both.context["page"]} == _uuids(ns.angry_fr)
    html = both.content.decode()
    assert "Negative" in html
    assert "Français" in html
    neutral = {str(r.uuid) for r in client.get(LIST, {"sentiment": "neutral"}).context["page"]}
    assert str(ns.plain_en.uuid) in neutral
    bad = client.get(LIST, {"sentiment": "furious", "comment_language": "xx"})
    assert bad.status_code == 400
    assert "Select a valid choice" in bad.content.decode()


def test_the_detail_page_shows_the_comments_sentiment_and_language(world, ns, client):
    client.force_login(world.bob)
    html = client.get(f"{LIST}{ns.happy_de.uuid}/").content.decode()
    assert "Positive" in html
    assert "written in Deutsch" in html


def test_the_export_and_the_api_carry_and_filter_the_analysis(world, ns, client, api_client):
    client.force_login(world.alice)
    body = b"".join(client.get(EXPORT, {"format": "csv", "sentiment": "negative", "comment_language": "fr"}).streaming_content)
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [r["response_id"] for r in rows] == [str(ns.angry_fr.uuid)]
    assert rows[0]["comment_language"] == "fr"
    assert float(rows[0]["comment_sentiment"]) < -0.3
    _, raw = make_api_key(world.a)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    answer = api_client.get(API, {"sentiment": "positive", "comment_language": "de"})
    assert answer.status_code == 200, answer.content
    [row] = answer.json()["results"]
    assert row["id"] == str(ns.happy_de.uuid)
    assert row["comment_language"] == "de"
    assert row["comment_sentiment"] > 0.3
    wrong = api_client.get(API, {"sentiment": "furious"})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "validation_error"
    assert "sentiment" in wrong.json()["error"]["fields"]


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="stemming needs Postgres text search")
def test_search_stems_a_comment_in_the_language_detected_in_it(world, client):
    """Answered in an English survey, written in French: once analysed, "augmentation" finds "augmenté" (French
    stemming; English stems the two apart)."""
    survey = live_survey(world.a)
    with tenant_context(world.a):
        row = f.ResponseFactory(version=survey.current_version, nps=3, comment="Les prix ont augmenté sans prévenir.", language="en")
    client.force_login(world.bob)
    assert str(row.uuid) not in {str(r.uuid) for r in client.get(LIST, {"q": "augmentation"}).context["page"]}  # English stems
    call_command("analyse_comments", stdout=io.StringIO())
    assert _row(world.a, row.pk).comment_language == "fr"
    page = client.get(LIST, {"q": "augmentation"})
    assert {str(r.uuid) for r in page.context["page"]} == {str(row.uuid)}
    assert "<mark>augmenté</mark>" in page.content.decode()
