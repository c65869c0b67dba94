"""Service-feedback words the general lexicons miss or misread, per language (VADER's scale, −4 … 4).

The packaged lexicons were built from product reviews (pattern: book and product reviews; AFINN: tweets;
VADER: social media). Comments about a professional-services firm lean on words those leave out — a
delay, an error, having to chase — and the machine translation behind the Spanish list reads "caro"
(expensive) as "dear" (+3). These entries are merged over each language's lexicon (they win), written by
hand for this product, not learned from its data; each is a common word of client feedback with the
valence VADER gives its nearest English word where VADER has one.
"""

from __future__ import annotations

DOMAIN_VALENCES: dict[str, dict[str, float]] = {
    "en": {
        "expensive": -1.5, "overpriced": -2.0, "pricey": -1.2, "delay": -1.5, "delayed": -1.5, "late": -1.2, "chase": -1.2,
        "chased": -1.2, "chasing": -1.2, "jargon": -1.0, "unreachable": -2.0, "unanswered": -1.5, "waited": -1.0,
        "professional": 1.5, "responsive": 1.8, "reliable": 1.8, "knowledgeable": 1.8, "prompt": 1.2, "promptly": 1.2,
    },
    "fr": {
        "cher": -1.5, "chère": -1.5, "chers": -1.5, "chères": -1.5, "retard": -1.5, "erreur": -1.8, "faute": -1.5,
        "relancer": -1.2, "relance": -1.0, "attente": -0.8, "injoignable": -2.0, "lent": -1.5, "lente": -1.5,
        "compliqué": -1.2, "jargon": -1.0, "réactif": 1.8, "réactive": 1.8, "professionnel": 1.5, "professionnelle": 1.5,
        "rapide": 1.5, "fiable": 1.8, "compétent": 1.8, "compétente": 1.8, "merci": 1.5,
    },
    "de": {
        "teuer": -1.5, "verspätung": -1.5, "verspätet": -1.5, "verzögerung": -1.5, "fehler": -1.8, "nachhaken": -1.2,
        "wartezeit": -1.0, "unerreichbar": -2.0, "langsam": -1.2, "kompliziert": -1.2, "professionell": 1.5, "kompetent": 1.8,
        "schnell": 1.2, "zuverlässig": 1.8, "hilfreich": 1.8, "danke": 1.5,
    },
    "nl": {
        "duur": -1.5, "vertraging": -1.5, "fout": -1.8, "nabellen": -1.2, "wachttijd": -1.0, "onbereikbaar": -2.0,
        "traag": -1.5, "ingewikkeld": -1.2, "professioneel": 1.5, "snel": 1.2, "betrouwbaar": 1.8, "deskundig": 1.8,
        "behulpzaam": 1.8, "bedankt": 1.5,
    },
    "es": {
        "caro": -1.5, "cara": -1.5, "retraso": -1.5, "error": -1.8, "insistir": -1.0, "espera": -0.8, "inalcanzable": -2.0,
        "lento": -1.5, "confuso": -1.5, "complicado": -1.2, "atento": 1.5, "profesional": 1.5, "rápido": 1.5, "fiable": 1.8,
        "eficaz": 1.8, "gracias": 1.5,
    },
}
