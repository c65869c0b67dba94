"""Surveys end to end (DESIGN.md flows 1 and 2): what is asked (Survey → immutable SurveyVersion →
Question), who is asked and how (Invitation, KioskDevice; their e-mails are
apps.messaging's OutboundEmail rows), and what came back
(Response → Answer, with the attribution as of submission).

Secrets (invitation tokens, kiosk keys) are stored only as SHA-256 hashes; the lookups that must
precede a tenant (a respondent's link, a kiosk's key, a public web link) have narrow RLS lookup
policies and are reached only through selectors named `*_including_cross_tenant`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from apps.clients.models import Client, Contact, Segment
from apps.core.dates import local_day
from apps.core.models import TimeStampedModel
from apps.imports.models import UploadJob
from apps.journeys.models import Stage
from apps.tenancy.due import due_note
from apps.tenancy.keys import TenantForeignKey
from apps.tenancy.models import Membership, TenantScopedModel, validate_time_zone
from apps.touchpoints.models import Interaction, Touchpoint

LANGUAGE_CHOICES = settings.LANGUAGES


class SurveyKind(models.TextChoices):
    NPS = "nps", "Net Promoter Score (0–10)"
    CSAT = "csat", "Customer satisfaction (1–5)"
    CES = "ces", "Customer effort, CES 2.0 (1–7)"
    SMILEY = "smiley", "Smiley (3 faces)"
    ENPS = "enps", "Employee NPS (0–10)"
    CUSTOM = "custom", "Custom"


class QuestionType(models.TextChoices):
    NPS = "nps", "NPS (0–10)"
    CSAT = "csat", "CSAT (1–5)"
    CES = "ces", "CES (1–7 agreement)"
    SMILEY = "smiley", "Smiley (1–3)"
    RATING = "rating", "Rating"
    SINGLE_CHOICE = "single_choice", "Single choice"
    MULTI_CHOICE = "multi_choice", "Multiple choice"
    TEXT = "text", "Free text"


# The scale of each scored question type (inclusive). Rating questions carry their own in `options`.
SCALES = {QuestionType.NPS: (0, 10), QuestionType.CSAT: (1, 5), QuestionType.CES: (1, 7), QuestionType.SMILEY: (1, 3)}


class Survey(TenantScopedModel, TimeStampedModel):
    """A survey as admins manage it. What respondents see is its published `current_version`."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"  # never published
        LIVE = "live", "Live"
        PAUSED = "paused", "Paused"
        CLOSED = "closed", "Closed"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Manual sends only"
        AFTER_INTERACTION = "after_interaction", "After an interaction at the touchpoint"
        RECURRING = "recurring", "Recurring relationship survey"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=SurveyKind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    touchpoint = TenantForeignKey(Touchpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="surveys",
                                   help_text="The touchpoint this survey measures (and, for after-interaction surveys, listens to).")
    stage = TenantForeignKey(Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="surveys",
                              help_text="The journey stage this survey measures.")
    default_language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES, default="en")
    languages = models.JSONField(default=list, blank=True, help_text='Languages offered, e.g. ["en", "fr"]; the default first.')
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    current_version = TenantForeignKey("SurveyVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                        help_text="The published version respondents answer.")
    # Distribution
    trigger = models.CharField(max_length=24, choices=Trigger.choices, default=Trigger.MANUAL)
    trigger_delay_minutes = models.PositiveIntegerField(default=120, validators=[MaxValueValidator(60 * 24 * 30)],
                                                        help_text="After-interaction surveys: wait this long after the interaction.")
    recurring_months = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(36)],
                                                        help_text="Recurring surveys: ask each contact every N months.")
    recurring_segment = TenantForeignKey(Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                          help_text="Recurring surveys: only contacts of clients in this segment (empty: all).")
    reminder_count = models.PositiveSmallIntegerField(default=1, validators=[MaxValueValidator(3)])
    reminder_interval_days = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1), MaxValueValidator(30)])
    invitation_valid_days = models.PositiveSmallIntegerField(default=30, validators=[MinValueValidator(1), MaxValueValidator(180)])
    # Public web link (anonymous) and its embeddable mode. The token is public by design (it is shared
    # on a website), so it is stored as is; it is random, so surveys cannot be enumerated.
    web_token = models.CharField(max_length=32, blank=True, db_index=True, editable=False)
    web_link_enabled = models.BooleanField(default=False)
    # The invitation e-mail's own words per language (apps/surveys/distribution/emails.py EMAIL_PARTS): subject,
    # intro (sanitised HTML), button label, the reminder's subject and intro; a part left out takes the default.
    email_texts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "name"], name="surveys_survey_tenant_name"),
            models.UniqueConstraint(fields=["tenant", "web_token"], condition=~models.Q(web_token=""), name="surveys_survey_tenant_web_token"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        self.validate_same_tenant("touchpoint", "stage", "recurring_segment", "current_version")
        errors = {}
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            errors["closes_at"] = "A survey must close after it opens."
        if self.trigger == self.Trigger.RECURRING and not self.recurring_months:
            errors["recurring_months"] = "Say how many months between two asks."
        if self.trigger == self.Trigger.AFTER_INTERACTION and not self.touchpoint_id:
            errors["touchpoint"] = "An after-interaction survey listens to one touchpoint: choose it."
        langs = list(self.languages or [])
        known = {code for code, _ in LANGUAGE_CHOICES}
        if any(code not in known for code in langs):
            errors["languages"] = f"Unknown language; choose among {', '.join(sorted(known))}."
        elif self.default_language not in (langs or [self.default_language]):
            errors["languages"] = "The default language must be one of the survey's languages."
        if errors:
            raise ValidationError(errors)


class SurveyVersion(TenantScopedModel, TimeStampedModel):
    """What respondents see. Immutable once published: editing a live survey makes a new draft version,
    and every response stays pinned to the version it answered (its answers never change meaning)."""

    survey = TenantForeignKey(Survey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    # Respondent-facing texts per language: {"en": {"title": …, "intro": …, "thanks": …}, "fr": {…}}.
    texts = models.JSONField(default=dict, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Endings per branch (apps/surveys/logic.py): [{"key", "when": rule, "texts": {lang: {"title", "thanks"}}}, …];
    # the first whose rule holds replaces the thank-you text.
    endings = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["survey_id", "-number"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "survey", "number"], name="surveys_version_tenant_survey_number"),
            # At most one draft per survey.
            models.UniqueConstraint(fields=["tenant", "survey"], condition=models.Q(published_at=None), name="surveys_version_one_draft"),
        ]

    def __str__(self) -> str:
        return f"{self.survey} v{self.number}{'' if self.published_at else ' (draft)'}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def save(self, *args, **kwargs):
        # The scoped manager: with no tenant active it raises, where an unscoped read under RLS would see
        # no row and let the change through.
        if self.pk and type(self).objects.filter(pk=self.pk, published_at__isnull=False).exists():
            raise PublishedVersionIsImmutable(f"{self} is published and cannot change; edit a new draft.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.published_at is not None:
            raise PublishedVersionIsImmutable(f"{self} is published and cannot be deleted.")
        return super().delete(*args, **kwargs)


class PublishedVersionIsImmutable(Exception):
    """A published SurveyVersion (or one of its questions) was about to change."""


class Question(TenantScopedModel):
    version = TenantForeignKey(SurveyVersion, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField()
    # A stable name across versions ("nps", "reason", …): metrics and exports follow a question by it.
    key = models.SlugField(max_length=40)
    type = models.CharField(max_length=16, choices=QuestionType.choices)
    # Per language: {"en": "How likely…", "fr": "Quelle est la probabilité…"}.
    text = models.JSONField(default=dict)
    # Choices: [{"value": "price", "label": {"en": "Price", "fr": "Prix"}}, …];
    # rating: {"min": 1, "max": 10, "min_label": {…}, "max_label": {…}}; scales: optional end labels.
    options = models.JSONField(default=dict, blank=True)
    required = models.BooleanField(default=True)
    # Logic (apps/surveys/logic.py): this question starts a new page; it is shown only if `show_if` holds on the
    # answers of earlier pages ({} = always).
    new_page = models.BooleanField(default=False)
    show_if = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["version_id", "order"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "version", "key"], name="surveys_question_tenant_version_key"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.key} ({self.type})"

    def save(self, *args, **kwargs):
        if self._version_is_published():
            raise PublishedVersionIsImmutable("Questions of a published version cannot change; edit a new draft.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._version_is_published():
            raise PublishedVersionIsImmutable("Questions of a published version cannot be deleted.")
        return super().delete(*args, **kwargs)

    def _version_is_published(self) -> bool:
        # Scoped, as in SurveyVersion.save(): no tenant → TenantNotActive, never a silent pass.
        return SurveyVersion.objects.filter(pk=self.version_id, published_at__isnull=False).exists()

    def clean(self):
        self.validate_same_tenant("version")


# Kinds of due work (apps/tenancy/due.py) that invitations announce: queued ones to send, and changes the
# funnel's catch-up (apps/metrics/funnel) reads.
DISPATCH_DUE = "dispatch"
INVITATIONS_CHANGED = "invitations"
EXPIRY_DUE = "invitation-expiry"
SCHEDULED_SENDS_DUE = "scheduled-sends"
REMINDERS_DUE = "reminders"


class Invitation(TenantScopedModel, TimeStampedModel):
    """One contact asked to answer one survey, by a single-use link. Only the token's hash is kept.
    An invitation that is not sent records why (`skip_reason`): the send log admins read."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        OPENED = "opened", "Opened"
        RESPONDED = "responded", "Responded"
        BOUNCED = "bounced", "Bounced"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"
        SKIPPED = "skipped", "Skipped"

    class SkipReason(models.TextChoices):
        OPTED_OUT = "opted_out", "Contact opted out"
        FATIGUED = "fatigued", "Surveyed too recently (fatigue rule)"
        NO_EMAIL = "no_email", "No e-mail address"
        SURVEY_CLOSED = "survey_closed", "Survey closed or paused"
        DUPLICATE = "duplicate", "Already invited for this"
        CHURNED = "churned", "Client has churned"

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual send"
        INTERACTION = "interaction", "After an interaction"
        RECURRING = "recurring", "Recurring"
        TEST = "test", "Test"
        RECOVERY = "recovery", "Recovery survey after a case"

    survey = TenantForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    version = TenantForeignKey(SurveyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="invitations",
                                help_text="The version live when the invitation was made; the respondent answers it.")
    contact = TenantForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations")
    client = TenantForeignKey(Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations")
    interaction = TenantForeignKey(Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES, default="en")
    email = models.EmailField(blank=True, help_text="The address it went to, as it was then.")
    token_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    # The link's token is HMAC(SECRET_KEY, uuid + salt): the worker can rebuild it for reminders, while
    # the database alone (salt + hash, without the key) reveals nothing (distribution/services.py).
    token_salt = models.CharField(max_length=64, blank=True, editable=False)
    # What makes two invitations "the same" (a retry never duplicates): e.g. "interaction:<uuid>",
    # "manual:<batch uuid>:<contact uuid>", "recurring:<yyyy-mm>:<contact uuid>".
    dedupe_key = models.CharField(max_length=120)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    skip_reason = models.CharField(max_length=16, choices=SkipReason.choices, blank=True)
    attributes = models.JSONField(default=dict, blank=True, help_text="Hidden fields: the client's and contact's attributes when "
                                  "it was made (apps/surveys/attributes.py); the response stores them.")
    send_after = models.DateTimeField(help_text="Not sent before this (after-interaction delay).")
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    last_reminder_at = models.DateTimeField(null=True, blank=True)
    created_by = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "survey", "dedupe_key"], name="surveys_invitation_dedupe"),
            models.UniqueConstraint(fields=["tenant", "token_hash"], condition=~models.Q(token_hash=""), name="surveys_invitation_token"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "send_after"], name="surveys_inv_due"),
            # The funnel's catch-up reads the invitations changed in the last minutes, whatever the history's size.
            models.Index(fields=["tenant", "updated_at"], name="surveys_inv_updated"),
            models.Index(fields=["tenant", "contact", "sent_at"], name="surveys_inv_contact_sent"),
            models.Index(fields=["tenant", "survey", "-created_at"], name="surveys_inv_survey"),
        ]

    def __str__(self) -> str:
        return f"{self.survey} → {self.email or self.contact_id} ({self.status})"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # apps/tenancy/due.py, written once the transaction commits: the funnel's catch-up wakes for this
        # tenant, and a queued invitation wakes the dispatcher when it may be sent. (Bulk .update() calls on
        # invitations note the same themselves.)
        due_note(self.tenant_id, INVITATIONS_CHANGED)
        if self.status == self.Status.QUEUED and not self.token_hash:
            due_note(self.tenant_id, DISPATCH_DUE, self.send_after)
        if self.status in (self.Status.QUEUED, self.Status.SENT, self.Status.OPENED) and self.expires_at is not None:
            due_note(self.tenant_id, EXPIRY_DUE, self.expires_at)

    def clean(self):
        self.validate_same_tenant("survey", "version", "contact", "client", "interaction")
        if self.status == self.Status.SKIPPED and not self.skip_reason:
            raise ValidationError({"skip_reason": "A skipped invitation says why."})


class ManualSend(TenantScopedModel, TimeStampedModel):
    """A manual send (a segment and/or chosen contacts), run by a Celery task in chunks, never inside the
    request: the request records this row and answers at once; the task makes the invitations (one per
    contact, keyed by the batch, so a rerun after a crash continues where it stopped) and counts as it goes,
    so the page shows progress. One row per (survey, batch): posting the same batch again changes nothing."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Making invitations"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    survey = TenantForeignKey(Survey, on_delete=models.CASCADE, related_name="manual_sends")
    batch = models.UUIDField(help_text="The sender's id for this send (the form's or the API's `batch`).")
    segment = TenantForeignKey(Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    segment_name = models.CharField(max_length=200, blank=True)  # kept if the segment is deleted later
    contact_ids = models.JSONField(default=list, blank=True, help_text="Contacts chosen one by one (ids).")
    scheduled_for = models.DateTimeField(null=True, blank=True, help_text="A scheduled send starts then (cancellable until).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0, help_text="Contacts to invite (segment and chosen, each once).")
    done = models.PositiveIntegerField(default=0)
    queued = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=dict, blank=True, help_text="Invitations not sent, per skip reason.")
    error_message = models.TextField(blank=True)
    created_by = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    acting_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "survey", "batch"], name="surveys_manualsend_batch"),
        ]

    def __str__(self) -> str:
        return f"send {self.batch} of {self.survey_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


class KioskDevice(TenantScopedModel, TimeStampedModel):
    """A tablet in a shop or office showing one survey full-screen, authorised by its own key
    (shown once; only the SHA-256 is kept) that an admin can revoke."""

    survey = TenantForeignKey(Survey, on_delete=models.CASCADE, related_name="kiosks")
    name = models.CharField(max_length=80, help_text="Where it stands, e.g. “Brussels front desk”.")
    touchpoint = TenantForeignKey(Touchpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   help_text="Answers are attributed to this touchpoint (default: the survey's).")
    key_hash = models.CharField(max_length=64, editable=False, db_index=True)
    created_by = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_seen_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "key_hash"], name="surveys_kiosk_tenant_key"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        self.validate_same_tenant("survey", "touchpoint")


class Response(TenantScopedModel):
    """A submitted answer set, with its attribution as of submission (who, where, which version), and
    the scored answers denormalised for rollups. At most one response per invitation (database-enforced)."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail link"
        WEB = "web", "Web link"
        EMBED = "embed", "Embedded on a website"
        KIOSK = "kiosk", "Kiosk"
        API = "api", "API"
        IMPORT = "import", "Imported history"

    invitation = TenantForeignKey(Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses")
    survey = TenantForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    version = TenantForeignKey(SurveyVersion, on_delete=models.PROTECT, related_name="responses")
    kiosk = TenantForeignKey(KioskDevice, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses")
    # Attribution as of submission.
    client = TenantForeignKey(Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses")
    contact = TenantForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses")
    interaction = TenantForeignKey(Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses")
    touchpoint = TenantForeignKey(Touchpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses")
    stage = TenantForeignKey(Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses")
    journey = TenantForeignKey("journeys.Journey", null=True, blank=True, on_delete=models.SET_NULL, related_name="responses",
                                help_text="The journey of the stage, as of submission.")
    staff = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses",
                              help_text="The staff member of the interaction that triggered the survey.")
    segment = TenantForeignKey(Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES, default="en")
    submitted_at = models.DateTimeField()
    local_day = models.DateField(blank=True, help_text="submitted_at's date in the tenant's time zone: the day rollups bucket it in "
                                           "(METRICS.md). Filled on save; rewritten when the tenant changes time zone.")
    # Scored answers, denormalised (METRICS.md reads these).
    nps = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(10)])
    csat = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)])
    ces = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(7)])
    smiley = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(3)])
    enps = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(10)],
                                            help_text="The 0–10 answer of an employee-pulse (eNPS) survey; never customer NPS.")
    predicted = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(10)],
                                                 help_text="The score the staff member predicted when logging the interaction that "
                                                           "triggered this survey (the perception-gap pair), as of submission.")
    attributes = models.JSONField(default=dict, blank=True, help_text="Hidden fields as of the invitation: segment, tier, owner, "
                                  "client.<key>, contact.<key> (apps/surveys/attributes.py); filters read them.")
    comment = models.TextField(blank=True, help_text="The first free-text answer, for lists and filters.")
    # The comment's language and sentiment (apps.core.nlp), filled on commit by a task and by
    # `manage.py analyse_comments`; `comment_analyser` is the analyser version that filled them (0: not yet).
    comment_language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES, blank=True,
                                        help_text="The comment's detected language (blank: no comment, or not analysed yet).")
    comment_sentiment = models.FloatField(null=True, blank=True,
                                          help_text="The comment's compound sentiment, −1 … 1 (VADER's scale, in its language).")
    comment_analyser = models.PositiveSmallIntegerField(default=0, help_text="apps.core.nlp.ANALYSER_VERSION that filled the two above.")
    # Anonymous channels: a form nonce makes a double submit land once; bot-flagged responses are kept
    # apart and never counted.
    submission_key = models.CharField(max_length=64, blank=True)
    score_only = models.BooleanField(
        default=False, help_text="Recorded from the score clicked in the invitation e-mail: the respondent has not submitted the "
                                 "rest of the form (yet). Counted like any response; completing it updates this row.")
    is_bot = models.BooleanField(default=False)
    bot_reason = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "invitation"], condition=models.Q(invitation__isnull=False),
                                    name="surveys_response_one_per_invitation"),
            models.UniqueConstraint(fields=["tenant", "survey", "submission_key"], condition=~models.Q(submission_key=""),
                                    name="surveys_response_submission_key"),
        ]
        indexes = [
            models.Index(fields=["tenant", "survey", "-submitted_at"], name="surveys_resp_survey"),
            models.Index(fields=["tenant", "-submitted_at"], name="surveys_resp_submitted"),
            models.Index(fields=["tenant", "client", "-submitted_at"], name="surveys_resp_client"),
            models.Index(fields=["tenant", "local_day"], name="surveys_resp_local_day"),
            # The dashboards' latest comments (apps/metrics/scores/comments.py): newest counted responses with a
            # comment, read newest first and stopped at the limit, whatever the workspace's volume.
            models.Index(fields=["tenant", "-submitted_at"], name="surveys_resp_commented",
                         condition=models.Q(is_bot=False) & ~models.Q(comment="")),
        ]

    def __str__(self) -> str:
        return f"{self.survey} · {self.submitted_at:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        if self.local_day is None and self.submitted_at is not None:
            self.local_day = local_day(self.tenant.time_zone, self.submitted_at)
        super().save(*args, **kwargs)

    def clean(self):
        self.validate_same_tenant("invitation", "survey", "version", "kiosk", "client", "contact", "interaction", "touchpoint",
                                  "stage", "journey", "staff", "segment")


class ResponseImport(UploadJob):
    """Past responses brought in from a file — this product's layout or another tool's export (Qualtrics,
    SurveyMonkey, Formbricks, Delighted) — as responses to one survey version (apps/surveys/history/).

    `mapping` says which column holds what: {"email": 3, "submitted_at": 7, "q:nps": 12, …} (column indexes
    of the file's header; the review proposes it, the lead may change it). Times without an offset are read
    in `time_zone`. Each row's response carries a `submission_key` derived from the source's response id (or
    the row itself), unique per survey: importing the same rows again finds them and creates nothing."""

    class Layout(models.TextChoices):
        AUTO = "auto", "Detect from the file"
        GENERIC = "generic", "This product's layout"
        QUALTRICS = "qualtrics", "Qualtrics export"
        SURVEYMONKEY = "surveymonkey", "SurveyMonkey export"
        FORMBRICKS = "formbricks", "Formbricks export"
        DELIGHTED = "delighted", "Delighted export"

    survey = TenantForeignKey(Survey, on_delete=models.CASCADE, related_name="response_imports")
    version = TenantForeignKey(SurveyVersion, on_delete=models.PROTECT, related_name="+")
    touchpoint = TenantForeignKey(Touchpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                  help_text="Where the imported responses are attributed (empty: the survey's touchpoint), "
                                            "unless a row names one.")
    layout = models.CharField(max_length=16, choices=Layout.choices, default=Layout.AUTO)
    detected_layout = models.CharField(max_length=16, choices=Layout.choices, blank=True)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone],
                                 help_text="The zone of the file's times when they carry no offset.")
    mapping = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = TenantScopedModel.Meta.constraints
        indexes = [models.Index(fields=["tenant", "survey", "-created_at"], name="surveys_rimport_survey")]

    def clean(self):
        self.validate_same_tenant("survey", "version", "touchpoint")
        if self.version_id and self.survey_id and self.version.survey_id != self.survey_id:
            raise ValidationError({"version": "The version must be one of the survey's."})


class Answer(TenantScopedModel):
    response = TenantForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = TenantForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    # An int for scales and ratings, a string for text and single choice, a list of strings for multi choice.
    value = models.JSONField()

    class Meta:
        ordering = ["response_id", "question__order"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "response", "question"], name="surveys_answer_once"),
        ]

    def __str__(self) -> str:
        return f"{self.question.key}: {self.value}"


class Tag(TenantScopedModel):
    name = models.CharField(max_length=40)

    class Meta:
        ordering = ["name"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "name"], name="surveys_tag_tenant_name"),
            # "VIP" and "vip" are one tag: names are unique per tenant in any case.
            models.UniqueConstraint("tenant", Lower("name"), name="surveys_tag_tenant_name_ci"),
        ]

    def __str__(self) -> str:
        return self.name


class ResponseTag(TenantScopedModel):
    response = TenantForeignKey(Response, on_delete=models.CASCADE, related_name="response_tags")
    tag = TenantForeignKey(Tag, on_delete=models.CASCADE, related_name="response_tags")
    added_by = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "response", "tag"], name="surveys_response_tag_once"),
        ]

    def __str__(self) -> str:
        return f"{self.response_id} #{self.tag}"


# --- comment themes (issue 19 item 4; METRICS.md "Comment themes") ---------------------------------

class Theme(TenantScopedModel):
    """A theme of the workspace's comment taxonomy: what clients talk about ("Billing", "Responsiveness").
    Assigned to comments by its keyword rules (matched on lemmas, in the comment's language) and, once it
    has enough human-confirmed examples, by the workspace's classifier; a person's correction wins."""

    class Origin(models.TextChoices):
        STARTER = "starter", "Starter theme"
        MANUAL = "manual", "Added by hand"
        SUGGESTED = "suggested", "Accepted suggestion"

    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    keywords = models.JSONField(default=dict, blank=True,
                                help_text='Keywords or phrases per language, e.g. {"en": ["invoice", "billing"], "fr": ["facture"]}; '
                                          '"*" for words of every language (a product name).')
    is_active = models.BooleanField(default=True)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)
    # The classifier's quality on held-out human-confirmed examples (apps.surveys.themes.classifier); null until trained.
    model_precision = models.FloatField(null=True, blank=True)
    model_recall = models.FloatField(null=True, blank=True)
    model_positives = models.PositiveIntegerField(default=0, help_text="Human-confirmed comments with the theme.")
    model_negatives = models.PositiveIntegerField(default=0, help_text="Human-reviewed comments without it.")
    model_active = models.BooleanField(default=False, help_text="The classifier assigns this theme (enough examples).")

    class Meta:
        ordering = ["name"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint("tenant", Lower("name"), name="surveys_theme_tenant_name_ci"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def keywords_by_language(self) -> list[tuple[str, list[str]]]:
        """(language code, keywords) in the product's language order, "*" (every language) last."""
        order = [code for code, _ in LANGUAGE_CHOICES] + ["*"]
        return [(code, self.keywords[code]) for code in order if self.keywords.get(code)]


class ResponseTheme(TenantScopedModel):
    """A theme on a response's comment, and who put it there. A person's row wins over the rules and the
    classifier: `present=False` is a person's removal, kept so that neither puts the theme back."""

    class Source(models.TextChoices):
        RULE = "rule", "Keyword rule"
        MODEL = "model", "Classifier"
        PERSON = "person", "A person"

    response = TenantForeignKey(Response, on_delete=models.CASCADE, related_name="theme_links")
    theme = TenantForeignKey(Theme, on_delete=models.CASCADE, related_name="response_links")
    source = models.CharField(max_length=8, choices=Source.choices)
    present = models.BooleanField(default=True)
    decided_by = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "response", "theme"], name="surveys_response_theme_once"),
        ]
        indexes = [models.Index(fields=["tenant", "theme", "present"], name="surveys_resp_theme_theme")]

    def __str__(self) -> str:
        return f"{self.response_id} {'+' if self.present else '−'}{self.theme_id} ({self.source})"


class ThemeReview(TenantScopedModel):
    """A person set this response's themes as a whole: each theme they left off is a human-confirmed
    negative example for the classifier (for themes that existed then)."""

    response = TenantForeignKey(Response, on_delete=models.CASCADE, related_name="theme_reviews")
    reviewed_by = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField()

    class Meta:
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "response"], name="surveys_theme_review_once"),
        ]


class ThemeClassifier(TenantScopedModel):
    """The workspace's trained classifier, one linear model per theme over TF-IDF of lemmas, stored as
    plain numbers (JSON, never a pickle): vocabulary, idf, and per theme its weights and intercept."""

    vocabulary = models.JSONField(default=dict)
    idf = models.JSONField(default=list)
    weights = models.JSONField(default=dict, help_text='{theme id: {"coef": {term index: weight}, "intercept": b}}')
    examples = models.PositiveIntegerField(default=0)
    trained_at = models.DateTimeField()

    class Meta:
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant"], name="surveys_theme_classifier_one"),
        ]


class ThemeSuggestion(TenantScopedModel):
    """A theme proposed from comments no theme covers (NMF over TF-IDF), for an admin to accept, rename,
    merge into an existing theme, or reject."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for a decision"
        ACCEPTED = "accepted", "Accepted"
        MERGED = "merged", "Merged into a theme"
        REJECTED = "rejected", "Rejected"

    label = models.CharField(max_length=80)
    keywords = models.JSONField(default=dict, help_text="Its top words per language, as theme keywords.")
    comments = models.PositiveIntegerField(default=0, help_text="Uncovered comments it groups.")
    examples = models.JSONField(default=list, help_text="Ids of a few of those comments' responses.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    theme = TenantForeignKey(Theme, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             help_text="The theme it became or was merged into.")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-comments", "id"]
        constraints = [*TenantScopedModel.Meta.constraints]
