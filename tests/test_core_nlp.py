"""Offline language and sentiment of a comment (issue 19 item 3): each of the five languages detected and
scored in its own language, with negation, intensifiers, contrast and emoji; hostile text (empty, emoji only,
HTML, 10,000+ characters, mixed languages) gives a clear answer; no lexicon or model touches the network."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from apps.core import nlp
from apps.core.nlp import analyse_text, language, lexicons, sentiment, sentiment_band

SENTENCES = {
    "en": ("The consultant was friendly and very helpful.", "The invoice was wrong and support was slow and rude."),
    "fr": ("Le consultant était très aimable et efficace, merci !", "Service décevant, facture fausse et équipe désagréable."),
    "de": ("Der Berater war sehr freundlich und hilfreich, danke!", "Schlechter Service, die Rechnung war falsch und die Antwort langsam."),
    "nl": ("De adviseur was heel vriendelijk en behulpzaam, bedankt!", "Slechte service, de factuur was fout en het antwoord traag."),
    "es": ("El consultor fue muy amable y útil, ¡excelente servicio!", "Un servicio horrible, la factura estaba mal y la respuesta lenta."),
}


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_each_language_is_detected_and_scored_in_that_language(lang):
    positive, negative = SENTENCES[lang]
    fallback = "en" if lang != "en" else "fr"  # the text, not the survey's language, decides
    good, bad = analyse_text(positive, fallback_language=fallback), analyse_text(negative, fallback_language=fallback)
    assert good.language == lang
    assert bad.language == lang
    assert good.sentiment >= 0.3, good
    assert bad.sentiment <= -0.3, bad
    assert sentiment_band(good.sentiment) == "positive"
    assert sentiment_band(bad.sentiment) == "negative"


@pytest.mark.parametrize("lang,plain,negated", [
    ("fr", "C'est bon.", "Ce n'est pas bon."),
    ("de", "Das war gut.", "Das war nicht gut."),
    ("nl", "Het was goed.", "Het was niet goed."),
    ("es", "Es bueno.", "No es bueno."),
    ("en", "It was good.", "It was not good."),
])
def test_a_negation_turns_the_sentiment(lang, plain, negated):
    assert sentiment.sentiment(plain, lang) > 0.05
    assert sentiment.sentiment(negated, lang) < -0.05


@pytest.mark.parametrize("lang,plain,stronger", [
    ("fr", "équipe aimable", "équipe très aimable"),
    ("de", "Team freundlich", "Team sehr freundlich"),
    ("nl", "team vriendelijk", "team zeer vriendelijk"),
    ("es", "equipo amable", "equipo muy amable"),
])
def test_an_intensifier_and_exclamation_marks_push_further_from_zero(lang, plain, stronger):
    base = sentiment.sentiment(plain, lang)
    assert base > 0
    assert sentiment.sentiment(stronger, lang) > base
    assert sentiment.sentiment(plain + " !!!", lang) > base


def test_after_a_contrast_the_second_clause_weighs_more():
    # "Friendly team but wrong invoice": the complaint after "mais"/"aber" decides, as VADER's "but" rule.
    assert sentiment.sentiment("Équipe aimable mais facture fausse et décevante", "fr") < 0
    assert sentiment.sentiment("Facture fausse mais équipe très aimable et efficace", "fr") > 0
    assert sentiment.sentiment("Das Team war freundlich, aber die Rechnung war schlecht und falsch", "de") < 0


def test_lemmas_find_inflected_forms_and_phrases_match_first():
    assert "amable" in lexicons.lexicon("es")
    assert sentiment.sentiment("amables", "es") > 0  # plural → lemma "amable"
    assert "no me gustó" in lexicons.lexicon("es")  # a phrase of the Spanish list, matched whole
    assert sentiment.sentiment("No me gustó", "es") < 0


def test_short_or_ambiguous_text_takes_the_surveys_language():
    assert language.detect_language("ok", fallback="nl") == "nl"
    assert language.detect_language("Super", fallback="de") == "de"  # 0.33 French: too unsure
    assert language.detect_language("10/10 👍", fallback="es") == "es"
    assert language.detect_language("Goed geholpen, dank je wel", fallback="en") == "nl"


@pytest.mark.parametrize("text,band", [("👍👍", "positive"), ("❤️", "positive"), ("😡😡😡 !!!", "negative"), ("10/10", "neutral"),
                                       ("?!", "neutral")])
def test_emoji_only_comments_are_scored_by_their_emoji_in_any_language(text, band):
    for fallback in ("en", "fr", "de", "nl", "es"):
        analysis = analyse_text(text, fallback_language=fallback)
        assert analysis.language == fallback
        assert sentiment_band(analysis.sentiment) == band, (text, fallback, analysis)


def test_hostile_text_gets_a_clear_answer():
    assert analyse_text("") is None
    assert analyse_text(" \n\t ") is None  # not a comment (METRICS.md)
    assert analyse_text(None) is None
    script = analyse_text('<script>alert("x")</script> <b>great</b> help', fallback_language="en")
    assert script.language == "en"
    assert script.sentiment > 0
    long = "Le service était horrible et très lent. " * 500  # 20,500 characters: analysed on its first 10,000
    result = analyse_text(long, fallback_language="en")
    assert result == analyse_text(long[:10_000], fallback_language="en")
    assert result.language == "fr"
    assert result.sentiment < -0.9
    mixed = analyse_text("The team was great but la facture était fausse et le service très décevant", fallback_language="en")
    assert mixed.language in ("en", "fr")
    assert -1 <= mixed.sentiment <= 1
    assert analyse_text("\x00\x01 ok \ufffd", fallback_language="de").language == "de"


def test_scores_stay_within_minus_one_and_one():
    for text in ("!!!!!!!!!!", "très " * 50 + "bien", "nicht " * 30 + "schlecht", "😡" * 500, "👍" * 500):
        for lang in ("fr", "de", "nl", "es", "en"):
            assert -1 <= sentiment.sentiment(text, lang) <= 1


def test_every_lexicon_and_model_ships_inside_an_installed_package(monkeypatch):
    """Loaded with the network cut: nothing is downloaded, now or ever (cache cleared to load them again here)."""
    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for cached in (lexicons.lexicon, lexicons.vader, lexicons.emoji_valences, language._identifier):
        cached.cache_clear()
    for lang, (positive, _) in SENTENCES.items():
        assert analyse_text(positive, fallback_language="en").language == lang
    for lang in ("fr", "de", "nl"):
        package, inner = lexicons.PATTERN_LEXICONS[lang]
        path = lexicons._package_dir(package) / inner
        assert "site-packages" in path.parts, path
        assert len(lexicons.lexicon(lang)) > 1000
    assert Path(lexicons.AFINN_LEXICONS["es"]).is_relative_to(Path(nlp.__file__).parent / "vendor")
    assert len(lexicons.lexicon("es")) > 2000
    assert len(lexicons.emoji_valences()) > 300


def test_the_bands_use_vaders_cut_offs():
    assert sentiment_band(None) is None
    assert sentiment_band(-0.05) == "negative"
    assert sentiment_band(-0.0499) == "neutral"
    assert sentiment_band(0.0499) == "neutral"
    assert sentiment_band(0.05) == "positive"


@pytest.mark.parametrize("lang,text", [
    ("en", "Too expensive for what we got."),
    ("fr", "Encore des erreurs dans les documents."),
    ("de", "Wieder Fehler in der Rechnung und lange Wartezeit."),
    ("nl", "Weer fouten in de factuur en veel vertraging."),
    ("es", "Demasiado caro para lo que recibimos."),  # AFINN-es reads "caro" as "dear" (+3): the domain list wins
])
def test_service_feedback_words_the_general_lexicons_miss_count(lang, text):
    assert analyse_text(text, fallback_language=lang).sentiment < -0.05
