"""Comment themes (issue 19 items 4 and 5): the taxonomy and its keyword rules on lemmas in five languages,
assignment on commit of a response, people's corrections winning over rules and classifier, the classifier
trained on their decisions with held-out precision and recall, the stored statistics equal to a count of the
rows, the analytics exactly as METRICS.md defines them, the API, and themes never crossing tenants."""

from __future__ import annotations

import io
import math

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import TestCase

from apps.metrics.models import COMMENT_STAT_FIELDS, CommentRollup, ThemeRollup
from apps.surveys.models import Response, ResponseTheme, Theme, ThemeClassifier
from apps.surveys.respond.services import response_submit
from apps.surveys.themes import classifier, rules
from apps.surveys.themes import services as themes
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.builders import live_survey
from tests.conftest import make_api_key

API = "/api/v1/t/acme/metrics/themes/"


def committed():
    """Run what the block queues on commit (the test's transaction never commits), as a real commit would."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def _theme(tenant, name, keywords):
    with committed(), tenant_context(tenant):
        return themes.theme_create(tenant=tenant, name=name, keywords=keywords)


def _submit(tenant, survey, nps, comment, language="en"):
    with committed(), tenant_context(tenant):
        response, _ = response_submit(tenant=tenant, version=survey.current_version, channel="web", language=language,
                                      answers={"nps": nps, "reason": comment})
    return response


def _themes_of(tenant, response) -> set[str]:
    with tenant_context(tenant):
        return set(ResponseTheme.objects.filter(response=response, present=True).values_list("theme__name", flat=True))


# --- the taxonomy ---------------------------------------------------------------------------------

def test_keywords_are_cleaned_and_bad_ones_explained(world):
    assert themes.keywords_clean({"en": [" Invoice ", "invoice", "", "call  back"], "fr": "facture, prix"}) == {
        "en": ["Invoice", "call back"], "fr": ["facture", "prix"]}
    for bad, message in (({"xx": ["a"]}, "Unknown language"), ({"en": [1]}, "must be a list"), ({"en": ["x" * 61]}, "longer than 60"),
                         (["invoice"], "per language"), ({"en": [f"w{i}" for i in range(101)]}, "At most 100")):
        with pytest.raises(ValidationError, match=message):
            themes.keywords_clean(bad)
    _theme(world.a, "Billing", {"en": ["invoice"]})
    with pytest.raises(ValidationError, match="already a theme named"):
        _theme(world.a, "  billing ", {})
    with pytest.raises(ValidationError, match="Give the theme a name"):
        _theme(world.a, "   ", {})
    _theme(world.b, "Billing", {})  # another workspace may use the name


@pytest.mark.parametrize("language,comment,keywords", [
    ("en", "They invoiced us twice", {"en": ["invoice"]}),
    ("fr", "Les factures arrivent en retard", {"fr": ["facture"]}),
    ("de", "Die Rechnungen waren falsch", {"de": ["Rechnung"]}),
    ("nl", "De facturen waren fout", {"nl": ["factuur"]}),
    ("es", "Las facturas llegaron tarde", {"es": ["factura"]}),
    ("en", "They never called back", {"en": ["call back"]}),  # a phrase, matched on lemmas
    ("fr", "Équipe très réactive", {"fr": ["equipe"]}),  # accents folded
    ("de", "Das CXPortal ist toll", {"*": ["CXPortal"]}),  # every language
])
def test_rules_match_keywords_on_lemmas_in_the_comments_language(language, comment, keywords):
    compiled = [rules.compile_theme(1, keywords)]
    assert rules.matching(rules.comment_text(comment, language), language, compiled) == {1}
    other = "fr" if language != "fr" else "en"
    assert rules.matching(rules.comment_text("Rien à voir" if other == "fr" else "Nothing here", other), other, compiled) == set()


def test_a_keyword_matches_whole_words_only():
    compiled = [rules.compile_theme(1, {"en": ["bill"]})]
    assert rules.matching(rules.comment_text("The billing portal", "en"), "en", compiled) == set()  # "billing" is not "bill"
    assert rules.matching(rules.comment_text("The bills came late", "en"), "en", compiled) == {1}


# --- assignment on commit, corrections, the statistics ----------------------------------------------

@pytest.fixture
def acme(world):
    """Acme's NPS survey and two themes; responses submitted (tasks run on commit, eagerly in tests)."""
    survey = live_survey(world.a, languages=("en", "fr"))
    billing = _theme(world.a, "Billing", {"en": ["invoice", "price"], "fr": ["facture", "prix"]})
    speed = _theme(world.a, "Responsiveness", {"en": ["slow", "quick", "call back"], "fr": ["lent", "rapide"]})
    return survey, billing, speed


def _expected(tenant) -> tuple[dict, dict]:
    """The theme statistics counted row by row from the responses (what the rollups must equal), tenant total only."""
    comment_stats, theme_stats = {}, {}
    with tenant_context(tenant):
        links = {}
        for response_id, theme_id in ResponseTheme.objects.filter(present=True).values_list("response_id", "theme_id"):
            links.setdefault(response_id, []).append(theme_id)
        for r in Response.objects.filter(is_bot=False).exclude(comment=""):
            stats = [1, int(r.nps is not None), int(r.nps is not None and r.nps >= 9), int(r.nps is not None and r.nps <= 6),
                     int(r.comment_sentiment is not None), r.comment_sentiment or 0.0, (r.comment_sentiment or 0.0) ** 2]
            for key, target in [((r.local_day,), comment_stats)] + [((t, r.local_day), theme_stats) for t in links.get(r.pk, [])]:
                target[key] = [a + b for a, b in zip(target.get(key, [0] * 7), stats, strict=True)]
    return comment_stats, theme_stats


def _stored(tenant) -> tuple[dict, dict]:
    with tenant_context(tenant):
        comments = {(row["day"],): [row[f] for f in COMMENT_STAT_FIELDS]
                    for row in CommentRollup.objects.filter(dimension="total").values("day", *COMMENT_STAT_FIELDS)}
        by_theme = {(row["theme_id"], row["day"]): [row[f] for f in COMMENT_STAT_FIELDS]
                    for row in ThemeRollup.objects.filter(dimension="total").values("theme_id", "day", *COMMENT_STAT_FIELDS)}
    return comments, by_theme


def _assert_statistics_exact(tenant):
    expected, stored = _expected(tenant), _stored(tenant)
    for want, got in zip(expected, stored, strict=True):
        assert set(want) == set(got)
        for key, values in want.items():
            assert got[key][:5] == values[:5], key
            assert math.isclose(got[key][5], values[5], abs_tol=1e-9)
            assert math.isclose(got[key][6], values[6], abs_tol=1e-9)


def test_a_new_comment_is_themed_on_commit_and_counted(world, acme):
    survey, billing, speed = acme
    slow = _submit(world.a, survey, 3, "The invoice was wrong and support was slow.")
    french = _submit(world.a, survey, 10, "Réponse rapide, merci !", language="fr")
    plain = _submit(world.a, survey, 8, "We met on Tuesday.")
    assert _themes_of(world.a, slow) == {"Billing", "Responsiveness"}
    assert _themes_of(world.a, french) == {"Responsiveness"}
    assert _themes_of(world.a, plain) == set()
    _assert_statistics_exact(world.a)
    with tenant_context(world.a):
        row = ThemeRollup.objects.get(theme_id=speed.pk, dimension="total")
    assert (row.comments, row.nps_n, row.nps_promoters, row.nps_detractors) == (2, 2, 1, 1)


def test_a_persons_correction_wins_over_the_rules_and_survives_a_reassignment(world, acme):
    survey, billing, speed = acme
    response = _submit(world.a, survey, 4, "The invoice was slow to arrive.")
    bob = world.membership(world.bob, world.a)
    with committed(), tenant_context(world.a):
        themes.response_themes_set(tenant=world.a, response=response, themes=[billing], by=bob)  # not about speed, says Bob
    assert _themes_of(world.a, response) == {"Billing"}
    themes.themes_reassign(world.a)
    assert _themes_of(world.a, response) == {"Billing"}
    with tenant_context(world.a):
        removal = ResponseTheme.objects.get(response=response, theme=speed)
    assert (removal.source, removal.present, removal.decided_by_id) == ("person", False, bob.pk)
    _assert_statistics_exact(world.a)
    with tenant_context(world.a), pytest.raises(ValidationError, match="no comment"):
        silent = f.ResponseFactory(version=survey.current_version, nps=9, comment="")
        themes.response_themes_set(tenant=world.a, response=silent, themes=[billing], by=bob)


def test_changing_a_themes_keywords_rethemes_every_comment(world, acme):
    survey, billing, speed = acme
    response = _submit(world.a, survey, 5, "Far too expensive for what we got.")
    assert _themes_of(world.a, response) == set()
    with committed(), tenant_context(world.a):
        themes.theme_update(theme=Theme.objects.get(pk=billing.pk), keywords={"en": ["invoice", "expensive"]})
    assert _themes_of(world.a, response) == {"Billing"}
    with committed(), tenant_context(world.a):
        themes.theme_update(theme=Theme.objects.get(pk=billing.pk), is_active=False)
    assert _themes_of(world.a, response) == set()
    _assert_statistics_exact(world.a)
    with tenant_context(world.a):
        themes.theme_delete(theme=Theme.objects.get(pk=speed.pk))
        assert not ThemeRollup.objects.filter(theme_id=speed.pk).exists()


def test_the_rebuild_command_themes_and_counts_everything_again(world, acme):
    survey, billing, speed = acme
    with tenant_context(world.a):
        rows = [f.ResponseFactory(version=survey.current_version, nps=n, comment=c, language="en") for n, c in
                ((2, "Slow and the invoice was wrong"), (9, "Quick answers"), (7, "Fine"))]
    assert _themes_of(world.a, rows[0]) == set()  # stored without the pipeline
    out = io.StringIO()
    call_command("analyse_comments", tenant=[world.a.slug], stdout=out)
    assert "3 comments themed and theme statistics recomputed" in out.getvalue()
    assert _themes_of(world.a, rows[0]) == {"Billing", "Responsiveness"}
    _assert_statistics_exact(world.a)


# --- the classifier ---------------------------------------------------------------------------------

POSITIVE = ["Nobody picked up the phone for days", "I waited a week for a reply", "No one got back to me",
            "It took ages to hear from anyone", "I had to phone three times", "Still waiting to hear back",
            "Weeks without news from the team", "They never phoned me back", "Hard to reach anyone at all",
            "My emails stayed unanswered for days", "Took forever to get a reply", "I kept phoning and nobody answered"]
NEGATIVE = ["The advice on the merger was excellent", "Great tax planning work", "Lovely people at the office",
            "The report layout is clear", "Parking was easy", "Good value for the audit", "The meeting room was nice",
            "Clear explanation of the new rules", "Helpful advice on payroll", "The office is close to the station",
            "Nice coffee during the meeting", "Good overview of our accounts"]


def test_the_classifier_learns_from_peoples_decisions_and_shows_its_held_out_quality(world, acme):
    survey, billing, speed = acme
    bob = world.membership(world.bob, world.a)
    with tenant_context(world.a):
        reach = themes.theme_create(tenant=world.a, name="Reachability", keywords={})  # no keywords: only the classifier can assign it
        for text in POSITIVE + NEGATIVE:
            r = f.ResponseFactory(version=survey.current_version, nps=5, comment=text, language="en", comment_language="en")
            themes.response_themes_set(tenant=world.a, response=r, themes=[reach] if text in POSITIVE else [], by=bob)
        unseen = f.ResponseFactory(version=survey.current_version, nps=3, comment="Nobody answered the phone for a week",
                                   language="en", comment_language="en")
    quality = themes.classifier_train(world.a)
    assert quality[reach.pk].active
    assert (quality[reach.pk].positives, quality[reach.pk].negatives) == (12, 12)
    assert quality[billing.pk].active is False  # no examples
    with tenant_context(world.a):
        stored = Theme.objects.get(pk=reach.pk)
        assert stored.model_active
        assert 0 <= stored.model_precision <= 1
        assert 0 <= stored.model_recall <= 1
        assert isinstance(ThemeClassifier.objects.get().weights, dict)  # plain numbers, no pickle
    assert "Reachability" in _themes_of(world.a, unseen)
    with tenant_context(world.a):
        assert ResponseTheme.objects.get(response=unseen, theme=reach).source == "model"
    _assert_statistics_exact(world.a)


def test_the_stored_model_predicts_as_scikit_learn_does():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    examples = [(classifier.terms(t, "en"), {1: t in POSITIVE}) for t in POSITIVE + NEGATIVE]
    model, quality = classifier.train(examples, [1])
    vectorizer = TfidfVectorizer(analyzer=lambda x: x, sublinear_tf=True).fit([e[0] for e in examples])
    reference = LogisticRegression(class_weight="balanced", max_iter=1000).fit(vectorizer.transform([e[0] for e in examples]),
                                                                                [int(e[1][1]) for e in examples])
    for text in ["Nobody phoned back for days", "Great advice on payroll", "the the the", "Réponse rapide"]:
        features = classifier.terms(text, "en")
        expected = bool(reference.decision_function(vectorizer.transform([features]))[0] >= 0)
        assert (1 in model.predict(features)) is expected, text
    assert quality[1].precision is not None


def test_too_few_examples_train_nothing(world, acme):
    survey, billing, speed = acme
    bob = world.membership(world.bob, world.a)
    with tenant_context(world.a):
        for text in POSITIVE[:3]:
            r = f.ResponseFactory(version=survey.current_version, nps=5, comment=text, language="en")
            themes.response_themes_set(tenant=world.a, response=r, themes=[speed], by=bob)
    quality = themes.classifier_train(world.a)
    assert quality[speed.pk].active is False
    assert quality[speed.pk].positives == 3
    with tenant_context(world.a):
        assert ThemeClassifier.objects.get().weights == {}  # trained (the corrections were seen), nothing learned


def test_training_data_and_models_never_cross_tenants(world, acme):
    survey, billing, speed = acme
    b_survey = live_survey(world.b)
    charlie = world.membership(world.charlie, world.b)
    with tenant_context(world.b):
        b_reach = themes.theme_create(tenant=world.b, name="Reachability", keywords={})
        for text in POSITIVE + NEGATIVE:
            r = f.ResponseFactory(version=b_survey.current_version, nps=5, comment=text, language="en")
            themes.response_themes_set(tenant=world.b, response=r, themes=[b_reach] if text in POSITIVE else [], by=charlie)
    themes.classifier_train(world.b)
    assert themes.classifier_train(world.a)[billing.pk].positives == 0
    with tenant_context(world.a):
        assert ThemeClassifier.objects.get().weights == {}
        assert themes.training_examples() == []
    with tenant_context(world.b):
        assert ThemeClassifier.objects.count() == 1


# --- the analytics, exactly as METRICS.md defines them ------------------------------------------------

def _nps(p, d, n):
    return 100 * (p - d) / n


def _se(p, d, n):
    return 100 * math.sqrt((p / n + d / n - (p / n - d / n) ** 2) / n)


@pytest.fixture
def scored(world, acme):
    """12 commented NPS answers in Acme: billing on 6 (4 detractors, 1 passive, 1 promoter), the rest 6 (1 detractor, 5 promoters)."""
    survey, billing, speed = acme
    for nps in (2, 3, 4, 5, 8, 10):
        _submit(world.a, survey, nps, "The invoice was wrong again.")
    for nps in (6, 9, 9, 10, 10, 10):
        _submit(world.a, survey, nps, "Lovely people, great work.")
    return survey, billing, speed


def test_the_api_gives_each_themes_figures_as_metrics_md_defines_them(world, scored, api_client):
    survey, billing, speed = scored
    _, raw = make_api_key(world.a)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = api_client.get(API).json()
    assert body["comments"]["comments"] == 12
    row = next(t for t in body["themes"] if t["name"] == "Billing")
    assert row["share"]["comments"] == 6
    assert row["share"]["value"] == 50.0
    # NPS impact: with = (1 promoter, 4 detractors of 6) → −50; without = (5, 1 of 6) → 66.7; Δ = −116.7.
    delta = _nps(1, 4, 6) - _nps(5, 1, 6)
    se = math.sqrt(_se(1, 4, 6) ** 2 + _se(5, 1, 6) ** 2)
    impact = row["nps_impact"]
    assert impact["value"] == round(delta, 1)
    assert impact["ci_low"] == round(delta - 1.96 * se, 1)
    assert impact["ci_high"] == round(delta + 1.96 * se, 1)
    assert impact["significant"] is (abs(delta / se) >= 1.96)
    assert impact["low_sample"] is True  # 6 < the workspace's NPS min_n
    # Driver: share among detractors' comments (4 of 5) − share among promoters' (1 of 6), pooled z.
    k_d, n_d, k_p, n_p = 4, 5, 1, 6
    pooled = (k_d + k_p) / (n_d + n_p)
    z = (k_d / n_d - k_p / n_p) / math.sqrt(pooled * (1 - pooled) * (1 / n_d + 1 / n_p))
    assert row["driver"]["value"] == round(100 * (k_d / n_d - k_p / n_p), 1)
    assert row["driver"]["z"] == round(z, 2)
    assert row["driver"]["significant"] is (abs(z) >= 1.96)
    assert body["drivers"][0] == str(billing.uuid)
    silent = next(t for t in body["themes"] if t["name"] == "Responsiveness")
    assert silent["share"]["comments"] == 0
    assert silent["nps_impact"]["value"] is None


def test_the_api_refuses_what_it_cannot_answer_and_never_names_another_tenants_theme(world, scored, api_client):
    survey, billing, speed = scored
    _theme(world.b, "Globex secret theme", {"en": ["globex"]})
    _, raw = make_api_key(world.a)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    touchpoint = f.TouchpointFactory(tenant=world.a)
    segment = f.SegmentFactory(tenant=world.a)
    two = api_client.get(API, {"touchpoint": str(touchpoint.uuid), "segment": str(segment.uuid)})  # any combination (the cells)
    assert two.status_code == 200
    assert two.json()["comments"]["comments"] == 0  # none of the comments has this touchpoint and segment
    other = f.SegmentFactory(tenant=world.b)
    assert api_client.get(API, {"touchpoint": str(touchpoint.uuid), "segment": str(other.uuid)}).json()["error"]["code"] == "unknown_segment"
    assert api_client.get(f"{API}breakdown/", {"by": "planet"}).json()["error"]["code"] == "unknown_dimension"
    assert api_client.get(f"{API}trend/", {"interval": "day"}).json()["error"]["code"] == "invalid_interval"
    assert api_client.get(API, {"from": "2026-13-01"}).json()["error"]["code"] == "invalid_date"
    for path in (API, f"{API}trend/", f"{API}breakdown/?by=touchpoint"):
        answer = api_client.get(path)
        assert answer.status_code == 200, path
        assert "Globex secret theme" not in answer.content.decode()


def test_the_trend_and_breakdown_add_up_to_the_report(world, scored, api_client):
    _, raw = make_api_key(world.a)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    report = api_client.get(API).json()
    trend = api_client.get(f"{API}trend/").json()
    assert sum(trend["comments"]) == report["comments"]["comments"]
    billing = next(s for s in trend["series"] if s["name"] == "Billing")
    assert sum(p["comments"] for p in billing["points"]) == 6
    by_channel = api_client.get(f"{API}breakdown/", {"by": "channel"}).json()
    assert sum(g["comments"] for g in by_channel["groups"]) == 12
    assert sum(t["share"]["comments"] for g in by_channel["groups"] for t in g["themes"] if t["name"] == "Billing") == 6


def test_the_api_reads_a_fixed_number_of_queries_whatever_the_number_of_themes(world, scored, api_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _, raw = make_api_key(world.a)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    api_client.get(API)
    with CaptureQueriesContext(connection) as few:
        api_client.get(API)
    for i in range(8):
        _theme(world.a, f"Extra {i}", {"en": [f"word{i}"]})
    with CaptureQueriesContext(connection) as many:
        assert len(api_client.get(API).json()["themes"]) == 10
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_burst_of_corrections_trains_once(world, acme):
    """Each correction queues a training 30 s later; the first to run trains on all of them, the rest stop."""
    from apps.surveys import tasks

    survey, billing, speed = acme
    bob = world.membership(world.bob, world.a)
    with tenant_context(world.a):
        rows = [f.ResponseFactory(version=survey.current_version, nps=5, comment=f"Invoice {i}", language="en") for i in range(3)]
        for r in rows:
            themes.response_themes_set(tenant=world.a, response=r, themes=[billing], by=bob)
    assert themes.classifier_outdated(world.a) is True
    assert tasks.train_theme_classifier(world.a.pk) is True
    assert themes.classifier_outdated(world.a) is False
    assert tasks.train_theme_classifier(world.a.pk) is False  # the later ones of the burst
    assert tasks.train_theme_classifier(10 ** 9) is False  # a tenant removed since
