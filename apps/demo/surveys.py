"""The demo's surveys and 18 months of answers, replayed through the survey services.

For each demo tenant (called from `apps.demo.world.seed_demo` once its world is written):

- surveys made and published with the builder's services (`survey_create`, `survey_publish`, and for
  one survey a wording change: `draft_get_or_create` + `question_update` + `survey_publish`, so its
  responses are pinned to v1 before the change and v2 after); English plus the tenant's second
  language; after-interaction NPS surveys on the key service touchpoints and the busiest service
  channel, a CSAT survey after support calls, a CES survey on the chat help line, a smiley kiosk
  survey with its kiosk device (`kiosk_create`), a relationship NPS every 6 months;
- invitations for every interaction at a surveyed touchpoint and every recurring wave, decided by the
  distribution rules *as of the day they were made* (`replay_invitations` below: the same rules, in
  the same order, as `services.distribution.skip_reason` — survey not open, client churned, opted out,
  no e-mail, fatigue, duplicate — evaluated in memory against the history being replayed, because
  `invitation_create` decides "now"; every invitation not sent records its reason);
- answers stored with `submitted_at` in the past by `responses_replay`, the batch variant of
  RESPONDENT's `response_submit` (its own validation and scoring functions, the same attribution
  rules; one bulk insert instead of thousands of transactions: the one-by-one path took ~20 s per
  tenant on SQLite; `response_submit` itself stores the bot-flagged web-link submissions and
  tests/test_demo.py checks the replayed attribution against its rules), drawn from the
  client's hidden satisfaction that the demo
  world already models (`PlannedClient.satisfaction_on`), the same latent value the staff's
  predicted scores came from (they over-estimate a little): so predicted-versus-actual pairs exist
  with a realistic positive perception gap; about 30–45% of delivered invitations are answered;
  comments come from templates matching the score, in the invitation's language;
- kiosk smileys answered on the device, a few bot-flagged web-link submissions, some tags.

Deterministic for a run date (one seeded generator per tenant, rows read in a fixed order) and
idempotent: a tenant that already has surveys is left alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import secrets
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from apps.clients.models import Client, Contact, Segment
from apps.core.dates import local_day
from apps.journeys.models import Stage, StageTouchpoint
from apps.surveys import kinds
from apps.surveys.attributes import invitation_attributes
from apps.surveys.builder import services as builder
from apps.surveys.distribution.services import invitation_language, invitation_token, token_hash
from apps.surveys.kiosks.services import kiosk_create
from apps.surveys.models import Answer, Invitation, KioskDevice, Question, Response, Survey, SurveyKind, SurveyVersion
from apps.surveys.respond.services import answers_validate, response_scores, response_submit
from apps.surveys.responses.comments import response_comment_fill
from apps.surveys.responses.services import response_tag_add
from apps.tenancy.models import Tenant
from apps.touchpoints.models import Interaction, Touchpoint

WINDOW_DAYS = 548
BATCH = 1000
Status, Skip = Invitation.Status, Invitation.SkipReason


@dataclasses.dataclass(frozen=True)
class SurveyPlan:
    name: str
    kind: str
    touchpoint: str
    trigger: str = Survey.Trigger.AFTER_INTERACTION
    started_days_ago: int = WINDOW_DAYS
    reworded_days_ago: int | None = None  # a v2 with a reworded follow-up question from then on
    recurring_months: int | None = None
    kiosk: str = ""  # the kiosk device's name
    segment: str = ""  # recurring surveys: only this segment's clients
    web_link: bool = False


PLANS = {
    "northwind": ("fr", (
        SurveyPlan("After your service desk request", SurveyKind.NPS, "Service desk e-mail", reworded_days_ago=250),
        SurveyPlan("After your deliverable walkthrough", SurveyKind.NPS, "Deliverable walkthrough call"),
        SurveyPlan("After your quarterly review", SurveyKind.NPS, "Quarterly review meeting"),
        SurveyPlan("After your planning workshop", SurveyKind.NPS, "Planning workshop"),
        SurveyPlan("After your kick-off", SurveyKind.NPS, "Kick-off meeting"),
        SurveyPlan("Support call satisfaction", SurveyKind.CSAT, "Phone helpline"),
        SurveyPlan("Help line effort", SurveyKind.CES, "Live chat", started_days_ago=400),
        SurveyPlan("Reception smileys", SurveyKind.SMILEY, "Reception smiley kiosk", trigger=Survey.Trigger.MANUAL,
                   kiosk="Brussels reception tablet"),
        SurveyPlan("Relationship survey", SurveyKind.NPS, "", trigger=Survey.Trigger.RECURRING, recurring_months=6, web_link=True,
                   segment="Mid-market"),
    )),
    "harbor": ("es", (
        SurveyPlan("After your case update", SurveyKind.NPS, "Case update e-mail", reworded_days_ago=250),
        SurveyPlan("After your hearing", SurveyKind.NPS, "Court hearing"),
        SurveyPlan("After your annual matter review", SurveyKind.NPS, "Annual matter review"),
        SurveyPlan("After your message to the team", SurveyKind.NPS, "Secure messaging app"),
        SurveyPlan("After your consultation", SurveyKind.NPS, "Initial consultation"),
        SurveyPlan("Support call satisfaction", SurveyKind.CSAT, "Phone line"),
        SurveyPlan("Help line effort", SurveyKind.CES, "Live chat", started_days_ago=400),
        SurveyPlan("Lobby smileys", SurveyKind.SMILEY, "Lobby feedback kiosk", trigger=Survey.Trigger.MANUAL,
                   kiosk="Manhattan lobby tablet"),
        SurveyPlan("Relationship survey", SurveyKind.NPS, "", trigger=Survey.Trigger.RECURRING, recurring_months=6, web_link=True,
                   segment="Corporate"),
    )),
}

# Every demo survey ends low scores on their own message (survey logic: an ending per branch).
LOW_BANDS = {SurveyKind.NPS: (0, 6), SurveyKind.ENPS: (0, 6), SurveyKind.CSAT: (1, 2), SurveyKind.CES: (1, 3), SurveyKind.SMILEY: (1, 1)}
SORRY = {
    "en": {"title": "Thank you for being frank", "thanks": "We read every answer like yours, and someone from our team may contact you."},
    "fr": {"title": "Merci de votre franchise",
           "thanks": "Nous lisons chaque réponse comme la vôtre ; une personne de notre équipe pourra vous contacter."},
    "de": {"title": "Danke für Ihre Offenheit",
           "thanks": "Wir lesen jede Antwort wie Ihre, und jemand aus unserem Team meldet sich vielleicht bei Ihnen."},
    "nl": {"title": "Bedankt voor uw eerlijkheid",
           "thanks": "We lezen elk antwoord zoals het uwe, en iemand van ons team neemt mogelijk contact met u op."},
    "es": {"title": "Gracias por su franqueza", "thanks": "Leemos cada respuesta como la suya, y alguien de nuestro equipo puede contactarle."},
}

REWORDED_REASON = {
    "en": "What is the one thing we could do better?",
    "fr": "Quelle est la chose que nous pourrions améliorer ?",
    "es": "¿Qué es lo que podríamos hacer mejor?",
}

# Comments by tone (good / middling / poor), per language.
COMMENTS = {
    "en": {
        "good": ("Quick, clear and friendly. Thank you!", "Always on top of things, I never have to chase.",
                 "Excellent advice, it saved us a lot of time.", "Very professional team, and they explain things in plain words.",
                 "Answered within the hour, brilliant.", "Great follow-up, exactly what we needed."),
        "mid": ("Fine overall, but it took a few days longer than promised.", "Good work, the invoice was harder to follow.",
                "OK, though I had to explain my question twice.", "Helpful, but the portal is still confusing.",
                "Decent service, nothing special."),
        "poor": ("I had to chase three times before anyone answered.", "Too expensive for what we got.",
                 "Nobody told us about the delay until the deadline.", "Long wait on the phone and no call back.",
                 "The explanation was full of jargon and I am still unsure what to do.", "Mistakes in the documents again."),
    },
    "fr": {
        "good": ("Rapide, clair et aimable. Merci !", "Toujours réactifs, je n'ai jamais besoin de relancer.",
                 "Excellents conseils, nous avons gagné beaucoup de temps.", "Équipe très professionnelle qui explique simplement.",
                 "Réponse dans l'heure, parfait."),
        "mid": ("Bien dans l'ensemble, mais quelques jours de retard.", "Bon travail, la facture était moins claire.",
                "Correct, mais j'ai dû expliquer ma question deux fois.", "Utile, mais le portail reste compliqué."),
        "poor": ("J'ai dû relancer trois fois avant d'avoir une réponse.", "Trop cher pour le service rendu.",
                 "Personne ne nous a prévenus du retard.", "Longue attente au téléphone et pas de rappel.",
                 "Encore des erreurs dans les documents."),
    },
    "es": {
        "good": ("Rápidos, claros y amables. ¡Gracias!", "Siempre atentos, nunca tengo que insistir.",
                 "Un asesoramiento excelente que nos ahorró mucho tiempo.", "Un equipo muy profesional que explica todo con claridad.",
                 "Me respondieron en menos de una hora."),
        "mid": ("Bien en general, pero tardaron unos días más de lo prometido.", "Buen trabajo, aunque la factura era confusa.",
                "Correcto, pero tuve que explicar mi pregunta dos veces.", "Útil, aunque el portal sigue siendo complicado."),
        "poor": ("Tuve que insistir tres veces antes de recibir respuesta.", "Demasiado caro para lo que recibimos.",
                 "Nadie nos avisó del retraso.", "Larga espera al teléfono y nadie me devolvió la llamada.",
                 "Otra vez errores en los documentos."),
    },
}
OUTCOME_EFFECT = {Interaction.Outcome.RESOLVED: 0.3, Interaction.Outcome.UNRESOLVED: -0.9, Interaction.Outcome.ESCALATED: -1.6}


@dataclasses.dataclass
class Candidate:
    """One invitation as the trigger would have made it, and what then happened to it."""

    send_after: datetime
    survey: Survey
    contact: Contact | None
    client: Client | None
    interaction: Interaction | None
    source: str
    dedupe_key: str
    status: str = Status.QUEUED
    skip_reason: str = ""
    version: SurveyVersion | None = None
    language: str = "en"
    sent_at: datetime | None = None
    opened_at: datetime | None = None
    submitted_at: datetime | None = None
    reminders_sent: int = 0
    last_reminder_at: datetime | None = None
    expires_at: datetime | None = None
    row: Invitation | None = None


def seed_surveys(*, tenant: Tenant, spec, today: date, size: int, world=None) -> dict[str, int]:
    """Seed the tenant's surveys and their history (once: a tenant with surveys is left alone).
    `world` is the tenant's demo plan (`apps.demo.world.build_world`), rebuilt when not given."""
    if Survey.objects.exists() or spec.slug not in PLANS:
        return surveys_counts()
    if world is None:
        from apps.demo.world import build_world

        world = build_world(spec, today, size)
    second, plans = PLANS[spec.slug]
    rng = random.Random(f"{spec.seed}:surveys")
    tz = ZoneInfo(tenant.time_zone)
    now = datetime.combine(today, time(7, 0), tzinfo=tz)  # the replay ends early on the run date
    profile_touchpoints = {t.name: t for t in spec.profile.touchpoints}
    planned_clients = {c.name: c for c in world.clients}
    touchpoints = {t.name: t for t in Touchpoint.objects.all()}

    made = {}
    for plan in plans:
        made[plan.name] = _make_survey(tenant, plan, second, touchpoints, now)

    candidates = []
    contacts_by_client = _contacts_by_client()
    for plan in plans:
        survey, versions = made[plan.name]
        if plan.trigger == Survey.Trigger.AFTER_INTERACTION:
            candidates += _interaction_candidates(survey, plan, now, contacts_by_client)
        elif plan.trigger == Survey.Trigger.RECURRING:
            candidates += _recurring_candidates(survey, plan, now, contacts_by_client, rng)
    candidates.sort(key=lambda c: (c.send_after, c.dedupe_key))
    replay_invitations(tenant=tenant, candidates=candidates, versions={s.pk: v for s, v in made.values()}, now=now, rng=rng,
                       answer=lambda c: _answer(c, rng, planned_clients, profile_touchpoints, now))
    _write_invitations(tenant, candidates)
    submissions = _email_submissions(candidates, rng, planned_clients, profile_touchpoints)
    for plan in plans:
        survey, versions = made[plan.name]
        if plan.kiosk:
            submissions += _kiosk_answers(tenant, survey, versions[-1], plan, touchpoints, now, rng)
    responses_replay(tenant=tenant, submissions=submissions)
    for plan in plans:
        survey, versions = made[plan.name]
        if plan.web_link:
            _bot_answers(tenant, survey, versions[-1], now, rng)
    _tags(tenant, rng)
    return surveys_counts()


def surveys_counts() -> dict[str, int]:
    return {"surveys": Survey.objects.count(), "invitations": Invitation.objects.count(),
            "responses": Response.objects.filter(is_bot=False).count()}


# --- surveys ------------------------------------------------------------------------------------

def _make_survey(tenant, plan: SurveyPlan, second: str, touchpoints, now) -> tuple[Survey, list[SurveyVersion]]:
    settings = {"trigger": plan.trigger, "web_link_enabled": plan.web_link}
    if plan.recurring_months:
        settings["recurring_months"] = plan.recurring_months
    if plan.segment:
        settings["recurring_segment"] = Segment.objects.get(name=plan.segment)
    survey = builder.survey_create(tenant=tenant, acting_user=None, name=plan.name, kind=plan.kind, languages=["en", second],
                                   default_language="en", touchpoint=touchpoints.get(plan.touchpoint), **settings)
    started = now - timedelta(days=plan.started_days_ago)
    low, high = LOW_BANDS[plan.kind]
    builder.version_endings_update(tenant=tenant, acting_user=None, survey=survey, endings=[{
        "key": "low-score", "when": {"match": "all", "rules": [{"question": kinds.KIND_QUESTION[plan.kind][1], "op": "between",
                                                                 "min": low, "max": high}]},
        "texts": {lang: SORRY[lang] for lang in ("en", second)}}])
    v1 = builder.survey_publish(tenant=tenant, acting_user=None, survey=survey)
    # History: the survey and its first version date from when the demo's story starts.
    Survey.objects.filter(pk=survey.pk).update(created_at=started - timedelta(days=3))
    SurveyVersion.objects.filter(pk=v1.pk).update(published_at=started, created_at=started - timedelta(days=3))
    versions = [SurveyVersion.objects.get(pk=v1.pk)]
    if plan.reworded_days_ago:
        draft = builder.draft_get_or_create(tenant=tenant, acting_user=None, survey=survey)
        reason = Question.objects.get(version=draft, key="reason")
        builder.question_update(tenant=tenant, acting_user=None, question=reason,
                                text={lang: REWORDED_REASON[lang] for lang in ("en", second)})
        v2 = builder.survey_publish(tenant=tenant, acting_user=None, survey=survey)
        changed = now - timedelta(days=plan.reworded_days_ago)
        SurveyVersion.objects.filter(pk=v2.pk).update(published_at=changed, created_at=changed - timedelta(days=2))
        versions.append(SurveyVersion.objects.get(pk=v2.pk))
    survey.refresh_from_db()
    return survey, versions


def _version_at(versions: list[SurveyVersion], moment: datetime) -> SurveyVersion | None:
    live = [v for v in versions if v.published_at <= moment]
    return live[-1] if live else None


# --- who is asked -------------------------------------------------------------------------------

def _contacts_by_client() -> dict[int, list[Contact]]:
    grouped: dict[int, list[Contact]] = {}
    for contact in Contact.objects.select_related("client").order_by("created_at", "pk"):
        grouped.setdefault(contact.client_id, []).append(contact)
    return grouped


def _first_reachable(contacts: list[Contact]) -> Contact | None:
    """As the after-interaction trigger picks it: the client's first contact who can be e-mailed."""
    return next((c for c in contacts if not c.opted_out and c.email), None)


def _interaction_candidates(survey: Survey, plan: SurveyPlan, now, contacts_by_client) -> list[Candidate]:
    started = now - timedelta(days=plan.started_days_ago)
    interactions = (Interaction.objects.filter(touchpoint=survey.touchpoint, occurred_at__gte=started, occurred_at__lt=now)
                    .select_related("client", "contact").order_by("occurred_at", "pk"))
    candidates = []
    for interaction in interactions:
        contact = interaction.contact or _first_reachable(contacts_by_client.get(interaction.client_id, []))
        candidates.append(Candidate(
            send_after=interaction.occurred_at + timedelta(minutes=survey.trigger_delay_minutes), survey=survey, contact=contact,
            client=contact.client if contact is not None else interaction.client, interaction=interaction,
            source=Invitation.Source.INTERACTION, dedupe_key=f"interaction:{interaction.uuid}"))
    return candidates


def _recurring_candidates(survey: Survey, plan: SurveyPlan, now, contacts_by_client, rng) -> list[Candidate]:
    """Every `recurring_months`, each contact of a client active then (recurring:<yyyy-mm>:<contact>)."""
    candidates = []
    wave = now - timedelta(days=plan.started_days_ago - 10)
    while wave < now:
        for contacts in contacts_by_client.values():
            for contact in contacts:
                client = contact.client
                if survey.recurring_segment_id and client.segment_id != survey.recurring_segment_id:
                    continue
                if client.active_from > wave.date() or (client.churned_on and client.churned_on <= wave.date()):
                    continue
                send_after = wave + timedelta(hours=rng.randint(0, 96))
                if send_after >= now:
                    continue
                candidates.append(Candidate(send_after=send_after, survey=survey, contact=contact, client=client, interaction=None,
                                            source=Invitation.Source.RECURRING,
                                            dedupe_key=f"recurring:{wave:%Y-%m}:{contact.uuid}"))
        wave += relativedelta(months=plan.recurring_months)
    return candidates


def replay_invitations(*, tenant: Tenant, candidates: list[Candidate], versions: dict, now: datetime, rng: random.Random, answer) -> None:
    """Decide each invitation as `services.distribution.skip_reason` would have on its day, in time
    order: survey not open, client churned (by then), contact opted out, no e-mail, fatigue (any
    survey sent to the contact within the tenant's fatigue period), duplicate (an open invitation of
    the same survey). Then what happened to the ones sent: bounced (1%), answered (`answer` gives
    the time, or None), opened, reminded, expired."""
    fatigue = timedelta(days=tenant.survey_fatigue_days)
    last_sent: dict[int, datetime] = {}
    open_until: dict[tuple[int, int], datetime] = {}
    for c in candidates:
        survey = c.survey
        c.version = _version_at(versions[survey.pk], c.send_after)
        c.language = invitation_language(survey, c.contact)
        c.expires_at = c.send_after + timedelta(days=survey.invitation_valid_days)
        day = c.send_after.date()
        if c.version is None:
            reason = Skip.SURVEY_CLOSED
        elif c.client is not None and c.client.churned_on is not None and c.client.churned_on <= day:
            reason = Skip.CHURNED
        elif c.contact is not None and c.contact.opted_out:
            reason = Skip.OPTED_OUT
        elif c.contact is None or not c.contact.email:
            reason = Skip.NO_EMAIL
        elif c.contact.pk in last_sent and last_sent[c.contact.pk] > c.send_after - fatigue:
            reason = Skip.FATIGUED
        elif open_until.get((survey.pk, c.contact.pk), c.send_after) > c.send_after:
            reason = Skip.DUPLICATE
        else:
            reason = ""
        if reason:
            c.status, c.skip_reason = Status.SKIPPED, reason
            continue
        if c.send_after > now:
            continue  # still queued: the sender picks it up
        c.sent_at = c.send_after + timedelta(seconds=rng.randint(20, 600))
        last_sent[c.contact.pk] = c.sent_at
        if rng.random() < 0.01:
            c.status = Status.BOUNCED
            continue
        c.status = Status.SENT
        c.submitted_at = answer(c)
        closed_at = min(c.submitted_at or c.expires_at, c.expires_at)
        open_until[(survey.pk, c.contact.pk)] = closed_at
        # Reminders go to those who have not answered, every interval, up to the survey's count.
        for number in range(1, survey.reminder_count + 1):
            at = c.sent_at + timedelta(days=survey.reminder_interval_days * number)
            if at < min(closed_at, now):
                c.reminders_sent, c.last_reminder_at = number, at
        if c.submitted_at is None:
            if rng.random() < 0.25:
                c.opened_at = c.sent_at + timedelta(hours=rng.uniform(0.2, 48))
                c.status = Status.OPENED
            if c.expires_at <= now:
                c.status = Status.EXPIRED
        else:  # what response_submit does to the invitation it answers
            c.status = Status.RESPONDED
            c.opened_at = c.submitted_at - timedelta(minutes=rng.randint(1, 8))


# --- answers ------------------------------------------------------------------------------------

def _answer(c: Candidate, rng: random.Random, planned_clients, profile_touchpoints, now) -> datetime | None:
    """Whether and when the invitation is answered: 30–45% are, sooner when the client feels strongly."""
    planned = planned_clients.get(c.client.name) if c.client is not None else None
    sat = planned.satisfaction_on(c.send_after.date()) if planned is not None else 7.0
    p = 0.37 + 0.06 * min(1.0, abs(sat - 6.5) / 3.5)
    if c.client is not None and c.client.churned_on and (c.client.churned_on - c.send_after.date()).days < 90:
        p *= 0.6  # clients on their way out go quiet
    if rng.random() >= p:
        return None
    delay = timedelta(hours=min(24 * 9, rng.lognormvariate(math.log(5), 1.2)))
    at = c.sent_at + delay
    return at if at < now and at < c.expires_at else None


def _band(kind: str, value: int) -> str:
    if kind == "nps":
        return "good" if value >= 9 else "mid" if value >= 7 else "poor"
    if kind == "csat":
        return "good" if value >= 4 else "mid" if value == 3 else "poor"
    if kind == "ces":
        return "good" if value >= 6 else "mid" if value >= 4 else "poor"
    return "good" if value == 3 else "mid" if value == 2 else "poor"


def _comment(rng: random.Random, language: str, kind: str, value: int) -> str:
    band = _band(kind, value)
    if rng.random() >= {"good": 0.45, "mid": 0.5, "poor": 0.75}[band]:
        return ""
    return rng.choice(COMMENTS.get(language, COMMENTS["en"])[band])


def _scores(c: Candidate, rng: random.Random, planned_clients, profile_touchpoints) -> dict:
    planned = planned_clients.get(c.client.name) if c.client is not None else None
    sat = planned.satisfaction_on(c.submitted_at.date()) if planned is not None else 7.0
    kind = c.survey.kind
    if c.interaction is None:  # the relationship survey: how the client feels overall
        return {"nps": int(min(10, max(0, round(sat + rng.gauss(0, 1.0)))))}
    spec = profile_touchpoints.get(c.interaction.touchpoint.name)
    mood = spec.mood if spec is not None else 0.0
    effect = OUTCOME_EFFECT.get(c.interaction.outcome, 0.0)
    if kind == SurveyKind.NPS:
        return {"nps": int(min(10, max(0, round(sat + 0.5 * mood + effect + rng.gauss(0, 1.2)))))}
    if kind == SurveyKind.CSAT:
        x = sat + mood + effect + rng.gauss(0, 1.2)
        return {"csat": 5 if x >= 8.5 else 4 if x >= 6.5 else 3 if x >= 5 else 2 if x >= 3 else 1}
    x = 5.2 + 0.3 * (sat - 7) + {Interaction.Outcome.RESOLVED: 0.6, Interaction.Outcome.UNRESOLVED: -1.5,
                                  Interaction.Outcome.ESCALATED: -2.5}.get(c.interaction.outcome, 0) + rng.gauss(0, 1.1)
    return {"ces": int(min(7, max(1, round(x))))}


@contextlib.contextmanager
def _history_timestamps(model):
    """Let rows keep the created_at/updated_at of the history being replayed (the fields stamp "now")."""
    created, updated = model._meta.get_field("created_at"), model._meta.get_field("updated_at")
    saved = created.auto_now_add, updated.auto_now
    created.auto_now_add = updated.auto_now = False
    try:
        yield
    finally:
        created.auto_now_add, updated.auto_now = saved


def _write_invitations(tenant: Tenant, candidates: list[Candidate]) -> None:
    rows = []
    clients = Client.objects.select_related("segment", "owner__user").in_bulk()
    hidden: dict[tuple, dict] = {}  # the hidden fields of each (client, contact), as invitation_create takes them
    for c in candidates:
        client = clients.get(c.client.pk) if c.client is not None else None
        pair = (client.pk if client else None, c.contact.pk if c.contact is not None else None)
        if pair not in hidden:
            hidden[pair] = invitation_attributes(client=client, contact=c.contact)
        # The trigger made each one when its interaction (or wave) happened: the send log reads created_at.
        made = c.send_after - timedelta(minutes=c.survey.trigger_delay_minutes if c.interaction else 0)
        inv = Invitation(
            tenant=tenant, survey=c.survey, version=c.version, contact=c.contact, client=c.client, interaction=c.interaction,
            source=c.source, language=c.language, email=c.contact.email if c.contact is not None else "", dedupe_key=c.dedupe_key,
            status=c.status, skip_reason=c.skip_reason, send_after=c.send_after, sent_at=c.sent_at, opened_at=c.opened_at,
            responded_at=c.submitted_at, expires_at=c.expires_at, reminders_sent=c.reminders_sent, last_reminder_at=c.last_reminder_at,
            created_at=made, updated_at=c.submitted_at or c.sent_at or made, attributes=hidden[pair],
        )
        if c.sent_at is not None:  # as the sender mints it: only the salt and the hash are kept
            inv.token_salt = secrets.token_urlsafe(32)
            inv.token_hash = token_hash(invitation_token(inv))
        c.row = inv
        rows.append(inv)
    with _history_timestamps(Invitation):
        Invitation.objects.bulk_create(rows, batch_size=BATCH)


@dataclasses.dataclass(frozen=True)
class Submission:
    """One historical answer set, as `response_submit` would be called with it."""

    version: SurveyVersion
    answers: dict
    channel: str
    language: str
    submitted_at: datetime
    invitation: Invitation | None = None
    kiosk: KioskDevice | None = None
    submission_key: str = ""
    is_bot: bool = False
    bot_reason: str = ""


def responses_replay(*, tenant: Tenant, submissions: list[Submission]) -> int:
    """The batch variant of RESPONDENT's `response_submit` for replaying history (thousands of rows
    in bulk instead of one transaction each): the same validation and cleaning (`answers_validate`),
    the same denormalised scores (its `_scores`: eNPS kept out of NPS, the first comment), the same
    attribution as of submission (the invitation's client, contact and interaction; the interaction's
    touchpoint and staff; a kiosk's touchpoint, else the survey's; the survey's stage, else the one
    stage the touchpoint is placed on; the client's segment). What it does to an invitation (responded,
    responded_at, opened_at) the replay has already written on the invitation row. Returns how many."""
    questions: dict[int, list[Question]] = {}
    for question in Question.objects.filter(version_id__in={s.version.pk for s in submissions}).order_by("order"):
        questions.setdefault(question.version_id, []).append(question)
    stages: dict[int, set[int]] = {}
    for touchpoint_id, stage_id in StageTouchpoint.objects.values_list("touchpoint_id", "stage_id"):
        stages.setdefault(touchpoint_id, set()).add(stage_id)
    segments = dict(Client.objects.values_list("pk", "segment_id"))
    journeys = dict(Stage.objects.values_list("pk", "journey_id"))
    responses, answers = [], []
    for s in submissions:
        version_questions = questions.get(s.version.pk, [])
        cleaned = answers_validate(version_questions, s.answers)
        survey = s.version.survey
        client_id = contact_id = interaction_id = staff_id = touchpoint_id = predicted = None
        if s.invitation is not None:
            client_id, contact_id, interaction_id = s.invitation.client_id, s.invitation.contact_id, s.invitation.interaction_id
            interaction = s.invitation.interaction if interaction_id else None
            if interaction is not None:
                touchpoint_id, staff_id, predicted = interaction.touchpoint_id, interaction.staff_id, interaction.predicted_score
                client_id = client_id or interaction.client_id
                contact_id = contact_id or interaction.contact_id
            if contact_id and not client_id and s.invitation.contact is not None:
                client_id = s.invitation.contact.client_id
        if s.kiosk is not None:
            touchpoint_id = s.kiosk.touchpoint_id
        touchpoint_id = touchpoint_id or survey.touchpoint_id
        placed = stages.get(touchpoint_id, set())
        stage_id = survey.stage_id or (next(iter(placed)) if len(placed) == 1 else None)
        response = Response(
            tenant=tenant, survey=survey, version=s.version, invitation=s.invitation, kiosk=s.kiosk, channel=s.channel,
            language=s.language, submitted_at=s.submitted_at, submission_key=s.submission_key[:64], is_bot=s.is_bot,
            bot_reason=s.bot_reason[:120], client_id=client_id, contact_id=contact_id, interaction_id=interaction_id,
            staff_id=staff_id, touchpoint_id=touchpoint_id, stage_id=stage_id, segment_id=segments.get(client_id),
            journey_id=journeys.get(stage_id), predicted=predicted, local_day=local_day(tenant.time_zone, s.submitted_at),
            attributes=dict(s.invitation.attributes or {}) if s.invitation is not None else {},
            **response_scores(survey, version_questions, cleaned),
        )
        if response.comment:
            response_comment_fill(response)  # what the on-commit task would store
        responses.append(response)
        answers.append([(q, cleaned[q.key]) for q in version_questions if q.key in cleaned])
    Response.objects.bulk_create(responses, batch_size=BATCH)
    if any(r.pk is None for r in responses):  # a database that does not return ids from bulk inserts
        raise RuntimeError("responses_replay needs a database that returns ids from bulk inserts (Postgres, SQLite >= 3.35).")
    Answer.objects.bulk_create([Answer(tenant=tenant, response=r, question=q, value=v) for r, pairs in zip(responses, answers, strict=True)
                                for q, v in pairs], batch_size=BATCH)
    return len(responses)


def _email_submissions(candidates: list[Candidate], rng, planned_clients, profile_touchpoints) -> list[Submission]:
    submissions = []
    for c in sorted((c for c in candidates if c.submitted_at is not None), key=lambda c: (c.submitted_at, c.dedupe_key)):
        scores = _scores(c, rng, planned_clients, profile_touchpoints)
        (key, value), = scores.items()
        submissions.append(Submission(version=c.version, answers={key: value, "reason": _comment(rng, c.language, key, value)},
                                      channel=Response.Channel.EMAIL, language=c.language, submitted_at=c.submitted_at,
                                      invitation=c.row))
    return submissions


def _kiosk_answers(tenant, survey: Survey, version: SurveyVersion, plan: SurveyPlan, touchpoints, now, rng) -> list[Submission]:
    """Visitors tapping the reception tablet on weekdays: a few smileys a day, mostly happy."""
    device, _ = kiosk_create(tenant=tenant, acting_user=None, survey=survey, name=plan.kiosk, touchpoint=touchpoints.get(plan.touchpoint))
    KioskDevice.objects.filter(pk=device.pk).update(created_at=now - timedelta(days=plan.started_days_ago + 2))
    tz = now.tzinfo
    submissions = []
    day = (now - timedelta(days=plan.started_days_ago)).date()
    while day < now.date():
        if day.weekday() < 5:
            drift = 0.08 * math.sin(day.toordinal() / 60)  # moods come and go with the seasons
            for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
                at = datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59)), tzinfo=tz)
                roll = rng.random()
                smiley = 3 if roll < 0.62 + drift else 2 if roll < 0.86 + drift / 2 else 1
                answers = {"smiley": smiley, "reason": _comment(rng, "en", "smiley", smiley) if rng.random() < 0.3 else ""}
                submissions.append(Submission(version=version, answers=answers, channel=Response.Channel.KIOSK, language="en",
                                              kiosk=device, submitted_at=at))
        day += timedelta(days=1)
    return submissions


def _bot_answers(tenant, survey: Survey, version: SurveyVersion, now, rng) -> None:
    """A few web-link submissions the spam checks caught: kept apart, never counted."""
    for n in range(8):
        at = now - timedelta(days=rng.randint(1, 120), minutes=rng.randint(0, 600))
        response_submit(tenant=tenant, version=version, answers={"nps": rng.choice((0, 10)), "reason": "Great offer, visit our site"},
                        channel=Response.Channel.WEB, language="en", submitted_at=at, submission_key=f"demo-bot-{n}",
                        is_bot=True, bot_reason="honeypot field filled")


def _tags(tenant, rng) -> None:
    """Tags a CX lead would have added: detractors with a comment to call back, praise, pricing."""
    recent = Response.objects.filter(is_bot=False).exclude(comment="").order_by("-submitted_at", "-id")[:400]
    for response in recent:
        names = []
        if response.nps is not None and response.nps <= 6 or response.csat is not None and response.csat <= 2:
            if rng.random() < 0.6:
                names.append("Call back")
        if (response.nps or 0) >= 9 and rng.random() < 0.3:
            names.append("Praise")
        if any(word in response.comment.lower() for word in ("expensive", "cher", "caro", "invoice", "factur")):
            names.append("Pricing")
        for name in names:
            response_tag_add(tenant=tenant, acting_member=None, response=response, name=name)
