"""Writes on comment themes: the taxonomy, assignment (keyword rules + the classifier), people's
corrections, training, and the starter themes.

Assignment never overrides a person: a theme a person put on or took off a comment stays as they left it.
Every change of a comment's themes (or sentiment) is announced with `response_themes_changed` (the days
touched) in the same transaction; metrics recomputes those days' theme statistics.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.events import response_themes_changed
from apps.core.nlp import LANGUAGES
from apps.surveys.models import Response, ResponseTheme, Theme, ThemeClassifier, ThemeReview
from apps.surveys.themes import classifier, rules
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Membership, Tenant

Source = ResponseTheme.Source
NAME_MAX = Theme._meta.get_field("name").max_length
BATCH = 2000
# A correction retrains the classifier this long after it (a burst of corrections: one training).
TRAINING_DELAY_SECONDS = 30


# --- the taxonomy -----------------------------------------------------------------------------------

def keywords_clean(raw: dict | None) -> dict[str, list[str]]:
    """{language: [keyword, ...]} with known languages (or "*") only, each keyword trimmed, de-duplicated (in
    any case), at most KEYWORD_MAX characters and KEYWORDS_PER_LANGUAGE per language. Raises ValidationError."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValidationError({"keywords": "Keywords are given per language, e.g. {\"en\": [\"invoice\"]}."})
    allowed = (*LANGUAGES, rules.EVERY_LANGUAGE)
    cleaned: dict[str, list[str]] = {}
    for language, words in raw.items():
        if language not in allowed:
            raise ValidationError({"keywords": f"Unknown language {language!r}: use one of {', '.join(allowed)}."})
        if isinstance(words, str):
            words = words.split(",")
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ValidationError({"keywords": f"The keywords of {language!r} must be a list of words or phrases."})
        seen, kept = set(), []
        for word in words:
            word = re.sub(r"\s+", " ", word).strip()
            if not word:
                continue
            if len(word) > rules.KEYWORD_MAX:
                raise ValidationError({"keywords": f"“{word[:20]}…” is longer than {rules.KEYWORD_MAX} characters."})
            if word.casefold() not in seen:
                seen.add(word.casefold())
                kept.append(word)
        if len(kept) > rules.KEYWORDS_PER_LANGUAGE:
            raise ValidationError({"keywords": f"At most {rules.KEYWORDS_PER_LANGUAGE} keywords per language ({language})."})
        if kept:
            cleaned[language] = kept
    return cleaned


def _name_clean(name: str) -> str:
    name = re.sub(r"\s+", " ", name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the theme a name."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"A theme name has at most {NAME_MAX} characters."})
    return name


def _save_theme(theme: Theme) -> Theme:
    if Theme.objects.filter(name__iexact=theme.name).exclude(pk=theme.pk).exists():
        raise ValidationError({"name": f"There is already a theme named “{theme.name}”."})
    try:
        with transaction.atomic():
            theme.save()
    except IntegrityError as exc:  # a concurrent save of the same name
        raise ValidationError({"name": f"There is already a theme named “{theme.name}”."}) from exc
    return theme


@transaction.atomic
def theme_create(*, tenant: Tenant, name: str, description: str = "", keywords: dict | None = None,
                 origin: str = Theme.Origin.MANUAL) -> Theme:
    """A new theme; its comments are found on commit (queue_reassign)."""
    theme = _save_theme(Theme(tenant=tenant, name=_name_clean(name), description=(description or "").strip(),
                              keywords=keywords_clean(keywords), origin=origin))
    queue_reassign(tenant)
    return theme


@transaction.atomic
def theme_update(*, theme: Theme, name: str | None = None, description: str | None = None, keywords: dict | None = None,
                 is_active: bool | None = None) -> Theme:
    """Change a theme; when its keywords or its being active change, every comment is re-themed on commit."""
    reassign = False
    if name is not None:
        theme.name = _name_clean(name)
    if description is not None:
        theme.description = description.strip()
    if keywords is not None:
        cleaned = keywords_clean(keywords)
        reassign |= cleaned != theme.keywords
        theme.keywords = cleaned
    if is_active is not None and is_active != theme.is_active:
        theme.is_active = is_active
        reassign = True
    _save_theme(theme)
    if reassign:
        queue_reassign(theme.tenant)
    return theme


@transaction.atomic
def theme_delete(*, theme: Theme) -> None:
    """Delete a theme, its assignments and its statistics (the days it was on are recomputed)."""
    days = set(Response.objects.filter(theme_links__theme=theme).values_list("local_day", flat=True).distinct())
    theme.delete()
    if days:
        response_themes_changed.send(sender=Theme, tenant=theme.tenant, days=sorted(days))


def queue_reassign(tenant: Tenant) -> None:
    from apps.surveys.tasks import reassign_themes
    from apps.tenancy.tasks import enqueue_on_commit

    enqueue_on_commit(reassign_themes, tenant.pk)


# --- assignment -------------------------------------------------------------------------------------

class Assigner:
    """The current tenant's rules and classifier, loaded once, applied to many comments."""

    def __init__(self):
        self.compiled = rules.compile_themes(Theme.objects.filter(is_active=True).only("id", "keywords", "is_active"))
        active = {t.id for t in self.compiled}
        stored = ThemeClassifier.objects.first()
        self.model = None
        if stored is not None:
            model = classifier.Model.from_json(stored.vocabulary, stored.idf, stored.weights)
            model.weights = {t: w for t, w in model.weights.items() if t in active}
            self.model = model if model.weights else None

    def wanted(self, comment: str, language: str) -> dict[int, str]:
        """{theme id: source} the rules and the classifier give a comment."""
        if not comment.strip() or not self.compiled:
            return {}
        found = {t: Source.RULE for t in rules.matching(rules.comment_text(comment, language), language, self.compiled)}
        if self.model is not None:
            for t in self.model.predict(classifier.terms(comment, language)):
                found.setdefault(t, Source.MODEL)
        return found


def _language(response: Response) -> str:
    return response.comment_language or response.language


def _apply(responses: list[Response], assigner: Assigner) -> set:
    """Bring the automatic theme rows of `responses` in line with `assigner` (people's rows untouched);
    the local days whose themes changed."""
    ids = [r.pk for r in responses]
    existing: dict[int, dict[int, ResponseTheme]] = {}
    for link in ResponseTheme.objects.filter(response_id__in=ids):
        existing.setdefault(link.response_id, {})[link.theme_id] = link
    create, drop, update, days = [], [], [], set()
    for response in responses:
        have = existing.get(response.pk, {})
        wanted = assigner.wanted(response.comment, _language(response)) if response.comment and not response.is_bot else {}
        for theme_id, link in have.items():
            if link.source == Source.PERSON:
                continue
            if theme_id not in wanted:
                drop.append(link.pk)
                days.add(response.local_day)
            elif link.source != wanted[theme_id]:
                link.source = wanted[theme_id]
                update.append(link)
        for theme_id, source in wanted.items():
            if theme_id not in have:
                create.append(ResponseTheme(tenant_id=response.tenant_id, response_id=response.pk, theme_id=theme_id, source=source))
                days.add(response.local_day)
    if drop:
        ResponseTheme.objects.filter(pk__in=drop).delete()
    if update:
        ResponseTheme.objects.bulk_update(update, ["source", "updated_at"])
    if create:
        ResponseTheme.objects.bulk_create(create, ignore_conflicts=True)  # a concurrent assignment of the same pair
    return days


def response_themes_assign(*, tenant: Tenant, response: Response, assigner: Assigner | None = None) -> None:
    """Theme one response's comment (rules + classifier) and announce its day (its sentiment or themes may have
    changed): what the analysis task runs after language and sentiment."""
    _apply([response], assigner or Assigner())
    response_themes_changed.send(sender=Response, tenant=tenant, days=[response.local_day])


def themes_reassign(tenant: Tenant, *, batch: int = BATCH, progress: Callable[[int, int], None] | None = None,
                    recount_all: bool = False) -> int:
    """Re-theme every comment of the tenant (a batch per transaction, after a taxonomy change or training);
    returns how many comments were read. Then the days whose themes changed (every day, with `recount_all`)
    are announced once, so each day's statistics are recomputed once, not once per batch."""
    with tenant_context(tenant):
        assigner = Assigner()
        total = Response.objects.exclude(comment="").count()
    done, after, days = 0, 0, set()
    while True:
        with tenant_context(tenant):
            rows = list(Response.objects.exclude(comment="").filter(pk__gt=after).order_by("pk")
                        .only("id", "tenant_id", "comment", "comment_language", "language", "local_day", "is_bot")[:batch])
            if not rows:
                break
            days |= _apply(rows, assigner)
        after, done = rows[-1].pk, done + len(rows)
        if progress:
            progress(done, max(total, done))
    if days or recount_all:
        with tenant_context(tenant):
            response_themes_changed.send(sender=Response, tenant=tenant, days=None if recount_all else sorted(days))
    return done


# --- people's corrections -----------------------------------------------------------------------------

@transaction.atomic
def response_themes_set(*, tenant: Tenant, response: Response, themes: Iterable[Theme], by: Membership | None,
                        retrain: bool = True) -> None:
    """A person sets the comment's themes as a whole: the chosen ones are on, every other one is off, and
    neither the rules nor the classifier change that. The review makes each theme left off a negative example;
    the classifier is retrained after commit (`retrain=False`: the caller trains once after many, as the demo does)."""
    if not response.comment.strip():
        raise ValidationError("This response has no comment to theme.")
    chosen = {t.pk for t in themes}
    if chosen and Theme.objects.filter(pk__in=chosen).count() != len(chosen):
        raise ValidationError("Unknown theme.")
    Response.objects.select_for_update().filter(pk=response.pk).first()  # one correction of a response at a time
    existing = {link.theme_id: link for link in ResponseTheme.objects.filter(response=response)}
    now = timezone.now()
    for theme_id in chosen | set(existing):
        present = theme_id in chosen
        link = existing.get(theme_id)
        if link is None:
            ResponseTheme.objects.create(tenant=tenant, response=response, theme_id=theme_id, source=Source.PERSON, present=True,
                                         decided_by=by)
        elif link.source != Source.PERSON or link.present != present:
            link.source, link.present, link.decided_by = Source.PERSON, present, by
            link.save(update_fields=["source", "present", "decided_by", "updated_at"])
    ThemeReview.objects.update_or_create(response=response, defaults={"tenant": tenant, "reviewed_by": by, "reviewed_at": now})
    response_themes_changed.send(sender=Response, tenant=tenant, days=[response.local_day])
    if retrain:
        from apps.surveys.tasks import train_theme_classifier
        from apps.tenancy.tasks import queue_on_commit

        queue_on_commit(train_theme_classifier, tenant.pk, options={"countdown": TRAINING_DELAY_SECONDS})


# --- training ---------------------------------------------------------------------------------------

def training_examples() -> list[tuple[list[str], dict[int, bool]]]:
    """The current tenant's human-confirmed examples: per comment a person decided on, {theme: has it}."""
    themes = dict(Theme.objects.values_list("pk", "created_at"))
    labels: dict[int, dict[int, bool]] = {}
    for response_id, theme_id, present in ResponseTheme.objects.filter(source=Source.PERSON).values_list("response_id", "theme_id", "present"):
        labels.setdefault(response_id, {})[theme_id] = present
    reviewed = dict(ThemeReview.objects.values_list("response_id", "reviewed_at"))
    for response_id, reviewed_at in reviewed.items():
        decided = labels.setdefault(response_id, {})
        for theme_id, created_at in themes.items():
            if theme_id not in decided and created_at <= reviewed_at:
                decided[theme_id] = False  # left off a comment whose themes a person set as a whole
    comments = {pk: (comment, comment_language or language) for pk, comment, comment_language, language in
                Response.objects.filter(pk__in=list(labels)).exclude(comment="").values_list("pk", "comment", "comment_language", "language")}
    return [(classifier.terms(*comments[pk]), decided) for pk, decided in sorted(labels.items()) if pk in comments and decided]


def classifier_outdated(tenant: Tenant) -> bool:
    """Whether a person corrected a comment's themes since the classifier was last trained (or it never was)."""
    with tenant_context(tenant):
        latest = ThemeReview.objects.order_by("-reviewed_at").values_list("reviewed_at", flat=True).first()
        trained = ThemeClassifier.objects.values_list("trained_at", flat=True).first()
    return latest is not None and (trained is None or trained < latest)


def classifier_train(tenant: Tenant) -> dict[int, classifier.Quality]:
    """Train the tenant's classifier on its people's decisions, store it and each theme's held-out quality, and
    re-theme every comment with it (a batch per transaction) — unless there was no model before and there is
    none now (nothing for the comments to change)."""
    with tenant_context(tenant):
        had_model = ThemeClassifier.objects.exclude(weights={}).exists()
        theme_ids = list(Theme.objects.values_list("pk", flat=True))
        examples = training_examples()
        model, quality = classifier.train(examples, theme_ids)
        for theme_id, q in quality.items():
            Theme.objects.filter(pk=theme_id).update(model_precision=q.precision, model_recall=q.recall, model_positives=q.positives,
                                                     model_negatives=q.negatives, model_active=q.active)
        data = model.as_json() if model is not None else {"vocabulary": {}, "idf": [], "weights": {}}
        # Kept even without a learnable theme (empty weights): its trained_at says the corrections were seen.
        ThemeClassifier.objects.update_or_create(tenant=tenant, defaults={
            "vocabulary": data["vocabulary"], "idf": data["idf"], "weights": data["weights"],
            "examples": len(examples), "trained_at": timezone.now()})
    if model is not None or had_model:
        themes_reassign(tenant)
    return quality


# --- starter themes ---------------------------------------------------------------------------------

STARTER_THEMES = [
    ("Responsiveness", "How quickly we answer, call back and follow up.", {
        "en": ["quick", "fast", "slow", "wait", "call back", "answer", "respond", "chase", "reply", "delay", "late", "on time"],
        "fr": ["rapide", "lent", "attente", "rappel", "répondre", "réponse", "relancer", "retard", "réactif", "délai"],
        "de": ["schnell", "langsam", "warten", "Wartezeit", "Rückruf", "antworten", "Antwort", "Verspätung", "nachhaken"],
        "nl": ["snel", "traag", "wachten", "wachttijd", "terugbellen", "antwoord", "reageren", "vertraging"],
        "es": ["rápido", "lento", "espera", "respuesta", "responder", "devolver la llamada", "retraso", "insistir", "tarde"]}),
    ("Billing and fees", "Invoices, prices, fees and what they cover.", {
        "en": ["invoice", "bill", "billing", "price", "fee", "cost", "expensive", "charge", "overpriced"],
        "fr": ["facture", "facturation", "prix", "tarif", "honoraires", "coût", "cher"],
        "de": ["Rechnung", "Preis", "Gebühr", "Honorar", "Kosten", "teuer"],
        "nl": ["factuur", "prijs", "tarief", "kosten", "duur", "honorarium"],
        "es": ["factura", "precio", "tarifa", "honorarios", "coste", "costo", "caro"]}),
    ("Expertise and advice", "The quality of the advice and the team's knowledge.", {
        "en": ["advice", "expert", "expertise", "knowledge", "knowledgeable", "professional", "competent", "mistake", "error"],
        "fr": ["conseil", "expert", "expertise", "compétent", "professionnel", "erreur", "faute"],
        "de": ["Beratung", "Rat", "Experte", "kompetent", "professionell", "Fehler", "Fachwissen"],
        "nl": ["advies", "expert", "deskundig", "kennis", "professioneel", "fout"],
        "es": ["asesoramiento", "consejo", "experto", "profesional", "competente", "error"]}),
    ("Communication and clarity", "Explaining clearly, keeping the client informed, plain words.", {
        "en": ["explain", "clear", "unclear", "confusing", "jargon", "inform", "update", "communication", "plain words"],
        "fr": ["expliquer", "clair", "confus", "compliqué", "jargon", "informer", "prévenir", "communication"],
        "de": ["erklären", "klar", "unklar", "verwirrend", "Fachjargon", "informieren", "Kommunikation"],
        "nl": ["uitleggen", "duidelijk", "onduidelijk", "verwarrend", "vakjargon", "informeren", "communicatie"],
        "es": ["explicar", "claro", "confuso", "complicado", "jerga", "informar", "avisar", "comunicación"]}),
    ("Friendliness", "How people were treated: kind, polite, helpful.", {
        "en": ["friendly", "kind", "polite", "rude", "helpful", "pleasant", "thank"],
        "fr": ["aimable", "gentil", "poli", "désagréable", "sympathique", "merci", "accueil"],
        "de": ["freundlich", "nett", "höflich", "unfreundlich", "hilfsbereit", "danke"],
        "nl": ["vriendelijk", "aardig", "beleefd", "onvriendelijk", "behulpzaam", "bedankt"],
        "es": ["amable", "simpático", "educado", "grosero", "atento", "gracias"]}),
    ("Portal and documents", "The client portal, documents and paperwork.", {
        "en": ["portal", "document", "paperwork", "form", "login", "website", "upload"],
        "fr": ["portail", "document", "formulaire", "site", "connexion", "dossier"],
        "de": ["Portal", "Dokument", "Unterlagen", "Formular", "Website", "Anmeldung"],
        "nl": ["portaal", "document", "formulier", "website", "inloggen", "papierwerk"],
        "es": ["portal", "documento", "formulario", "web", "papeleo", "acceso"]}),
]


@transaction.atomic
def themes_seed_starter(*, tenant: Tenant, reassign: bool = True) -> list[Theme]:
    """The starter themes for a professional-services firm (each made once: an existing name is kept); their
    comments are found on commit (`reassign=False`: the caller themes the comments itself)."""
    made = []
    for name, description, keywords in STARTER_THEMES:
        if not Theme.objects.filter(name__iexact=name).exists():
            made.append(_save_theme(Theme(tenant=tenant, name=name, description=description, keywords=keywords_clean(keywords),
                                          origin=Theme.Origin.STARTER)))
    if made and reassign:
        queue_reassign(tenant)
    return made

