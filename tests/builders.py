"""Builders shared by test modules: worlds, surveys, plans, documents, route catalogues.

Test modules import from here (and tests/factories.py), never from one another (tests/test_suite_rules.py
checks it)."""

import csv
import hashlib
import io
import os
import random
import re
import secrets
import types
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.apps import apps
from django.utils import timezone

from apps.accounts.models import MembershipInvitation
from apps.accounts.services import member_invite
from apps.clients.models import AttributeDefinition, Client, Contact, Segment
from apps.core.dates import day_start, local_day, local_today
from apps.digests.models import DigestSubscription
from apps.feedback.models import ActionPlan, ActionPlanCase, AlertRule, Announcement, Case, CaseNote, RootCause
from apps.feedback.plans.services import (
    action_plan_create,
)
from apps.integrations.models import WebhookDelivery, WebhookEndpoint
from apps.journeys.models import Journey, Stage, StageTouchpoint
from apps.messaging.models import OutboundEmail
from apps.metrics.churn.risk import churn_risk_refresh
from apps.metrics.funnel.services import funnel_rebuild
from apps.metrics.models import ClientHealth
from apps.metrics.rollups import rollups_rebuild, rollups_refresh_days
from apps.reports import pdf as pdf_module
from apps.surveys.distribution import manual
from apps.surveys.models import (
    Answer,
    Invitation,
    KioskDevice,
    Question,
    QuestionType,
    Response,
    ResponseTag,
    Survey,
    SurveyVersion,
    Tag,
)
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role, Team, TenantScopedModel
from apps.tenancy.services import audit_event_record
from apps.touchpoints.models import Interaction, Touchpoint
from tests import factories as f
from tests import factories as fx
from tests.factories import (
    ClientFactory,
    ContactFactory,
    InvitationFactory,
    JourneyFactory,
    KioskDeviceFactory,
    MembershipFactory,
    QuestionFactory,
    ResponseFactory,
    SegmentFactory,
    StageFactory,
    StageTouchpointFactory,
    SurveyFactory,
    SurveyVersionFactory,
    TouchpointFactory,
)
from tests.metrics_world import add_random_responses, make_metric_world

# --- from tests/test_surveys_distribution.py --------------------------------------------------------

LINK = re.compile(r"https?://[^\s\"<>]+/s/([A-Za-z0-9_-]+)/")


def live_survey(tenant, *, kind="nps", languages=("en",), texts=None, **fields) -> Survey:
    """A live survey with a published v1: an NPS (or CSAT) question and an optional reason, placeholder wording
    ("Score question en"). Returns the survey. For the respondent's pages, with real wording in English and
    French and custom questions, see bilingual_live_survey."""
    survey = SurveyFactory(tenant=tenant, kind=kind, languages=list(languages), default_language=languages[0], **fields)
    version = SurveyVersionFactory(survey=survey, number=1, texts=texts or {
        lang: {"title": f"How did we do? ({lang})", "intro": f"Intro {lang}", "thanks": "Thanks"} for lang in languages})
    QuestionFactory(version=version, order=1, key=kind, type=kind if kind in ("nps", "csat", "ces", "smiley") else "nps",
                    text={lang: f"Score question {lang}" for lang in languages})
    QuestionFactory(version=version, order=2, key="reason", type="text", required=False,
                    text={lang: f"Why? {lang}" for lang in languages})
    return go_live(survey, version)


def go_live(survey, version):
    """Publishes `version` and makes it the live version of `survey`."""
    with tenant_context(survey.tenant):
        version.published_at = timezone.now()
        version.save()
        survey.current_version = version
        survey.status = Survey.Status.LIVE
        survey.save()
    return survey


def send(world, survey, contacts=(), segment=None, batch=None):
    """A manual send as the page makes it (recorded, its task queued on commit), then run here at once, as the
    worker would (the queued task then finds it done). Returns the send's numbers and its invitations."""
    lead = world.carol if survey.tenant == world.a else world.charlie
    tenant = survey.tenant
    with tenant_context(tenant):
        made, replayed = manual.manual_send_start(tenant=tenant, acting_user=lead, survey=survey, batch=batch or uuid.uuid4(),
                                                  segment=segment, contacts=list(contacts),
                                                  acting_member=world.membership(lead, tenant))
    done = manual.manual_send_run(tenant=tenant, send_id=made.pk)
    with tenant_context(tenant):
        invitations = list(manual.manual_send_invitations(done).select_related("contact").order_by("contact_id"))
    return types.SimpleNamespace(send=done, batch=done.batch, replayed=replayed, queued=done.queued, skipped=done.skipped,
                                 invitations=invitations)


# --- from tests/test_surveys_respond.py -------------------------------------------------------------

NPS_TEXT = {"en": "How likely are you to recommend us to a friend or colleague?",
            "fr": "Quelle est la probabilité que vous nous recommandiez à un ami ou un collègue ?"}


REASON_TEXT = {"en": "What is the main reason for your score?", "fr": "Quelle est la raison principale de votre note ?"}


def bilingual_live_survey(tenant, *, kind="nps", languages=("en", "fr"), questions=None, **survey_kwargs):
    """A live survey with a published version worded as respondents see it (NPS_TEXT, REASON_TEXT, in English and
    French). `questions`: [(key, type, required, options)]. Returns (survey, version)."""
    questions = questions or [("nps", "nps", True, {}), ("reason", "text", False, {})]
    texts = {"en": NPS_TEXT["en"], "fr": NPS_TEXT["fr"]}
    with tenant_context(tenant):
        survey = f.SurveyFactory(tenant=tenant, kind=kind, languages=list(languages), default_language=languages[0], **survey_kwargs)
        version = f.SurveyVersionFactory(survey=survey, number=1, texts={
            lang: {"title": {"en": "How did we do?", "fr": "Comment avons-nous fait ?"}.get(lang, "How did we do?"),
                   "intro": "", "thanks": {"en": "Thank you!", "fr": "Merci !"}.get(lang, "Thank you!")} for lang in languages})
        for order, (key, qtype, required, options) in enumerate(questions, start=1):
            text = REASON_TEXT if qtype == "text" else texts if qtype == "nps" else {lang: f"Question {key}" for lang in languages}
            f.QuestionFactory(version=version, order=order, key=key, type=qtype, required=required, options=options,
                              text={lang: text.get(lang, text.get("en")) for lang in languages})
    go_live(survey, version)
    return survey, version


def invitation_with_token(survey, *, contact=None, interaction=None, **kwargs):
    """A sent invitation of `survey` and its raw link token."""
    raw = secrets.token_urlsafe(32)
    with tenant_context(survey.tenant):
        extra = {"contact": contact, "client": contact.client, "email": contact.email} if contact is not None else {}
        invitation = f.InvitationFactory(
            survey=survey, version=survey.current_version, interaction=interaction, status=Invitation.Status.SENT,
            token_hash=hashlib.sha256(raw.encode()).hexdigest(), sent_at=timezone.now(),
            expires_at=timezone.now() + timedelta(days=30), **extra, **kwargs)
    return invitation, raw


def count_responses(tenant):
    with tenant_context(tenant):
        return Response.objects.count()


def reload(obj):
    with tenant_context(obj.tenant):
        return type(obj).objects.get(pk=obj.pk)



# --- from tests/test_dashboards_admin.py ------------------------------------------------------------

S = Invitation.Status


R = Invitation.SkipReason


def _invite(survey, status=S.SENT, *, skip_reason="", days_ago=1, opened=False, responded=False):
    tenant = survey.tenant
    now = timezone.now()
    inv = InvitationFactory(survey=survey, status=status, skip_reason=skip_reason,
                            opened_at=now if opened or responded else None, responded_at=now if responded else None)
    with tenant_context(tenant):
        Invitation.objects.filter(pk=inv.pk).update(created_at=now - timedelta(days=days_ago))
    return inv


def _outbox(tenant, status, *, attempts=1, error="", invitation=None, kind="invitation"):
    with tenant_context(tenant):
        return OutboundEmail.objects.create(tenant=tenant, invitation=invitation, kind=kind, to_email="x@client.example",
                                            subject="Tell us", body_text="…", message_id=f"<{timezone.now().timestamp()}-"
                                            f"{OutboundEmail.objects.count()}@cxm>", status=status, attempts=attempts,
                                            last_error=error)


def populate_admin_world(tenant, prefix: str, *, scale: int = 1, admin_user=None):
    """Surveys of every status, invitations of every outcome (some outside the last 30 days), responses
    (one by bot, one through a kiosk), kiosks (in use, never used, revoked), outbox e-mails (failed,
    waiting for a retry, sent), opted-out contacts, member invitations (pending, expired)."""
    touchpoint = TouchpointFactory(tenant=tenant, name=f"{prefix} front desk")
    live = SurveyFactory(tenant=tenant, name=f"{prefix} onboarding", status=Survey.Status.LIVE, touchpoint=touchpoint)
    silent = SurveyFactory(tenant=tenant, name=f"{prefix} silent survey", status=Survey.Status.LIVE)
    paused = SurveyFactory(tenant=tenant, name=f"{prefix} pulse", status=Survey.Status.PAUSED)
    for i in range(scale):
        SurveyFactory(tenant=tenant, name=f"{prefix} draft {i}", status=Survey.Status.DRAFT)
        SurveyFactory(tenant=tenant, name=f"{prefix} closed {i}", status=Survey.Status.CLOSED)
        for _ in range(2):
            _invite(live, S.SENT)
        _invite(live, S.OPENED, opened=True)
        _invite(live, S.RESPONDED, responded=True)
        _invite(live, S.BOUNCED)
        _invite(live, S.FAILED)
        _invite(live, S.QUEUED, days_ago=0)
        _invite(live, S.EXPIRED, days_ago=20)
        _invite(live, S.SKIPPED, skip_reason=R.FATIGUED)
        _invite(live, S.SKIPPED, skip_reason=R.FATIGUED)
        _invite(live, S.SKIPPED, skip_reason=R.OPTED_OUT)
        _invite(paused, S.SKIPPED, skip_reason=R.SURVEY_CLOSED)
        _invite(live, S.BOUNCED, days_ago=60)  # outside the last 30 days
        _invite(live, S.SKIPPED, skip_reason=R.NO_EMAIL, days_ago=45)
        ContactFactory(client__tenant=tenant, opted_out=True)
    version = SurveyVersionFactory(survey=live)
    in_use = KioskDeviceFactory(survey=live, name=f"{prefix} lobby tablet", last_seen_at=timezone.now() - timedelta(hours=2))
    KioskDeviceFactory(survey=live, name=f"{prefix} unused tablet")
    KioskDeviceFactory(survey=paused, name=f"{prefix} old tablet", revoked_at=timezone.now() - timedelta(days=3),
                       last_seen_at=timezone.now() - timedelta(days=40))
    for i in range(scale):
        KioskDeviceFactory(survey=live, name=f"{prefix} tablet {i}", last_seen_at=timezone.now() - timedelta(days=9))
    for _ in range(scale):
        ResponseFactory(version=version, submitted_at=timezone.now() - timedelta(days=2))
        ResponseFactory(version=version, kiosk=in_use, channel="kiosk", submitted_at=timezone.now() - timedelta(days=1))
        ResponseFactory(version=version, is_bot=True, submitted_at=timezone.now() - timedelta(days=1))
        ResponseFactory(version=version, submitted_at=timezone.now() - timedelta(days=50))
        _outbox(tenant, OutboundEmail.Status.FAILED, attempts=8, error=f"550 {prefix} mailbox unavailable")
        _outbox(tenant, OutboundEmail.Status.PENDING, attempts=2)
        _outbox(tenant, OutboundEmail.Status.SENT, kind="reminder")
    with tenant_context(tenant):
        contact = Contact.objects.filter(opted_out=True).first()
        audit_event_record(tenant=tenant, acting_user=None, action="contact.opted_out", target=contact)
        for i in range(scale):
            MembershipFactory(tenant=tenant, role=Role.STAFF, is_active=False)
            member_invite(tenant=tenant, acting_user=admin_user, email=f"{prefix}-new{i}@example.com", role=Role.CX_LEAD)
            invitation, _ = member_invite(tenant=tenant, acting_user=admin_user, email=f"{prefix}-late{i}@example.com", role=Role.STAFF)
            MembershipInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
    return {"live": live, "silent": silent, "paused": paused}



# --- from tests/test_dashboards_churn.py ------------------------------------------------------------

def make_book(tenant, rng: random.Random, n: int, *, segments=(), owners=(), name_prefix="Client"):
    """n clients over the last three years, about a third churned since, most with an annual value."""
    today = local_today(tenant.time_zone)
    with tenant_context(tenant):
        clients = []
        for i in range(n):
            active_from = today - timedelta(days=rng.randint(30, 1100))
            churned = rng.random() < 0.35
            churned_on = active_from + timedelta(days=rng.randint(10, (today - active_from).days)) if churned else None
            clients.append(f.ClientFactory(
                tenant=tenant, name=f"{name_prefix} {i:03d}", active_from=active_from, churned_on=churned_on,
                status="churned" if churned else "active", annual_value=Decimal(rng.randint(1, 90) * 1000) if rng.random() < 0.8 else None,
                segment=rng.choice([None, *segments]), owner=rng.choice([None, *owners])))
        return clients



# --- from tests/test_dashboards_executive.py --------------------------------------------------------

CHROMIUM = pdf_module.chromium_path()


needs_chromium = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"{CHROMIUM} is missing (apt-get install chromium)")


def executive_world(tenant, rng, *, responses: int, invitations: int):
    w = make_metric_world(tenant, rng)
    now = datetime.now(UTC)
    add_random_responses(w, rng, responses, start=now - timedelta(days=26), days=25)
    add_random_responses(w, rng, responses // 2, start=now - timedelta(days=300), days=270)  # earlier months: the trend
    with tenant_context(tenant):
        survey = w.versions[0].survey
        for i in range(invitations):
            status = rng.choice(["sent", "opened", "responded", "bounced", "queued", "skipped"])
            inv = InvitationFactory(survey=survey, status=status, skip_reason="fatigued" if status == "skipped" else "",
                                    opened_at=timezone.now() if status in ("opened", "responded") else None,
                                    responded_at=timezone.now() if status == "responded" else None)
            Invitation.objects.filter(pk=inv.pk).update(created_at=timezone.now() - timedelta(days=i % 40))
        today = local_today(tenant.time_zone)
        for i, client in enumerate(w.clients[:3]):
            client.churned_on, client.status = today - timedelta(days=5 + 8 * i), "churned"
            client.annual_value = Decimal(1000 * (i + 1))
            client.save()
        for client in w.clients[3:]:
            client.annual_value = Decimal(500)
            client.save()
        rollups_rebuild(tenant)
        funnel_rebuild(tenant)
        churn_risk_refresh(tenant)
    return w



# --- from tests/test_dashboards_journeys.py ---------------------------------------------------------

STAGES = ("Discover", "Sign", "Onboard", "Deliver")


# Per stage: the NPS, CSAT and CES answers clients pick from (tenant A: a clear fall at "Sign").
PROFILE_A = [((9, 10), (4, 5), (6, 7)), ((0, 1, 2, 3, 6), (1, 2), (1, 2, 3)), ((7, 8, 9), (3, 4, 5), (4, 5, 6)), ((9, 10, 8), (4, 5), (5, 6, 7))]


# Touchpoints placed on each stage: (name, moment of truth); responses are recorded at the first one.
PLACEMENTS = {"Discover": [("Website", False), ("Seminar", False)], "Sign": [("Proposal call", True), ("Engagement letter", False)],
              "Onboard": [("Kick-off meeting", True), ("Client portal", False)], "Deliver": [("Help line", False), ("Monthly report", False)]}


PROFILE_B = [((3, 4), (2,), (2,)), ((10,), (5,), (7,)), ((10,), (5,), (7,)), ((2,), (1,), (1,))]


@dataclass
class JourneyWorld:
    tenant: object
    journey: object
    stages: list
    touchpoints: list
    staff: list
    segment: object
    responses: list = field(default_factory=list)


def build_journey_world(tenant, *, staff, profile=PROFILE_A, clients=14, seed=1, name="Client onboarding", status="active",
                        days_ago=24, with_responses=True) -> JourneyWorld:
    """A journey of four stages (two touchpoints each, moments of truth at "Sign" and "Onboard"), and `clients` clients
    who each answer once per stage in order (add_journey_responses)."""
    with tenant_context(tenant):
        segment = SegmentFactory(tenant=tenant, name=f"Mid-market {seed}")
        journey = JourneyFactory(tenant=tenant, name=name, status=status)
        stages = [StageFactory(journey=journey, order=i + 1, name=stage_name) for i, stage_name in enumerate(STAGES)]
        touchpoints = []
        for stage in stages:
            for order, (tp_name, mot) in enumerate(PLACEMENTS[stage.name], start=1):
                tp = TouchpointFactory(tenant=tenant, name=tp_name if seed == 1 else f"{tp_name} {seed}")
                StageTouchpointFactory(stage=stage, touchpoint=tp, order=order, moment_of_truth=mot)
                if order == 1:
                    touchpoints.append(tp)
    w = JourneyWorld(tenant=tenant, journey=journey, stages=stages, touchpoints=touchpoints, staff=list(staff), segment=segment)
    if with_responses:
        add_journey_responses(w, clients=clients, profile=profile, seed=seed, days_ago=days_ago)
    return w


def add_journey_responses(w: JourneyWorld, *, clients: int, profile=PROFILE_A, seed=1, days_ago=24) -> None:
    """New clients (every other one in the segment) who each answer once per stage, in stage order, five
    days apart (so every consecutive pair is a stage transition), each answer with the staff member's
    predicted score (the first staff member over-estimates by 3, the others are close). Rollups are
    rebuilt from the rows, as the workers would."""
    rng = random.Random(seed)
    tenant = w.tenant
    with tenant_context(tenant):
        version = SurveyVersionFactory(survey=SurveyFactory(tenant=tenant, kind="custom"))
        people = [ClientFactory(tenant=tenant, segment=w.segment if i % 2 else None) for i in range(clients)]
        now = timezone.now()
        rows = []
        for ci, client in enumerate(people):
            member = w.staff[ci % len(w.staff)]
            for si, stage in enumerate(w.stages):
                nps_choices, csat_choices, ces_choices = profile[si]
                nps = rng.choice(nps_choices)
                predicted = min(10, nps + 3) if member == w.staff[0] else max(0, min(10, nps + rng.choice((-1, 0, 1))))
                moment = now - timedelta(days=days_ago - si * 5, hours=ci)
                rows.append(Response(
                    tenant=tenant, version=version, survey=version.survey, channel="email" if ci % 2 else "web",
                    submitted_at=moment, local_day=local_day(tenant.time_zone, moment), client=client, stage=stage,
                    journey=w.journey, touchpoint=w.touchpoints[si], staff=member, segment=client.segment, nps=nps,
                    csat=rng.choice(csat_choices), ces=rng.choice(ces_choices), predicted=predicted))
        w.responses += Response.objects.bulk_create(rows)
    rollups_rebuild(tenant)


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))



# --- from tests/test_dashboards_overview.py ---------------------------------------------------------

COMMENTS = [
    "The onboarding call was clear and friendly, thank you.",
    "Invoices are hard to read and arrived late twice.",
    "Great follow-up from the team after the review.",
    "Too many steps to reset my password.",
    "Quick answer, problem solved on the first call.",
    "The quarterly report is useful but far too long.",
    "I had to explain my issue three times.",
    "Lovely people, a bit slow on e-mail.",
]


NAMES = {
    "touchpoints": ["Onboarding call", "Quarterly review", "Billing support"],
    "stages": ["Sign-up", "Delivery", "Renewal"],
    "segments": ["Enterprise", "Small business"],
    "clients": ["Northwind Traders", "Contoso Ltd", "Fabrikam", "Tailspin Toys", "Wide World Importers", "Adventure Works",
                "Litware", "Proseware"],
    "surveys": ["After-call NPS", "Support CSAT", "Effort check", "Front desk kiosk", "Team pulse", "Annual review"],
}


def overview_world(tenant, rng: random.Random, n: int, *, start: datetime | None = None, days: int = 20, prefix: str = "",
                   marker: str = "", comment_share: float = 0.3, invitations: int = 30):
    """A metric world (tests/metrics_world.py) with readable names (`prefix` keeps a tenant's apart),
    `n` responses of which about `comment_share` carry written answers (Answer rows of a text question,
    `marker` in each text), `invitations` invitations in every status, and the rollups and funnel built."""
    w = make_metric_world(tenant, rng)
    with tenant_context(tenant):
        for kind, objects in (("touchpoints", w.touchpoints), ("stages", w.stages), ("segments", w.segments),
                              ("clients", w.clients), ("surveys", [v.survey for v in w.versions])):
            for obj, name in zip(objects, NAMES[kind], strict=False):
                obj.name = f"{prefix}{name}"
                obj.save(update_fields=["name"])
        texts = {v.pk: QuestionFactory(version=v, type=QuestionType.TEXT, key="reason", order=50) for v in w.versions}
    responses = add_random_responses(w, rng, n, start=start, days=days)
    with tenant_context(tenant):
        answers = []
        for response in responses:
            if rng.random() < comment_share:
                text = f"{marker}{rng.choice(COMMENTS)}"
                Response.objects.filter(pk=response.pk).update(comment=text)
                answers.append(Answer(tenant=tenant, response=response, question=texts[response.version_id], value=text))
        Answer.objects.bulk_create(answers)
        statuses = list(Invitation.Status)
        first_day = (start or datetime(2026, 3, 20, tzinfo=UTC))
        for _ in range(invitations):
            survey = rng.choice(w.versions[:4]).survey
            status = rng.choice(statuses)
            invitation = InvitationFactory(survey=survey, status=status, skip_reason="fatigued" if status == "skipped" else "",
                                           opened_at=first_day if status in ("opened", "responded") else None,
                                           responded_at=first_day if status == "responded" else None)
            Invitation.objects.filter(pk=invitation.pk).update(created_at=first_day + timedelta(hours=rng.randint(0, days * 24 - 1)))
    rollups_rebuild(tenant)
    funnel_rebuild(tenant)
    return w



# --- from tests/test_feedback_recovery.py -----------------------------------------------------------

class Planter:
    """Cases with an original response (optional) and a recovery invitation answered (optional)."""

    def __init__(self, tenant):
        self.tenant = tenant
        with tenant_context(tenant):
            self.survey = fx.SurveyFactory(tenant=tenant)
            self.version = fx.SurveyVersionFactory(survey=self.survey)
            self.original_version = fx.SurveyVersionFactory(survey=fx.SurveyFactory(tenant=tenant))

    def case(self, metric, score, recovery=None, *, root_cause=None, assignee=None, touchpoint=None, days_ago=3,
             recovery_metric=None, bot=False, answered=True, original=True, channel="web", status="resolved"):
        now = timezone.now()
        with tenant_context(self.tenant):
            contact = fx.ContactFactory(client=fx.ClientFactory(tenant=self.tenant))
            response = None
            if original:
                response = fx.ResponseFactory(version=self.original_version, client=contact.client, contact=contact,
                                              touchpoint=touchpoint, channel=channel,
                                              submitted_at=now - timedelta(days=days_ago + 5), **{"nps": None, metric: score})
            invitation = fx.InvitationFactory(survey=self.survey, contact=contact, source="recovery")
            if answered:
                fx.ResponseFactory(version=self.version, invitation=invitation, contact=contact, client=contact.client,
                                   submitted_at=now - timedelta(days=days_ago), is_bot=bot, channel="email",
                                   **{"nps": None, (recovery_metric or metric): recovery})
            return fx.CaseFactory(tenant=self.tenant, source="response" if original else "client", client=contact.client,
                                  contact=contact, response=response, trigger_metric=metric, trigger_score=score,
                                  root_cause=root_cause, assignee=assignee, recovery_invitation=invitation, status=status,
                                  resolved_at=now - timedelta(days=days_ago + 1) if status == "resolved" else None,
                                  action_taken="Called back" if status == "resolved" else "")


@pytest.fixture
def planted(world):
    a = world.a
    p = Planter(a)
    bob, dana = world.membership(world.bob, a), world.membership(world.dana, a)
    with tenant_context(a):
        slow, invoice = fx.RootCauseFactory(tenant=a, name="Slow reply"), fx.RootCauseFactory(tenant=a, name="Wrong invoice")
        t1, t2 = fx.TouchpointFactory(tenant=a, name="Phone"), fx.TouchpointFactory(tenant=a, name="Portal")
    # Counted (n = 5): deltas +6, +1, +8, +3, 0; recovered: 1, 3, 4.
    p.case("nps", 3, 9, root_cause=slow, assignee=bob, touchpoint=t1)
    p.case("nps", 5, 6, root_cause=slow, assignee=bob, touchpoint=t1)
    p.case("nps", 0, 8, root_cause=invoice, assignee=dana, touchpoint=t2)
    p.case("csat", 1, 4, root_cause=invoice, assignee=dana, touchpoint=t2)
    p.case("ces", 2, 2, root_cause=slow, assignee=None, original=False, status="in_progress")
    # Not counted.
    p.case("nps", 8, 10, root_cause=slow, assignee=bob, touchpoint=t1)  # not a negative trigger
    p.case("nps", 4, 5, root_cause=slow, assignee=bob, touchpoint=t1, recovery_metric="csat")  # answered another metric
    p.case("nps", 2, 9, root_cause=slow, assignee=bob, touchpoint=t1, days_ago=70)  # answered before the period
    p.case("nps", 2, 9, root_cause=slow, assignee=bob, touchpoint=t1, bot=True)  # bot-flagged answer
    p.case("nps", 2, None, root_cause=slow, assignee=bob, touchpoint=t1, answered=False)  # not answered yet
    # Another tenant: recovered, would change every number.
    pb = Planter(world.b)
    charlie = world.membership(world.charlie, world.b)
    with tenant_context(world.b):
        b_cause = fx.RootCauseFactory(tenant=world.b, name="Slow reply")
    for _ in range(3):
        pb.case("nps", 1, 10, root_cause=b_cause, assignee=charlie)
    return {"slow": slow, "invoice": invoice, "t1": t1, "t2": t2, "bob": bob, "dana": dana}



# --- from tests/test_digests.py ---------------------------------------------------------------------

DIGEST_NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # Monday 07:30 in Brussels (Acme), 01:30 in New York (Globex)


def nps_scores(promoters: int, passives: int, detractors: int) -> list[int]:
    return [10] * promoters + [8] * passives + [3] * detractors


def plant_daily_scores(tenant, day, *, scores_nps=(), scores_csat=(), touchpoint=None, stage=None, staff=None):
    """One response per score on tenant-local `day` (attributed as given), then that day's rollups."""
    with tenant_context(tenant):
        version = f.SurveyVersionFactory(survey=f.SurveyFactory(tenant=tenant, kind="custom"))
        when = day_start(tenant.time_zone, day) + timedelta(hours=12)
        common = dict(tenant=tenant, version=version, survey=version.survey, channel="web", submitted_at=when, local_day=day,
                      touchpoint=touchpoint, stage=stage, journey=stage.journey if stage else None, staff=staff)
        rows = [Response(**common, nps=s) for s in scores_nps] + [Response(**common, csat=s) for s in scores_csat]
        Response.objects.bulk_create(rows)
    rollups_refresh_days(tenant, [day])


def high_risk(client, score=80, text="Detractor at the last answer"):
    with tenant_context(client.tenant):
        return ClientHealth.objects.create(tenant=client.tenant, client=client, score=score, band="high", method="rules",
                                           reasons=[{"code": "nps", "text": text, "weight": 40}], features={}, computed_at=DIGEST_NOW)



# --- from tests/test_feedback_announcements.py ------------------------------------------------------

def _response(tenant, contact, *, days_ago=10, version=None, **kw):
    version = version or fx.SurveyVersionFactory(survey=fx.SurveyFactory(tenant=tenant))
    values = {"nps": None, **kw}
    return fx.ResponseFactory(version=version, contact=contact, client=contact.client if contact else None,
                              submitted_at=timezone.now() - timedelta(days=days_ago), **values)


@pytest.fixture
def loop(world):
    """Tenant A: a resolved case from a detractor's answer; a plan on NPS at touchpoint "Phone" with two
    linked cases and negative answers in and out of its scope and baseline. Tenant B: its own detractor."""
    a = world.a
    alice = world.membership(world.alice, a)
    with tenant_context(a):
        phone, portal = fx.TouchpointFactory(tenant=a, name="Phone"), fx.TouchpointFactory(tenant=a, name="Portal")
        cause = fx.RootCauseFactory(tenant=a, name="Slow reply")
        acme = fx.ClientFactory(tenant=a, name="Client Co")
        ann = fx.ContactFactory(client=acme, name="Ann", email="ann@client.example")
        response = _response(a, ann, nps=3, comment="Nobody called me back for a week.", touchpoint=phone)
        case = fx.CaseFactory(tenant=a, source="response", client=acme, contact=ann, response=response, trigger_metric="nps",
                              trigger_score=3, root_cause=cause, action_taken="We now call back within one working day.",
                              status="resolved", resolved_at=timezone.now())
        today = timezone.localdate()
        plan = fx.ActionPlanFactory(tenant=a, title="Faster call-backs", metric="nps", touchpoint=phone,
                                    baseline_first=today - timedelta(days=60), baseline_last=today - timedelta(days=1))
        version = fx.SurveyVersionFactory(survey=fx.SurveyFactory(tenant=a))
        people = {name: fx.ContactFactory(client=fx.ClientFactory(tenant=a), name=name.title(), email=f"{name}@x.example")
                  for name in ("neg", "neg2", "pos", "portal", "old", "bot", "linked", "optout", "churn")}
        Contact.objects.filter(pk=people["optout"].pk).update(opted_out=True)
        churned = people["churn"].client
        churned.status, churned.churned_on = "churned", today - timedelta(days=3)
        churned.save()
        no_mail = fx.ContactFactory(client=fx.ClientFactory(tenant=a), name="Nomail", email="")
        _response(a, people["neg"], version=version, nps=2, touchpoint=phone)
        _response(a, people["neg"], version=version, nps=5, touchpoint=phone)  # twice: one recipient
        _response(a, people["neg2"], version=version, nps=6, touchpoint=phone, days_ago=59)
        _response(a, people["pos"], version=version, nps=7, touchpoint=phone)  # not negative
        _response(a, people["portal"], version=version, nps=1, touchpoint=portal)  # out of scope
        _response(a, people["old"], version=version, nps=1, touchpoint=phone, days_ago=90)  # before the baseline
        _response(a, people["bot"], version=version, nps=1, touchpoint=phone, is_bot=True)  # bot
        _response(a, people["optout"], version=version, nps=0, touchpoint=phone)
        _response(a, people["churn"], version=version, nps=0, touchpoint=phone)
        _response(a, no_mail, version=version, nps=0, touchpoint=phone)
        _response(a, None, version=version, nps=0, touchpoint=phone)  # anonymous
        linked_case = fx.CaseFactory(tenant=a, client=people["linked"].client, contact=people["linked"], action_taken="Hired two agents.",
                                     root_cause=cause, status="resolved", resolved_at=timezone.now())
        ActionPlanCase.objects.create(tenant=a, plan=plan, case=linked_case)
        ActionPlanCase.objects.create(tenant=a, plan=plan, case=case)  # Ann: also linked (and her answer is at "Phone")
    with tenant_context(world.b):
        b_contact = fx.ContactFactory(client=fx.ClientFactory(tenant=world.b), email="b@globex.example")
        _response(world.b, b_contact, nps=0)
    return {"case": case, "plan": plan, "ann": ann, "people": people, "no_mail": no_mail, "alice": alice, "phone": phone,
            "b_contact": b_contact}


OPTOUT_LINK = re.compile(r"https?://[^/\s\"]+(/u/([^/\s\"]+)/)")


def optout_path(tenant, contact) -> str:
    """The opt-out link's path in the "you said, we did" e-mail written to `contact`."""
    with tenant_context(tenant):
        email = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.ANNOUNCEMENT, to_email=contact.email).latest("created_at")
    return OPTOUT_LINK.search(email.body_text).group(1)



# --- from tests/test_feedback_audit.py --------------------------------------------------------------

AUDIT_END = date(2026, 6, 30)


PREVIOUS_DAY = date(2025, 10, 15)  # inside 1 Jul – 31 Dec 2025


CURRENT_DAY = date(2026, 3, 16)  # inside 1 Jan – 30 Jun 2026


AUDIT_STAGES = ("Discover", "Onboard", "Billing")


# Per stage and period: (nps answers, csat answers). Onboard's NPS rises a lot, Billing's CSAT falls a lot,
# Discover stays as it was.
PLAN = {
    ("Discover", "previous"): ([9, 10, 7, 6] * 10, [4, 5, 3, 2] * 10),
    ("Discover", "current"): ([10, 9, 6, 7] * 10, [5, 4, 2, 3] * 10),
    ("Onboard", "previous"): ([2, 3, 6, 9] * 10, [3, 4] * 20),
    ("Onboard", "current"): ([10, 9, 9, 10] * 10, [4, 3] * 20),
    ("Billing", "previous"): ([8, 9] * 20, [5, 5, 4, 2] * 10),
    ("Billing", "current"): ([9, 8] * 20, [1, 2, 2, 4] * 10),
}


def audit_journey_world(tenant, *, name="Client onboarding", responses=True):
    with tenant_context(tenant):
        journey = JourneyFactory(tenant=tenant, name=name)
        stages = [StageFactory(journey=journey, order=i + 1, name=n) for i, n in enumerate(AUDIT_STAGES)]
        if not responses:
            return journey, stages
        version = SurveyVersionFactory(survey=SurveyFactory(tenant=tenant, kind="custom"))
        clients = [ClientFactory(tenant=tenant) for _ in range(40)]
        rows = []
        for period, day in (("previous", PREVIOUS_DAY), ("current", CURRENT_DAY)):
            for si, stage in enumerate(stages):
                nps, csat = PLAN[(stage.name, period)]
                for i, client in enumerate(clients):
                    moment = day_start(tenant.time_zone, day + timedelta(days=si)) + timedelta(hours=9, minutes=i)
                    rows.append(Response(tenant=tenant, version=version, survey=version.survey, channel="web", submitted_at=moment,
                                         local_day=day + timedelta(days=si), client=client, stage=stage, journey=journey,
                                         nps=nps[i], csat=csat[i]))
        Response.objects.bulk_create(rows)
    rollups_rebuild(tenant)
    return journey, stages



# --- from tests/test_feedback_plans.py --------------------------------------------------------------

def plant_touchpoint_scores(tenant, touchpoint, day, *, csat=(), nps=(), ces=(), segment=None, rebuild=True):
    """Responses at `touchpoint` on tenant-local `day`, one per score given (csat, nps, ces in parallel lists)."""
    with tenant_context(tenant):
        version = SurveyVersionFactory(survey=SurveyFactory(tenant=tenant, kind="custom"))
        moment = day_start(tenant.time_zone, day) + timedelta(hours=12)
        count = max(len(csat), len(nps), len(ces))
        rows = [Response(tenant=tenant, version=version, survey=version.survey, channel="web", submitted_at=moment + timedelta(minutes=i),
                         local_day=day, touchpoint=touchpoint, segment=segment,
                         csat=csat[i] if i < len(csat) else None, nps=nps[i] if i < len(nps) else None,
                         ces=ces[i] if i < len(ces) else None) for i in range(count)]
        Response.objects.bulk_create(rows)
    if rebuild:
        rollups_rebuild(tenant)


def carol_member(world):
    return world.membership(world.carol, world.a)


def action_plan_made(world, tp, day, **kwargs):
    """A plan made through the service; `today=` in kwargs backdates its start (the service's clock)."""
    with tenant_context(world.a):
        args = dict(tenant=world.a, acting_member=carol_member(world), title="Faster answers", metric="csat", target_value=70,
                    due_on=day + timedelta(days=60), touchpoint=tp)
        return action_plan_create(**(args | kwargs))



# --- from tests/test_imports.py ---------------------------------------------------------------------

HEADER = ["email", "contact_name", "phone", "client_name", "segment", "tier", "owner_email"]


def xlsx_bytes(rows, header=HEADER) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rezip(content: bytes, replace: dict | None = None, add: dict | None = None) -> bytes:
    """The workbook `content` with parts replaced or added (name → bytes), deflated as Excel does."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            target.writestr(info.filename, (replace or {}).get(info.filename, source.read(info.filename)))
        for name, data in (add or {}).items():
            target.writestr(name, data)
    return out.getvalue()


SHEET_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def sheet_xml(rows: str, dimension: str = "A1:B2") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet {SHEET_NS}><dimension ref="{dimension}"/>'
            f"<sheetData>{rows}</sheetData></worksheet>").encode()


def inline_row(number: int, *cells: tuple[str, str]) -> str:
    return f'<row r="{number}">' + "".join(f'<c r="{ref}{number}" t="inlineStr"><is><t>{text}</t></is></c>' for ref, text in cells) + "</row>"


HEADER_ROW = inline_row(1, ("A", "email"), ("B", "contact_name"), ("C", "client_name"))


BASE_XLSX = None  # made once, on first use


def base_xlsx() -> bytes:
    global BASE_XLSX
    if BASE_XLSX is None:
        BASE_XLSX = xlsx_bytes([["base@example.com", "Base", "", "Acme", "", "", ""]])
    return BASE_XLSX


def with_shared_strings(xml: bytes, rows: str = "") -> bytes:
    """The base workbook with a shared-strings part the reader loads (declared in the manifest and the
    workbook's relationships), its first sheet's cells pointing into it."""
    source = zipfile.ZipFile(io.BytesIO(base_xlsx()))
    types = source.read("[Content_Types].xml").replace(b"</Types>", (
        b'<Override PartName="/xl/sharedStrings.xml" '
        b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'))
    rels = source.read("xl/_rels/workbook.xml.rels").replace(b"</Relationships>", (
        b'<Relationship Id="rIdStrings" Target="sharedStrings.xml" '
        b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>'))
    rows = rows or (HEADER_ROW + '<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="inlineStr"><is><t>Zero</t></is></c>'
                      '<c r="C2" t="inlineStr"><is><t>Acme</t></is></c></row>')
    return rezip(base_xlsx(), replace={"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels,
                                       "xl/worksheets/sheet1.xml": sheet_xml(rows)}, add={"xl/sharedStrings.xml": xml})


def hostile_workbook(kind: str) -> bytes:
    if kind == "zip bomb":  # 60 MB of one byte in a part: about 60 KB packed
        return rezip(base_xlsx(), add={"xl/media/padding.bin": b"\0" * (60 * 1024 * 1024)})
    if kind == "shared strings bomb":  # four million texts packed in about 70 KB
        strings = b"<si><t>x</t></si>" * 4_000_000
        return with_shared_strings(f'<sst {SHEET_NS} count="4000000" uniqueCount="4000000">'.encode() + strings + b"</sst>")
    if kind == "entities":
        doctype = b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        return with_shared_strings(doctype + f"<sst {SHEET_NS}><si><t>&b;</t></si></sst>".encode())
    if kind == "too many sheets":
        workbook = openpyxl.Workbook()
        workbook.active.append(HEADER)
        for n in range(60):
            workbook.create_sheet(f"S{n}")
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()
    if kind == "far-right cells":  # every row reaches column XFD: 16,384 cells a row to the reader
        rows = HEADER_ROW + "".join(inline_row(n, ("A", f"r{n}@example.com"), ("XFD", "x")) for n in range(2, 400))
        return rezip(base_xlsx(), replace={"xl/worksheets/sheet1.xml": sheet_xml(rows, "A1:XFD400")})
    raise ValueError(kind)



# --- from tests/test_journeys.py --------------------------------------------------------------------

def make_journey(tenant, name="Onboarding", stages=("Sign", "Welcome", "First value"), per_stage=2):
    journey = JourneyFactory(tenant=tenant, name=name)
    for order, stage_name in enumerate(stages, start=1):
        stage = StageFactory(journey=journey, name=stage_name, order=order)
        for p in range(1, per_stage + 1):
            StageTouchpointFactory(stage=stage, order=p, touchpoint=TouchpointFactory(tenant=tenant, name=f"{stage_name} tp{p}"))
    return journey


def layout(journey):
    """[(stage name, order, [(touchpoint name, order), …]), …] as stored."""
    with tenant_context(journey.tenant):
        return [(s.name, s.order, [(p.touchpoint.name, p.order) for p in s.placements.select_related("touchpoint").order_by("order")])
                for s in Stage.objects.filter(journey=journey).order_by("order")]


def stage_names(journey):
    return [name for name, _, _ in layout(journey)]


def assert_contiguous(journey):
    rows = layout(journey)
    assert [order for _, order, _ in rows] == list(range(1, len(rows) + 1)), rows
    for _, _, placements in rows:
        assert [order for _, order in placements] == list(range(1, len(placements) + 1)), rows


def stage(journey, name):
    with tenant_context(journey.tenant):
        return Stage.objects.select_related("journey").get(journey=journey, name=name)


def placement(journey, touchpoint_name):
    with tenant_context(journey.tenant):
        return StageTouchpoint.objects.select_related("stage__journey", "touchpoint").get(
            stage__journey=journey, touchpoint__name=touchpoint_name)


def snapshot(tenant):
    with tenant_context(tenant):
        return (sorted(Stage.objects.values_list("uuid", "order", "name")),
                sorted(StageTouchpoint.objects.values_list("uuid", "stage_id", "order")))



# --- from tests/test_url_isolation.py (the routes themselves are in tests/routes.py) ------------------

def _domain_factories():
    from apps.clients.models import Contact
    from apps.journeys.models import Stage, StageTouchpoint
    from apps.surveys.models import Invitation, Response, Survey, Theme, ThemeSuggestion
    from apps.touchpoints.models import Interaction
    from tests import factories as f

    return {Segment: f.SegmentFactory, Client: f.ClientFactory, Contact: f.ContactFactory, Touchpoint: f.TouchpointFactory,
            Journey: f.JourneyFactory, Stage: f.StageFactory, StageTouchpoint: f.StageTouchpointFactory,
            Interaction: f.InteractionFactory, Survey: f.SurveyFactory, SurveyVersion: f.SurveyVersionFactory,
            Question: f.QuestionFactory, Invitation: f.InvitationFactory, Response: f.ResponseFactory,
            KioskDevice: f.KioskDeviceFactory, Tag: f.TagFactory, ResponseTag: f.ResponseTagFactory,
            Theme: f.ThemeFactory, ThemeSuggestion: f.ThemeSuggestionFactory,
            AttributeDefinition: f.AttributeDefinitionFactory, **_loop_factories(f)}


def _loop_factories(f):
    """Issue 8's models (closing the loop)."""
    return {RootCause: f.RootCauseFactory, AlertRule: f.AlertRuleFactory, Case: f.CaseFactory, CaseNote: f.CaseNoteFactory,
            ActionPlan: f.ActionPlanFactory, Announcement: f.AnnouncementFactory, WebhookEndpoint: f.WebhookEndpointFactory,
            WebhookDelivery: f.WebhookDeliveryFactory, DigestSubscription: f.DigestSubscriptionFactory}


DOMAIN_FACTORIES = _domain_factories()


def domain_object(world, tenant, model):
    """A fresh row of a domain model in `tenant`, with its parents in the same tenant."""

    factory = DOMAIN_FACTORIES[model]
    if model is Interaction:
        staff = world.membership(world.charlie if tenant == world.b else world.bob, tenant)
        return factory(staff=staff)
    parent_field = {"Contact": "client", "Stage": "journey", "StageTouchpoint": "stage", "SurveyVersion": "survey",
                    "Question": "version", "Invitation": "survey", "Response": "version", "KioskDevice": "survey",
                    "ResponseTag": "response", "CaseNote": "case", "Announcement": "case", "WebhookDelivery": "endpoint"}.get(model.__name__)
    if parent_field is None:
        return factory(tenant=tenant)
    parent_model = model._meta.get_field(parent_field).related_model
    return factory(**{parent_field: domain_object(world, tenant, parent_model)})



# --- from tests/test_tenancy_coverage.py ------------------------------------------------------------

def tenant_models():
    return [m for m in apps.get_models() if issubclass(m, TenantScopedModel)]



# --- from tests/test_surveys_responses.py -----------------------------------------------------------

RESPONSES_NOW = timezone.now()


def publish(version):
    with tenant_context(version.tenant):
        version.published_at = timezone.now()
        version.save()
    return version


def nps_version(tenant, survey, number=1, reason_text=None):
    version = f.SurveyVersionFactory(survey=survey, number=number)
    f.QuestionFactory(version=version, order=1, key="nps", type="nps",
                      text={"en": "How likely are you to recommend us?", "fr": "Quelle est la probabilité que vous nous recommandiez ?"})
    f.QuestionFactory(version=version, order=2, key="reason", type="text", required=False,
                      text=reason_text or {"en": "What is the main reason for your score?", "fr": "Quelle est la raison principale de votre note ?"})
    return publish(version)


def answer(response, key, value):
    with tenant_context(response.tenant):
        question = response.version.questions.get(key=key)
        return Answer.objects.create(tenant=response.tenant, response=response, question=question, value=value)


def responses_world(world):
    """Acme: an NPS survey (en + fr) at the help desk, a CSAT survey; responses of each band; Globex: one of its own."""
    a, b = world.a, world.b
    bob = world.membership(world.bob, a)
    ns = types.SimpleNamespace()
    ns.desk = f.TouchpointFactory(tenant=a, name="Help desk", channel="phone")
    ns.visit = f.TouchpointFactory(tenant=a, name="Site visit", channel="in_person")
    ns.stage = f.StageFactory(journey=f.JourneyFactory(tenant=a, name="Onboarding"), name="Kick-off")
    ns.cedar = f.ClientFactory(tenant=a, name="Cedar Dental")
    ns.jordan = f.ContactFactory(client=ns.cedar, name="Jordan Lee", email="jordan@cedar.example")
    ns.nps = f.SurveyFactory(tenant=a, name="After the call", kind="nps", languages=["en", "fr"], touchpoint=ns.desk)
    ns.nps_v1 = nps_version(a, ns.nps)
    ns.csat = f.SurveyFactory(tenant=a, name="Support CSAT", kind="csat")
    ns.csat_v1 = f.SurveyVersionFactory(survey=ns.csat, number=1)
    f.QuestionFactory(version=ns.csat_v1, order=1, key="csat", type="csat", text={"en": "How satisfied were you?"})
    publish(ns.csat_v1)
    ns.interaction = f.InteractionFactory(staff=bob, client=ns.cedar, contact=ns.jordan, touchpoint=ns.desk, predicted_score=9,
                                          summary="Reset the portal password", outcome="resolved")
    ns.invitation = f.InvitationFactory(survey=ns.nps, version=ns.nps_v1, contact=ns.jordan, interaction=ns.interaction,
                                        status="responded", sent_at=RESPONSES_NOW - timedelta(days=3),
                                        opened_at=RESPONSES_NOW - timedelta(days=2))
    ns.promoter = f.ResponseFactory(version=ns.nps_v1, nps=10, comment="Quick and friendly", channel="email", language="fr",
                                    client=ns.cedar, contact=ns.jordan, touchpoint=ns.desk, stage=ns.stage, staff=bob,
                                    interaction=ns.interaction, invitation=ns.invitation, submitted_at=RESPONSES_NOW - timedelta(days=1))
    answer(ns.promoter, "nps", 10)
    answer(ns.promoter, "reason", "Quick and friendly")
    ns.detractor = f.ResponseFactory(version=ns.nps_v1, nps=3, comment="=HYPERLINK(\"http://evil.example\")", channel="web",
                                     touchpoint=ns.visit, submitted_at=RESPONSES_NOW - timedelta(days=40))
    answer(ns.detractor, "nps", 3)
    answer(ns.detractor, "reason", "=HYPERLINK(\"http://evil.example\")")
    ns.passive = f.ResponseFactory(version=ns.nps_v1, nps=8, channel="kiosk", language="en", submitted_at=RESPONSES_NOW - timedelta(days=5))
    answer(ns.passive, "nps", 8)
    ns.unhappy = f.ResponseFactory(version=ns.csat_v1, nps=None, csat=2, channel="email", submitted_at=RESPONSES_NOW - timedelta(days=2))
    answer(ns.unhappy, "csat", 2)
    ns.bot = f.ResponseFactory(version=ns.nps_v1, nps=0, comment="buy cheap pills", is_bot=True, bot_reason="honeypot filled",
                               submitted_at=RESPONSES_NOW - timedelta(hours=3))
    # Globex, with the same names.
    ns.b_touchpoint = f.TouchpointFactory(tenant=b, name="Help desk")
    ns.b_survey = f.SurveyFactory(tenant=b, name="After the call")
    ns.b_version = nps_version(b, ns.b_survey)
    ns.b_response = f.ResponseFactory(version=ns.b_version, nps=6, comment="Globex secret comment", touchpoint=ns.b_touchpoint)
    ns.b_tag = f.TagFactory(tenant=b, name="Globex tag")
    ns.b_stage = f.StageFactory(journey=f.JourneyFactory(tenant=b))
    return ns


# --- from tests/test_feedback_pages.py ------------------------------------------------------------

@pytest.fixture
def desk(world):
    """A: bob (staff, team Support) has an overdue case and a due one; dana (staff) has one; one case
    waits unassigned in Support's queue; two root causes (one archived). B: a case and a cause with
    colliding names."""
    rows = {}
    now = timezone.now()
    with tenant_context(world.a):
        support = Team.objects.get(name="Support")
        bob = world.membership(world.bob, world.a)
        bob.team = support
        bob.save(update_fields=["team"])
        dana = world.membership(world.dana, world.a)
        client = f.ClientFactory(tenant=world.a, name="Northwind")
        contact = f.ContactFactory(client=client, name="Ana Lima", email="ana@northwind.example")
        survey = live_survey(world.a, name="Recovery check")
        rule = f.AlertRuleFactory(tenant=world.a, name="Detractors", assignee=bob, recovery_survey=survey)
        rows["a"] = {
            "bob": bob, "dana": dana, "client": client, "contact": contact, "rule": rule, "survey": survey, "team": support,
            "overdue": f.CaseFactory(tenant=world.a, client=client, contact=contact, title="Late invoice", assignee=bob, rule=rule,
                                     opened_at=now - timedelta(days=3), due_at=now - timedelta(days=2)),
            "due": f.CaseFactory(tenant=world.a, client=client, title="Rude call", assignee=bob,
                                 opened_at=now, due_at=now + timedelta(hours=3, minutes=5)),
            "danas": f.CaseFactory(tenant=world.a, client=client, title="Dana's case", assignee=dana),
            "queue": f.CaseFactory(tenant=world.a, client=client, title="Queue case", team=support),
            "cause": f.RootCauseFactory(tenant=world.a, name="Slow response"),
            "archived": f.RootCauseFactory(tenant=world.a, name="Old cause", is_active=False),
        }
    with tenant_context(world.b):
        charlie = world.membership(world.charlie, world.b)
        rows["b"] = {"case": f.CaseFactory(tenant=world.b, title="Late invoice", assignee=charlie),
                     "cause": f.RootCauseFactory(tenant=world.b, name="Slow response"),
                     "rule": f.AlertRuleFactory(tenant=world.b, name="Detractors", assignee=charlie)}
    return rows


# --- survey logic (tests/test_surveys_logic.py, tests/browser/test_surveys_logic.py) ----------------------

DETRACTORS = {"match": "all", "rules": [{"question": "nps", "op": "between", "min": 0, "max": 6}]}
TOPIC_OPTIONS = [{"value": "price", "label": {"en": "Price"}}, {"value": "staff", "label": {"en": "Our staff"}},
                 {"value": "wait", "label": {"en": "Waiting time"}}]
ENDINGS = [{"key": "detractors", "when": DETRACTORS,
            "texts": {"en": {"title": "We are sorry", "thanks": "Someone from our team will call you within two days."}}}]


def logic_survey(world, tenant=None, *, publish=True) -> Survey:
    """Through the builder's services: page 1 the NPS; page 2 "topic" (required) for detractors only; page 3 an
    optional comment; detractors end on their own message. Web link on."""
    tenant = tenant or world.a
    from apps.surveys.builder import services as builder

    with tenant_context(tenant):
        survey = builder.survey_create(tenant=tenant, acting_user=world.carol, name="Logic NPS", kind="nps", languages=["en"],
                                       default_language="en", include_follow_up=False, web_link_enabled=True)
        builder.question_create(tenant=tenant, acting_user=world.carol, survey=survey, type="single_choice", key="topic",
                                text={"en": "What went wrong?"}, options=TOPIC_OPTIONS, new_page=True, show_if=DETRACTORS)
        builder.question_create(tenant=tenant, acting_user=world.carol, survey=survey, type="text", key="comment",
                                text={"en": "Anything else?"}, required=False, new_page=True)
        builder.version_endings_update(tenant=tenant, acting_user=world.carol, survey=survey, endings=ENDINGS)
        if publish:
            builder.survey_publish(tenant=tenant, acting_user=world.carol, survey=survey)
        return Survey.objects.get(pk=survey.pk)
