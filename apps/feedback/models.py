"""Closing the loop (issue 8; DESIGN.md `feedback/`): alert rules open follow-up cases; cases are
worked to a resolution with a root cause and an action, can send a recovery survey, and can tell the
respondents what changed ("you said, we did"); action plans track a metric target against its
baseline.

Idempotency is in the schema: one case per (rule, source row) — `Case.dedupe_key` is unique per rule;
one "you said, we did" e-mail per (message, contact).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.core.models import TimeStampedModel
from apps.tenancy.due import due_note
from apps.tenancy.keys import TenantForeignKey
from apps.tenancy.models import Membership, Team, TenantScopedModel


class RootCause(TenantScopedModel, TimeStampedModel):
    """The tenant's taxonomy of why things went wrong; resolving a case requires one."""

    name = models.CharField(max_length=80)
    description = models.CharField(max_length=240, blank=True)
    is_active = models.BooleanField(default=True, help_text="Archived causes stay on old cases but cannot be chosen.")

    class Meta:
        ordering = ["name"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "name"], name="feedback_rootcause_tenant_name"),
        ]

    def __str__(self) -> str:
        return self.name


class AlertRule(TenantScopedModel, TimeStampedModel):
    """When a triggering row matches, open a case for the rule's assignee with the rule's SLA."""

    class Trigger(models.TextChoices):
        NPS_AT_MOST = "nps_at_most", "NPS answer at most (0–10)"
        CSAT_AT_MOST = "csat_at_most", "CSAT answer at most (1–5)"
        CES_AT_MOST = "ces_at_most", "CES answer at most (1–7)"
        NEGATIVE_COMMENT = "negative_comment", "Comment sentiment at most (−1 … 1)"
        CHURN_RISK_ABOVE = "churn_risk_above", "Churn risk rises to at least (0–100)"
        INTERACTION_FOLLOW_UP = "interaction_follow_up", "An interaction is flagged for follow-up"

    class AssignTo(models.TextChoices):
        MEMBER = "member", "A named member"
        TEAM = "team", "A team's queue (unassigned until someone takes it)"
        CLIENT_OWNER = "client_owner", "The client's owner"
        STAFF = "staff", "The staff member of the interaction"

    # The scale of each threshold (inclusive) and the source it listens to.
    THRESHOLD_RANGE = {
        Trigger.NPS_AT_MOST: (0, 10), Trigger.CSAT_AT_MOST: (1, 5), Trigger.CES_AT_MOST: (1, 7),
        Trigger.NEGATIVE_COMMENT: (-1, 1), Trigger.CHURN_RISK_ABOVE: (0, 100), Trigger.INTERACTION_FOLLOW_UP: (0, 0),
    }
    RESPONSE_TRIGGERS = (Trigger.NPS_AT_MOST, Trigger.CSAT_AT_MOST, Trigger.CES_AT_MOST, Trigger.NEGATIVE_COMMENT)

    name = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True)
    trigger = models.CharField(max_length=24, choices=Trigger.choices)
    threshold = models.DecimalField(max_digits=6, decimal_places=2, default=0,
                                    help_text="NPS/CSAT/CES: the highest score that opens a case; sentiment: the highest compound "
                                              "score (e.g. −0.5); churn risk: the lowest score.")
    # Optional scope: only responses/interactions at this touchpoint, or to this survey.
    touchpoint = TenantForeignKey("touchpoints.Touchpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    survey = TenantForeignKey("surveys.Survey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assign_to = models.CharField(max_length=16, choices=AssignTo.choices, default=AssignTo.MEMBER)
    assignee = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 help_text="For “a named member”, and the fallback when the client has no owner / the row no staff.")
    team = TenantForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sla_hours = models.PositiveIntegerField(default=48, validators=[MinValueValidator(1), MaxValueValidator(24 * 90)])
    recovery_survey = TenantForeignKey("surveys.Survey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                        help_text="Offered when a case of this rule is resolved: a short survey to the client.")
    created_by = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["name"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "name"], name="feedback_alertrule_tenant_name"),
        ]
        indexes = [models.Index(fields=["tenant", "trigger"], condition=models.Q(is_active=True), name="feedback_rule_active")]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        self.validate_same_tenant("touchpoint", "survey", "assignee", "team", "recovery_survey")
        errors = {}
        low, high = self.THRESHOLD_RANGE.get(self.trigger, (None, None))
        if low is not None and self.threshold is not None and not low <= float(self.threshold) <= high:
            errors["threshold"] = f"Choose a threshold from {low} to {high}."
        if self.assign_to == self.AssignTo.MEMBER and not self.assignee_id:
            errors["assignee"] = "Name the member who receives these cases."
        if self.assign_to == self.AssignTo.TEAM and not self.team_id:
            errors["team"] = "Name the team whose queue receives these cases."
        if errors:
            raise ValidationError(errors)


ESCALATION_DUE = "escalation"  # apps/tenancy/due.py: when an open case of the tenant falls overdue


class Case(TenantScopedModel, TimeStampedModel):
    """A follow-up: why it was opened (a response, an interaction or a client), who works it, by when,
    and — once resolved — why it happened and what was done."""

    class Source(models.TextChoices):
        RESPONSE = "response", "Survey response"
        INTERACTION = "interaction", "Interaction"
        CLIENT = "client", "Client"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        RESOLVED = "resolved", "Resolved"
        WONT_FIX = "wont_fix", "Won't fix"

    CLOSED = (Status.RESOLVED, Status.WONT_FIX)

    rule = TenantForeignKey(AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    dedupe_key = models.CharField(max_length=80, blank=True,
                                  help_text="The source row the rule fired on (e.g. response:123): one case per rule and row.")
    source = models.CharField(max_length=16, choices=Source.choices)
    response = TenantForeignKey("surveys.Response", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    interaction = TenantForeignKey("touchpoints.Interaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    client = TenantForeignKey("clients.Client", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    contact = TenantForeignKey("clients.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="What triggered it, in words (score, comment, risk reasons).")
    # The score that opened it (for recovery: the same metric is asked again): metric nps/csat/ces and value.
    trigger_metric = models.CharField(max_length=8, blank=True)
    trigger_score = models.SmallIntegerField(null=True, blank=True)
    assignee = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    team = TenantForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField()
    due_at = models.DateTimeField(help_text="opened_at + the rule's SLA hours.")
    escalated_at = models.DateTimeField(null=True, blank=True, help_text="When the overdue case was escalated to the CX leads.")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    root_cause = TenantForeignKey(RootCause, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    action_taken = models.TextField(blank=True)
    recovery_invitation = TenantForeignKey("surveys.Invitation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                            help_text="The recovery survey sent to the client on resolution.")
    opened_by = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                  help_text="Empty when a rule opened it.")

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "rule", "dedupe_key"], condition=~models.Q(dedupe_key=""),
                                    name="feedback_case_one_per_rule_and_row"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "due_at"], name="feedback_case_status_due"),
            models.Index(fields=["tenant", "assignee", "status"], name="feedback_case_assignee"),
            models.Index(fields=["tenant", "client"], name="feedback_case_client"),
            models.Index(fields=["tenant", "resolved_at"], condition=models.Q(resolved_at__isnull=False), name="feedback_case_resolved"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status not in self.CLOSED

    def is_overdue(self, now) -> bool:
        return self.is_open and self.due_at < now

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        if self.is_open and self.escalated_at is None and self.due_at is not None:
            # apps/tenancy/due.py, once the transaction commits: the overdue sweep wakes for this tenant then.
            due_note(self.tenant_id, ESCALATION_DUE, self.due_at)

    def clean(self):
        self.validate_same_tenant("rule", "response", "interaction", "client", "contact", "assignee", "team", "root_cause",
                                  "recovery_invitation", "resolved_by", "opened_by")
        errors = {}
        if self.status == self.Status.RESOLVED and (self.root_cause_id is None or not self.action_taken.strip()):
            errors["root_cause"] = "A resolved case needs its root cause and the action taken."
        if self.due_at and self.opened_at and self.due_at < self.opened_at:
            errors["due_at"] = "A case cannot be due before it opens."
        if errors:
            raise ValidationError(errors)


class CaseNote(TenantScopedModel):
    """One entry of a case's thread: a note written by a member, or an event the system recorded
    (status change, assignment, escalation, e-mail sent)."""

    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        EVENT = "event", "Event"

    case = TenantForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.NOTE)
    author = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = TenantScopedModel.Meta.constraints
        indexes = [models.Index(fields=["tenant", "case", "created_at"], name="feedback_note_case")]

    def clean(self):
        self.validate_same_tenant("case", "author")
        if not (self.body or "").strip():
            raise ValidationError({"body": "Write something."})


class ActionPlan(TenantScopedModel, TimeStampedModel):
    """A SMART goal on one metric in one scope: baseline (measured at creation over the previous
    `baseline_days`), target, due date, owner; progress is read live from the metrics selectors."""

    class Metric(models.TextChoices):
        NPS = "nps", "NPS"
        CSAT = "csat", "CSAT %"
        CES = "ces", "CES (mean)"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        MET = "met", "Met"
        MISSED = "missed", "Missed"
        CANCELLED = "cancelled", "Cancelled"

    title = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    metric = models.CharField(max_length=8, choices=Metric.choices)
    touchpoint = TenantForeignKey("touchpoints.Touchpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    stage = TenantForeignKey("journeys.Stage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    journey = TenantForeignKey("journeys.Journey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    segment = TenantForeignKey("clients.Segment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    survey = TenantForeignKey("surveys.Survey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    baseline_first = models.DateField()
    baseline_last = models.DateField()
    baseline_value = models.FloatField(null=True, blank=True)
    baseline_low = models.FloatField(null=True, blank=True)
    baseline_high = models.FloatField(null=True, blank=True)
    baseline_n = models.PositiveIntegerField(default=0)
    baseline_bucket = models.JSONField(default=dict, help_text="The baseline's sufficient statistics (apps.metrics.buckets), for tests.")
    target_value = models.FloatField()
    starts_on = models.DateField(help_text="Progress counts responses from this day (the plan's creation day).")
    due_on = models.DateField()
    owner = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="action_plans")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    closed_at = models.DateTimeField(null=True, blank=True)
    final_value = models.FloatField(null=True, blank=True, help_text="The value at the due date, frozen when met/missed.")
    final_low = models.FloatField(null=True, blank=True)
    final_high = models.FloatField(null=True, blank=True)
    final_n = models.PositiveIntegerField(null=True, blank=True)
    cases = models.ManyToManyField(Case, through="ActionPlanCase", related_name="action_plans", blank=True)
    created_by = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["due_on", "id"]
        constraints = TenantScopedModel.Meta.constraints
        indexes = [models.Index(fields=["tenant", "status", "due_on"], name="feedback_plan_status_due")]

    def __str__(self) -> str:
        return self.title

    def clean(self):
        self.validate_same_tenant("touchpoint", "stage", "journey", "segment", "survey", "owner", "created_by")
        errors = {}
        if self.due_on and self.starts_on and self.due_on <= self.starts_on:
            errors["due_on"] = "The due date must come after the start."
        ranges = {self.Metric.NPS: (-100, 100), self.Metric.CSAT: (0, 100), self.Metric.CES: (1, 7)}
        low, high = ranges.get(self.metric, (None, None))
        if low is not None and self.target_value is not None and not low <= self.target_value <= high:
            errors["target_value"] = f"A {self.get_metric_display()} target lies between {low} and {high}."
        if errors:
            raise ValidationError(errors)


class ActionPlanCase(TenantScopedModel):
    plan = TenantForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="+")
    case = TenantForeignKey(Case, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "plan", "case"], name="feedback_plancase_unique"),
        ]

    def clean(self):
        self.validate_same_tenant("plan", "case")


class Announcement(TenantScopedModel, TimeStampedModel):
    """A "you said, we did" message from a case or an action plan to the respondents it concerns.
    Sending is logged per recipient (AnnouncementRecipient); a resend never e-mails anyone twice."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent"

    case = TenantForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="announcements")
    plan = TenantForeignKey(ActionPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="announcements")
    subject = models.CharField(max_length=200)
    you_said = models.TextField(help_text="What customers told us, in their terms.")
    we_did = models.TextField(help_text="What changed because of it.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = TenantForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recipients_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0, help_text="Affected respondents not written to (opted out, no e-mail).")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = TenantScopedModel.Meta.constraints

    def __str__(self) -> str:
        return self.subject

    def clean(self):
        self.validate_same_tenant("case", "plan", "sent_by")
        if bool(self.case_id) == bool(self.plan_id):
            raise ValidationError("A message comes from one case or one action plan.")


class AnnouncementRecipient(TenantScopedModel):
    """Who a "you said, we did" message went to, or why not."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued for e-mail"
        SKIPPED = "skipped", "Skipped"

    announcement = TenantForeignKey(Announcement, on_delete=models.CASCADE, related_name="recipients")
    contact = TenantForeignKey("clients.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    email = models.EmailField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices)
    skip_reason = models.CharField(max_length=32, blank=True)
    outbound_email = TenantForeignKey("messaging.OutboundEmail", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The SHA-256 of the random token in the e-mail's opt-out link /u/<token>/ (the token itself is not kept).
    optout_token_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "announcement", "contact"], name="feedback_announcement_one_per_contact"),
            models.UniqueConstraint(fields=["tenant", "optout_token_hash"], condition=~models.Q(optout_token_hash=""),
                                    name="feedback_recipient_optout_token"),
        ]

    def clean(self):
        self.validate_same_tenant("announcement", "contact", "outbound_email")
