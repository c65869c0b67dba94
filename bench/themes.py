"""Benchmark of the comment pipeline (issue 19 item 7): 100,000 comments in five languages themed end to end on
Postgres, with the accuracy measured against the labels they were generated with.

    .venv/bin/python bench/themes.py                    # 100,000 comments
    .venv/bin/python bench/themes.py --comments 20000   # a quick run

THE COMMENTS ARE SYNTHETIC: generated here from short phrases per theme, tone and language (English, French,
German, Dutch, Spanish), each labelled with its language, its tone and its themes. About half of the theme
phrases carry one of the starter themes' keywords; the other half say the same thing in other words (which only
the classifier can learn). So the accuracy printed is how well the pipeline recovers what the generator put in,
not an accuracy on real client comments.

Creates a throwaway database (test_cxm_bench_themes) as the owner role and migrates it, then works as the app
role (row-level security forced) exactly as production workers do, in one tenant with the six starter themes:

1. loads N counted NPS responses with a comment (Django bulk_create; not timed as part of the pipeline);
2. times the pipeline, each step as production runs it: language and sentiment of every comment
   (`comments_analyse`), the classifier trained on 400 human-confirmed comments (people's corrections, written
   as the correction page writes them), every comment themed by rules + classifier (`themes_reassign`), and
   the theme statistics of the days each step changed recomputed (`response_themes_changed` → metrics, inside
   each step). The rules-only pass (before training) and a recount of every day alone are timed too, apart;
3. prints accuracy against the generated labels: language, sentiment band (positive or negative tone vs the
   score's band), theme precision and recall (micro-averaged over comments × themes), rules only and with the
   classifier, and the classifier's own held-out precision and recall per theme;
4. times the incremental path for new comments: `response_comment_analyse` (what the on-commit task runs:
   language, sentiment, themes, the day's statistics) per comment, median and p95.

Ends with the ratio table (target, measured, ok). Nothing outside the bench database is touched; it is dropped
at the end unless --keep-db.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://cxm_owner@127.0.0.1:5432/cxm")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings.test")
os.environ["TEST_DATABASE_NAME"] = "test_cxm_bench_themes"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.core.dates import local_day  # noqa: E402
from apps.core.events import response_themes_changed  # noqa: E402
from apps.core.nlp import sentiment_band  # noqa: E402
from apps.metrics.models import ThemeRollup  # noqa: E402
from apps.surveys.models import Response, ResponseTheme, Survey, SurveyVersion, Theme, ThemeReview  # noqa: E402
from apps.surveys.responses.comments import comments_analyse, response_comment_analyse  # noqa: E402
from apps.surveys.themes import services as themes  # noqa: E402
from apps.tenancy.context import tenant_context  # noqa: E402
from apps.tenancy.models import Tenant  # noqa: E402

TARGET_SECONDS = 60
TRAINING_EXAMPLES = 400
INCREMENTAL = 200
SPAN_DAYS = 365
LANGUAGES = ("en", "fr", "de", "nl", "es")

# Per theme (the starter themes' names), language and tone: phrases WITH one of the theme's keywords ("kw") and
# phrases saying the same WITHOUT any ("other": only the classifier can find those).
PHRASES = {
    "Responsiveness": {
        "en": {"kw": {"pos": ["they answer quickly", "a quick reply every time", "fast answers to our questions"],
                      "neg": ["very slow to respond", "we had to chase them twice", "a long wait for an answer"]},
               "other": {"pos": ["they got back to me within the hour", "always there when I phone"],
                         "neg": ["nobody picked up the phone for days", "my emails stayed unanswered for a week"]}},
        "fr": {"kw": {"pos": ["une réponse rapide", "ils sont très réactifs"], "neg": ["très lent à répondre", "une longue attente"]},
               "other": {"pos": ["ils m'ont recontacté dans l'heure", "toujours joignables au téléphone"],
                         "neg": ["personne ne décroche pendant des jours", "mes mails sont restés sans suite une semaine"]}},
        "de": {"kw": {"pos": ["eine schnelle Antwort", "sie antworten sofort"], "neg": ["sehr langsam", "eine lange Wartezeit"]},
               "other": {"pos": ["sie haben sich innerhalb einer Stunde gemeldet", "telefonisch immer erreichbar"],
                         "neg": ["tagelang ging niemand ans Telefon", "meine Mails blieben eine Woche liegen"]}},
        "nl": {"kw": {"pos": ["een snel antwoord", "ze reageren meteen"], "neg": ["erg traag", "een lange wachttijd"]},
               "other": {"pos": ["ze belden binnen het uur terug", "altijd bereikbaar aan de telefoon"],
                         "neg": ["dagenlang nam niemand de telefoon op", "mijn mails bleven een week liggen"]}},
        "es": {"kw": {"pos": ["una respuesta rápida", "responden enseguida"], "neg": ["muy lentos", "una espera muy larga"]},
               "other": {"pos": ["me llamaron en menos de una hora", "siempre localizables por teléfono"],
                         "neg": ["nadie cogió el teléfono durante días", "mis correos quedaron sin contestar una semana"]}},
    },
    "Billing and fees": {
        "en": {"kw": {"pos": ["the invoice was clear", "a fair price"], "neg": ["the invoice was wrong", "far too expensive"]},
               "other": {"pos": ["good value for money", "no surprises on the bill at the end of the month"],
                         "neg": ["we were charged twice", "the amount due made no sense"]}},
        "fr": {"kw": {"pos": ["une facture claire", "un prix correct"], "neg": ["la facture était fausse", "beaucoup trop cher"]},
               "other": {"pos": ["un bon rapport qualité-argent", "aucune surprise sur le montant"],
                         "neg": ["on nous a débité deux fois", "le montant à payer était incompréhensible"]}},
        "de": {"kw": {"pos": ["eine klare Rechnung", "ein fairer Preis"], "neg": ["die Rechnung war falsch", "viel zu teuer"]},
               "other": {"pos": ["gutes Preis-Leistungs-Verhältnis", "keine Überraschungen beim Betrag"],
                         "neg": ["uns wurde doppelt abgebucht", "der Betrag war nicht nachvollziehbar"]}},
        "nl": {"kw": {"pos": ["een duidelijke factuur", "een eerlijke prijs"], "neg": ["de factuur klopte niet", "veel te duur"]},
               "other": {"pos": ["waar voor je geld", "geen verrassingen bij het bedrag"],
                         "neg": ["er werd twee keer afgeschreven", "het bedrag was onbegrijpelijk"]}},
        "es": {"kw": {"pos": ["una factura clara", "un precio justo"], "neg": ["la factura estaba mal", "demasiado caro"]},
               "other": {"pos": ["buena relación calidad-dinero", "ninguna sorpresa en el importe"],
                         "neg": ["nos cobraron dos veces", "el importe no tenía sentido"]}},
    },
    "Expertise and advice": {
        "en": {"kw": {"pos": ["excellent advice", "a real expert"], "neg": ["another mistake in the file", "the advice was poor"]},
               "other": {"pos": ["they know tax law inside out", "the recommendations saved us money"],
                         "neg": ["they misread the regulation", "the analysis missed the obvious"]}},
        "fr": {"kw": {"pos": ["d'excellents conseils", "un vrai expert"], "neg": ["encore une erreur dans le dossier", "des conseils médiocres"]},
               "other": {"pos": ["ils maîtrisent parfaitement le droit fiscal", "leurs recommandations nous ont fait économiser"],
                         "neg": ["ils ont mal lu la réglementation", "l'analyse a raté l'essentiel"]}},
        "de": {"kw": {"pos": ["eine hervorragende Beratung", "ein echter Experte"],
                      "neg": ["wieder ein Fehler in der Akte", "schlechte Beratung"]},
               "other": {"pos": ["sie kennen das Steuerrecht in- und auswendig", "die Empfehlungen haben uns Geld gespart"],
                         "neg": ["sie haben die Vorschrift falsch gelesen", "die Analyse hat das Wesentliche übersehen"]}},
        "nl": {"kw": {"pos": ["uitstekend advies", "een echte expert"], "neg": ["weer een fout in het dossier", "slecht advies"]},
               "other": {"pos": ["ze kennen het belastingrecht door en door", "de aanbevelingen bespaarden ons geld"],
                         "neg": ["ze lazen de regelgeving verkeerd", "de analyse miste de kern"]}},
        "es": {"kw": {"pos": ["un asesoramiento excelente", "un verdadero experto"],
                      "neg": ["otro error en el expediente", "un consejo pobre"]},
               "other": {"pos": ["dominan el derecho fiscal a la perfección", "sus recomendaciones nos ahorraron dinero"],
                         "neg": ["interpretaron mal la normativa", "el análisis pasó por alto lo esencial"]}},
    },
    "Friendliness": {
        "en": {"kw": {"pos": ["very friendly staff", "kind and helpful people"], "neg": ["the receptionist was rude", "not friendly at all"]},
               "other": {"pos": ["they always greet us with a smile", "warm welcome every time"],
                         "neg": ["we were treated like a number", "cold and dismissive on the phone"]}},
        "fr": {"kw": {"pos": ["une équipe très aimable", "des gens gentils"], "neg": ["un accueil désagréable", "pas aimable du tout"]},
               "other": {"pos": ["toujours reçus avec le sourire", "un accueil chaleureux à chaque fois"],
                         "neg": ["traités comme un numéro", "froids et méprisants au téléphone"]}},
        "de": {"kw": {"pos": ["sehr freundliche Mitarbeiter", "nette und hilfsbereite Leute"],
                      "neg": ["die Empfangsdame war unfreundlich", "überhaupt nicht nett"]},
               "other": {"pos": ["sie empfangen uns immer mit einem Lächeln", "jedes Mal ein herzlicher Empfang"],
                         "neg": ["wir wurden wie eine Nummer behandelt", "kalt und abweisend am Telefon"]}},
        "nl": {"kw": {"pos": ["heel vriendelijke medewerkers", "aardige en behulpzame mensen"],
                      "neg": ["de receptie was onvriendelijk", "helemaal niet vriendelijk"]},
               "other": {"pos": ["ze ontvangen ons altijd met een glimlach", "elke keer een warm welkom"],
                         "neg": ["we werden als een nummer behandeld", "koud en afwijzend aan de telefoon"]}},
        "es": {"kw": {"pos": ["un personal muy amable", "gente atenta y simpática"], "neg": ["la recepcionista fue grosera", "nada amables"]},
               "other": {"pos": ["siempre nos reciben con una sonrisa", "una acogida cálida cada vez"],
                         "neg": ["nos trataron como a un número", "fríos y despectivos al teléfono"]}},
    },
}
NEUTRAL = {"en": ["We met last Tuesday.", "The meeting was at their office.", "Second year with this firm."],
           "fr": ["Nous nous sommes vus mardi.", "La réunion était dans leurs bureaux.", "Deuxième année avec ce cabinet."],
           "de": ["Wir haben uns am Dienstag getroffen.", "Das Treffen war in ihrem Büro.", "Zweites Jahr mit dieser Kanzlei."],
           "nl": ["We zagen elkaar dinsdag.", "De vergadering was op hun kantoor.", "Tweede jaar bij dit kantoor."],
           "es": ["Nos vimos el martes.", "La reunión fue en su oficina.", "Segundo año con este despacho."]}
JOIN = {"en": " and ", "fr": " et ", "de": " und ", "nl": " en ", "es": " y "}


def generate(n: int, rng: random.Random) -> list[dict]:
    """n labelled comments: language, tone (pos/neg, None for neutral), themes, text, and an NPS that agrees with the tone."""
    names = list(PHRASES)
    out = []
    for _ in range(n):
        language = rng.choice(LANGUAGES)
        roll = rng.random()
        if roll < 0.12:  # no theme: a neutral remark
            out.append({"language": language, "tone": None, "themes": set(), "text": rng.choice(NEUTRAL[language]),
                        "nps": rng.choice((7, 8))})
            continue
        tone = "pos" if rng.random() < 0.55 else "neg"
        chosen = rng.sample(names, 2 if roll > 0.8 else 1)
        parts = [rng.choice(PHRASES[name][language]["kw" if rng.random() < 0.5 else "other"][tone]) for name in chosen]
        text = JOIN[language].join(parts)
        text = text[0].upper() + text[1:] + ("!" if tone == "pos" and rng.random() < 0.3 else ".")
        nps = rng.choice((9, 10)) if tone == "pos" else rng.choice((0, 2, 3, 4, 5, 6))
        out.append({"language": language, "tone": tone, "themes": set(chosen), "text": text, "nps": nps})
    return out


def load(tenant: Tenant, version: SurveyVersion, rows: list[dict], rng: random.Random) -> list[int]:
    now = timezone.now()
    objs = []
    for row in rows:
        submitted = now - timedelta(days=rng.randrange(SPAN_DAYS), minutes=rng.randrange(1440))
        objs.append(Response(tenant=tenant, survey=version.survey, version=version, channel="email", language=rng.choice(LANGUAGES),
                             submitted_at=submitted, local_day=local_day(tenant.time_zone, submitted), nps=row["nps"], comment=row["text"]))
    with tenant_context(tenant):
        Response.objects.bulk_create(objs, batch_size=5000)
    return [o.pk for o in objs]


def confirm(tenant: Tenant, ids: list[int], rows: list[dict], theme_ids: dict[str, int]) -> None:
    """People's corrections of TRAINING_EXAMPLES comments: the true themes on, the rest off (as the response page writes them)."""
    now = timezone.now()
    links, reviews = [], []
    for pk, row in zip(ids, rows, strict=True):
        for name, theme_id in theme_ids.items():
            links.append(ResponseTheme(tenant=tenant, response_id=pk, theme_id=theme_id, source="person", present=name in row["themes"]))
        reviews.append(ThemeReview(tenant=tenant, response_id=pk, reviewed_at=now))
    with tenant_context(tenant):
        ResponseTheme.objects.filter(response_id__in=ids).delete()
        ResponseTheme.objects.bulk_create(links)
        ThemeReview.objects.bulk_create(reviews)


def theme_scores(tenant: Tenant, ids: list[int], rows: list[dict], theme_ids: dict[str, int], skip: set[int]) -> tuple[float, float]:
    """Micro precision and recall of the themes on the comments (those people corrected left out)."""
    names = {v: k for k, v in theme_ids.items()}
    found: dict[int, set[str]] = {}
    with tenant_context(tenant):
        for response_id, theme_id in ResponseTheme.objects.filter(present=True).values_list("response_id", "theme_id").iterator(chunk_size=20000):
            if theme_id in names:
                found.setdefault(response_id, set()).add(names[theme_id])
    tp = fp = fn = 0
    for pk, row in zip(ids, rows, strict=True):
        if pk in skip:
            continue
        got, want = found.get(pk, set()), row["themes"] & set(theme_ids)
        tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def measure(n: int, seed: int) -> dict:
    rng = random.Random(seed)
    tenant = Tenant.objects.create(name="Bench Advisory", slug="bench-themes", time_zone="Europe/Brussels")
    with tenant_context(tenant):
        survey = Survey.objects.create(tenant=tenant, name="After the meeting", kind="nps", languages=list(LANGUAGES))
        version = SurveyVersion.objects.create(tenant=tenant, survey=survey, number=1, published_at=timezone.now(), texts={})
        themes.themes_seed_starter(tenant=tenant, reassign=False)
        theme_ids = {name: pk for name, pk in Theme.objects.values_list("name", "pk") if name in PHRASES}
    rows = generate(n, rng)
    load_s, ids = timed(load, tenant, version, rows, rng)
    print(f"loaded {n:,} synthetic comments in {load_s:.1f} s (not part of the pipeline)")

    analyse_s, _ = timed(comments_analyse, tenant)
    rules_s, _ = timed(themes.themes_reassign, tenant)
    rules_p, rules_r = theme_scores(tenant, ids, rows, theme_ids, set())

    training = rng.sample(range(n), TRAINING_EXAMPLES)
    confirm(tenant, [ids[i] for i in training], [rows[i] for i in training], theme_ids)
    with tenant_context(tenant):
        from apps.surveys.themes.classifier import train

        examples = themes.training_examples()
    train_s, (_, quality) = timed(train, examples, list(theme_ids.values()))
    # The production path: train, store, then theme every comment with rules + classifier (what classifier_train does).
    full_train_s, stored_quality = timed(themes.classifier_train, tenant)
    classifier_theming_s = full_train_s - train_s
    rollups_s, _ = timed(lambda: _recount(tenant))
    model_p, model_r = theme_scores(tenant, ids, rows, theme_ids, {ids[i] for i in training})

    with tenant_context(tenant):
        analysed = dict(Response.objects.filter(pk__in=ids).values_list("pk", "comment_language"))
        sentiments = dict(Response.objects.filter(pk__in=ids).values_list("pk", "comment_sentiment"))
        stats_rows = ThemeRollup.objects.count()
    language_acc = sum(analysed[pk] == row["language"] for pk, row in zip(ids, rows, strict=True)) / n
    toned = [(pk, row) for pk, row in zip(ids, rows, strict=True) if row["tone"]]
    sentiment_acc = sum(sentiment_band(sentiments[pk]) == ("positive" if row["tone"] == "pos" else "negative") for pk, row in toned) / len(toned)

    # Incremental: new comments one at a time, as the on-commit task runs them.
    fresh = generate(INCREMENTAL, rng)
    fresh_ids = load(tenant, version, fresh, rng)
    costs = []
    for pk in fresh_ids:
        start = time.perf_counter()
        with tenant_context(tenant):
            response_comment_analyse(tenant=tenant, response_id=pk)
        costs.append((time.perf_counter() - start) * 1000)
    costs.sort()
    pipeline_s = analyse_s + full_train_s  # each step recomputes the theme statistics of the days it changed
    return {"n": n, "load_s": load_s, "analyse_s": analyse_s, "rules_s": rules_s, "train_s": train_s,
            "classifier_theming_s": classifier_theming_s, "rollups_s": rollups_s, "pipeline_s": pipeline_s,
            "language_acc": language_acc, "sentiment_acc": sentiment_acc, "rules": (rules_p, rules_r), "model": (model_p, model_r),
            "quality": {name: stored_quality[pk] for name, pk in theme_ids.items()}, "stats_rows": stats_rows,
            "incremental_median_ms": statistics.median(costs), "incremental_p95_ms": costs[int(0.95 * (len(costs) - 1))]}


def _recount(tenant: Tenant) -> None:
    with tenant_context(tenant):
        response_themes_changed.send(sender=Response, tenant=tenant, days=None)


def report(r: dict) -> None:
    print("\nwhere the time goes (s):")
    for key, label in (("analyse_s", "language + sentiment of every comment, + day statistics"),
                       ("train_s", f"classifier training ({TRAINING_EXAMPLES} examples, 5-fold held out)"),
                       ("classifier_theming_s", "theming every comment, rules + classifier, + day statistics"),
                       ("rules_s", "(rules-only pass, for the comparison; not in the total)"),
                       ("rollups_s", "(theme statistics of every day alone; inside the steps above)")):
        print(f"  {label:<58} {r[key]:7.1f}")
    print(f"  {'end to end':<58} {r['pipeline_s']:7.1f}")
    print("\naccuracy against the generated labels (SYNTHETIC comments):")
    print(f"  language                        {r['language_acc']:.3f}")
    print(f"  sentiment band vs tone          {r['sentiment_acc']:.3f}")
    print(f"  themes, rules only              precision {r['rules'][0]:.3f}  recall {r['rules'][1]:.3f}")
    print(f"  themes, rules + classifier      precision {r['model'][0]:.3f}  recall {r['model'][1]:.3f}   "
          f"(the {TRAINING_EXAMPLES} corrected comments left out)")
    for name, q in r["quality"].items():
        shown = f"precision {q.precision:.2f}  recall {q.recall:.2f}" if q.active else "not learned"
        print(f"  held out, {name:<21} {shown}  ({q.positives} with, {q.negatives} without)")
    print(f"  theme statistics rows           {r['stats_rows']:,}")
    print(f"\nincremental, per new comment (language, sentiment, themes, the day's statistics): median {r['incremental_median_ms']:.1f} ms, "
          f"p95 {r['incremental_p95_ms']:.1f} ms")
    print("\n| figure | target | measured | ok |\n|---|---|---|---|")
    print(f"| {r['n']:,} comments themed end to end | ≤ {TARGET_SECONDS} s | {r['pipeline_s']:.1f} s | "
          f"{'✓' if r['pipeline_s'] <= TARGET_SECONDS else '✗'} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("This bench needs Postgres (DATABASE_URL).", file=sys.stderr)
        return 2
    owner_settings = dict(connection.settings_dict)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        for conn in connections.all():  # become the app role: RLS enforced as in production
            conn.close()
            conn.settings_dict["USER"] = settings.DATABASE_APP_ROLE
            conn.settings_dict["PASSWORD"] = settings.DATABASE_APP_PASSWORD
        print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs")
        report(measure(args.comments, args.seed))
    finally:
        for conn in connections.all():
            conn.close()
            conn.settings_dict["USER"], conn.settings_dict["PASSWORD"] = owner_settings["USER"], owner_settings["PASSWORD"]
        if not args.keep_db:
            connection.creation.destroy_test_db(owner_settings["NAME"], verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
