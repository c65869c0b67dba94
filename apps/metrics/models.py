"""What the metrics workers store (METRICS.md "Rollups"): sufficient statistics only, never finished
percentages, so any set of buckets merges exactly by addition; plus the small per-client tables
(churn risk) and the logs of rollup runs.

- `ResponseCell`: per tenant × local day × full attribution (survey, touchpoint, stage, journey,
  segment, staff member, channel). Serves any combination of filters; the single-dimension rollups
  are built from it.
- `ResponseRollup`: per tenant × local day × dimension × value (the tenant total is dimension
  `total` with value ""). Serves a summary/trend/breakdown with at most one dimension filter.
- `MonthRollup`: the same per tenant-local calendar month: a long period is read as its whole months plus
  the days at either end (a year: ~24 rows instead of 365), always equal to the sum of its days' rows.
- `TransitionRollup`: interaction volatility's sufficient statistics per journey and stage transition.
- `FunnelRollup`: invitation funnel counts per invitation day × survey × channel.
- `CommentRollup`/`ThemeRollup` (per dimension value) and `CommentCell`/`ThemeCell` (per full attribution, as
  ResponseCell): the comment-theme statistics (METRICS.md "Comment themes"), written together by
  apps.metrics.themes.rollups.

Rollup tables have no public uuid (they are never addressed one row at a time): their natural key
(tenant first) is the unique constraint. "None" attribution is stored as 0 / "" so that the sum over
a dimension's values always equals the tenant total.
"""

from __future__ import annotations

from django.db import models

from apps.core.models import TimeStampedModel
from apps.tenancy.keys import TenantForeignKey
from apps.tenancy.models import TenantScopedModel

# The sufficient statistics of a set of responses (METRICS.md); `apps.metrics.buckets.Bucket` mirrors them.
STAT_FIELDS = (
    "responses",
    "nps_n", "nps_promoters", "nps_passives", "nps_detractors",
    "csat_n", "csat_top2", "csat_bottom2", "csat_sum", "csat_sumsq",
    "ces_n", "ces_sum", "ces_sumsq", "ces_easy",
    "smiley_n", "smiley_happy", "smiley_neutral", "smiley_sad",
    "enps_n", "enps_promoters", "enps_passives", "enps_detractors",
    # Perception gap pairs (predicted and actual NPS on one response): gap = predicted − actual.
    "gap_n", "gap_sum", "gap_sumsq", "gap_pred_promoters", "gap_pred_detractors", "gap_promoters", "gap_detractors",
)


class Dimension(models.TextChoices):
    TOTAL = "total", "Tenant total"
    SURVEY = "survey", "Survey"
    TOUCHPOINT = "touchpoint", "Touchpoint"
    STAGE = "stage", "Journey stage"
    JOURNEY = "journey", "Journey"
    SEGMENT = "segment", "Segment"
    STAFF = "staff", "Staff member"
    CHANNEL = "channel", "Channel"


class ResponseStats(models.Model):
    responses = models.PositiveIntegerField(default=0)
    nps_n = models.PositiveIntegerField(default=0)
    nps_promoters = models.PositiveIntegerField(default=0)
    nps_passives = models.PositiveIntegerField(default=0)
    nps_detractors = models.PositiveIntegerField(default=0)
    csat_n = models.PositiveIntegerField(default=0)
    csat_top2 = models.PositiveIntegerField(default=0)
    csat_bottom2 = models.PositiveIntegerField(default=0)
    csat_sum = models.BigIntegerField(default=0)
    csat_sumsq = models.BigIntegerField(default=0)
    ces_n = models.PositiveIntegerField(default=0)
    ces_sum = models.BigIntegerField(default=0)
    ces_sumsq = models.BigIntegerField(default=0)
    ces_easy = models.PositiveIntegerField(default=0)
    smiley_n = models.PositiveIntegerField(default=0)
    smiley_happy = models.PositiveIntegerField(default=0)
    smiley_neutral = models.PositiveIntegerField(default=0)
    smiley_sad = models.PositiveIntegerField(default=0)
    enps_n = models.PositiveIntegerField(default=0)
    enps_promoters = models.PositiveIntegerField(default=0)
    enps_passives = models.PositiveIntegerField(default=0)
    enps_detractors = models.PositiveIntegerField(default=0)
    gap_n = models.PositiveIntegerField(default=0)
    gap_sum = models.BigIntegerField(default=0)
    gap_sumsq = models.BigIntegerField(default=0)
    gap_pred_promoters = models.PositiveIntegerField(default=0)
    gap_pred_detractors = models.PositiveIntegerField(default=0)
    gap_promoters = models.PositiveIntegerField(default=0)
    gap_detractors = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class ResponseCell(TenantScopedModel, ResponseStats):
    """Counted (submitted, non-bot) responses of one local day with one full attribution."""

    uuid = None
    pk = models.CompositePrimaryKey("tenant_id", "day", "survey_id", "touchpoint_id", "stage_id", "journey_id", "segment_id",
                                    "staff_id", "channel")
    day = models.DateField()
    survey_id = models.BigIntegerField()
    touchpoint_id = models.BigIntegerField(default=0)
    stage_id = models.BigIntegerField(default=0)
    journey_id = models.BigIntegerField(default=0)
    segment_id = models.BigIntegerField(default=0)
    staff_id = models.BigIntegerField(default=0)
    channel = models.CharField(max_length=16)

    class Meta:
        constraints = []

    def __str__(self) -> str:
        return f"{self.day} survey {self.survey_id} · {self.responses} responses"


class ResponseRollup(TenantScopedModel, ResponseStats):
    """Counted responses of one local day for one value of one dimension (`key` is the id as text,
    the channel code, or "" for the tenant total and for responses without that attribution)."""

    uuid = None
    pk = models.CompositePrimaryKey("tenant_id", "dimension", "key", "day")
    day = models.DateField()
    dimension = models.CharField(max_length=16, choices=Dimension.choices)
    key = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = []
        indexes = [models.Index(fields=["tenant", "dimension", "day"], name="metrics_rollup_dim_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension}={self.key or '—'} · {self.responses} responses"


class MonthRollup(TenantScopedModel, ResponseStats):
    """The sum of one tenant-local calendar month's `ResponseRollup` rows for one value of one dimension
    (`month` is the month's first day). Written only with its days' rows: by a response adding itself, and by
    a refresh or rebuild recomputing the month from its day rows under every day's lock (apps.metrics.rollups)."""

    uuid = None
    pk = models.CompositePrimaryKey("tenant_id", "dimension", "key", "month")
    month = models.DateField(help_text="The first day of the tenant-local calendar month.")
    dimension = models.CharField(max_length=16, choices=Dimension.choices)
    key = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = []

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.dimension}={self.key or '—'} · {self.responses} responses"


class RollupVersion(TenantScopedModel):
    """A tenant's rollup version: a fresh random number written by every transaction that changes its response
    rollups (cells, day and month rollups, transitions), in that transaction. A cached read is valid while the
    version it was computed at is still the committed one (apps.metrics.readcache)."""

    uuid = None
    pk = models.CompositePrimaryKey("tenant_id", "name")
    name = models.CharField(max_length=32, help_text="Which stored rows: 'responses' (the response rollups).")
    version = models.BigIntegerField()

    class Meta:
        constraints = []

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class TransitionRollup(TenantScopedModel):
    """Interaction volatility (METRICS.md): consecutive scored responses of one client within one
    journey form a transition (from-stage → to-stage) dated on the later response's local day.
    Scores are kept in sixths of a point (0–600) so every sum is an exact integer: NPS × 60,
    CSAT (x−1) × 150, CES (x−1) × 100, smiley (x−1) × 300."""

    uuid = None
    pk = models.CompositePrimaryKey("tenant_id", "journey_id", "from_stage_id", "to_stage_id", "day")
    day = models.DateField()
    journey_id = models.BigIntegerField()
    from_stage_id = models.BigIntegerField(default=0)
    to_stage_id = models.BigIntegerField(default=0)
    n = models.PositiveIntegerField(default=0)
    abs_sum = models.BigIntegerField(default=0, help_text="Σ|Δ| in sixths of a point.")
    sq_sum = models.BigIntegerField(default=0, help_text="ΣΔ² in sixths of a point, squared.")

    class Meta:
        constraints = []
        indexes = [models.Index(fields=["tenant", "day"], name="metrics_transition_day")]


class FunnelRollup(TenantScopedModel):
    """Invitation funnel counts per local day the invitation was created, survey and channel
    (METRICS.md "Response rate and funnel"). Statuses move after that day, so days are refreshed
    when their invitations change (see apps.metrics.funnel)."""

    uuid = None
    pk = models.CompositePrimaryKey("tenant_id", "survey_id", "channel", "day")
    day = models.DateField()
    survey_id = models.BigIntegerField()
    channel = models.CharField(max_length=16)
    invited = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0)
    bounced = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    responded = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = []
        indexes = [models.Index(fields=["tenant", "day"], name="metrics_funnel_day")]


class RollupRun(TenantScopedModel, TimeStampedModel):
    """The log of a rollup rebuild or reconciliation: what was checked, what differed and was repaired."""

    class Kind(models.TextChoices):
        RECONCILE = "reconcile", "Nightly reconciliation"
        REBUILD = "rebuild", "Rebuild from scratch"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    first_day = models.DateField(null=True, blank=True)
    last_day = models.DateField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_checked = models.PositiveIntegerField(default=0)
    rows_wrong = models.PositiveIntegerField(default=0, help_text="Stored rows that differed from the response rows (or were missing/extra).")
    days_repaired = models.JSONField(default=list, blank=True)
    resume_after = models.DateField(null=True, blank=True, help_text="A reconciliation's progress: the last day of the "
                                    "last month checked and repaired; an interrupted run continues after it.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [*TenantScopedModel.Meta.constraints]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="metrics_run_recent")]


class ClientHealth(TenantScopedModel):
    """A client's churn risk (0–100) with its top reasons in words (METRICS.md "Churn risk"),
    refreshed by a beat job. One row per client."""

    class Method(models.TextChoices):
        RULES = "rules", "Rule-based score"
        MODEL = "model", "Logistic regression"

    class Band(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    client = TenantForeignKey("clients.Client", on_delete=models.CASCADE, related_name="health")
    score = models.PositiveSmallIntegerField()
    band = models.CharField(max_length=8, choices=Band.choices)
    method = models.CharField(max_length=8, choices=Method.choices)
    reasons = models.JSONField(default=list, help_text="Top 3 contributing reasons: [{code, text, weight}].")
    features = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-score", "client_id"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "client"], name="metrics_health_one_per_client"),
        ]
        indexes = [models.Index(fields=["tenant", "-score"], name="metrics_health_score")]


class ChurnModel(TenantScopedModel):
    """A fitted per-tenant churn model (regularised logistic regression) with its held-out AUC, or
    the record that the tenant had too few churned/retained clients and the rules were used."""

    fitted_at = models.DateTimeField()
    method = models.CharField(max_length=8, choices=ClientHealth.Method.choices)
    n_churned = models.PositiveIntegerField()
    n_retained = models.PositiveIntegerField()
    auc = models.FloatField(null=True, blank=True, help_text="ROC AUC on the held-out split (model only).")
    n_test = models.PositiveIntegerField(default=0)
    features = models.JSONField(default=list)
    coefficients = models.JSONField(default=dict, help_text="Standardised coefficient per feature, and the intercept.")
    is_current = models.BooleanField(default=True)

    class Meta:
        ordering = ["-fitted_at"]
        constraints = [*TenantScopedModel.Meta.constraints]
        indexes = [models.Index(fields=["tenant", "-fitted_at"], name="metrics_model_recent")]


# --- comment themes (METRICS.md "Comment themes") --------------------------------------------------

COMMENT_STAT_FIELDS = ("comments", "nps_n", "nps_promoters", "nps_detractors", "sentiment_n", "sentiment_sum", "sentiment_sumsq")


class CommentStats(models.Model):
    """The sufficient statistics of a set of comments (counted responses with a comment): how many, the NPS
    counts of those with an NPS answer, and their analysed sentiment's count, sum and sum of squares."""

    comments = models.PositiveIntegerField(default=0)
    nps_n = models.PositiveIntegerField(default=0)
    nps_promoters = models.PositiveIntegerField(default=0)
    nps_detractors = models.PositiveIntegerField(default=0)
    sentiment_n = models.PositiveIntegerField(default=0)
    sentiment_sum = models.FloatField(default=0)
    sentiment_sumsq = models.FloatField(default=0)

    class Meta:
        abstract = True


class CommentRollup(TenantScopedModel, CommentStats):
    """Every comment of one local day for one value of one dimension (as ResponseRollup): the denominators
    of theme share, and the "all comments" side of NPS impact."""

    uuid = None
    pk = models.CompositePrimaryKey("tenant_id", "dimension", "key", "day")
    day = models.DateField()
    dimension = models.CharField(max_length=16, choices=Dimension.choices)
    key = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = []

    def __str__(self) -> str:
        return f"{self.day} {self.dimension}={self.key or '—'} · {self.comments} comments"


class ThemeRollup(TenantScopedModel, CommentStats):
    """The comments with one theme, of one local day, for one value of one dimension. "Without the theme"
    is CommentRollup minus this, so every theme figure merges exactly across days and filters."""

    uuid = None
    pk = models.CompositePrimaryKey("tenant_id", "theme_id", "dimension", "key", "day")
    theme_id = models.BigIntegerField()
    day = models.DateField()
    dimension = models.CharField(max_length=16, choices=Dimension.choices)
    key = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = []
        indexes = [models.Index(fields=["tenant", "dimension", "key", "day"], name="metrics_theme_dim_day")]

    def __str__(self) -> str:
        return f"{self.day} theme {self.theme_id} {self.dimension}={self.key or '—'} · {self.comments} comments"


class CommentCellKey(models.Model):
    """The full attribution of a comment, as ResponseCell keys a response (0 for none; the channel code)."""

    day = models.DateField()
    survey_id = models.BigIntegerField()
    touchpoint_id = models.BigIntegerField(default=0)
    stage_id = models.BigIntegerField(default=0)
    journey_id = models.BigIntegerField(default=0)
    segment_id = models.BigIntegerField(default=0)
    staff_id = models.BigIntegerField(default=0)
    channel = models.CharField(max_length=16)

    class Meta:
        abstract = True


class CommentCell(TenantScopedModel, CommentStats, CommentCellKey):
    """Every comment of one local day with one full attribution (as ResponseCell): the denominators of theme
    figures filtered on two or more dimensions at once. Written with CommentRollup, in the same pass."""

    uuid = None
    pk = models.CompositePrimaryKey("tenant_id", "day", "survey_id", "touchpoint_id", "stage_id", "journey_id", "segment_id",
                                    "staff_id", "channel")

    class Meta:
        constraints = []

    def __str__(self) -> str:
        return f"{self.day} survey {self.survey_id} · {self.comments} comments"


class ThemeCell(TenantScopedModel, CommentStats, CommentCellKey):
    """The comments with one theme, of one local day, with one full attribution: ThemeRollup for any combination
    of filters ("without the theme" is CommentCell minus this, summed over the same cells)."""

    uuid = None
    pk = models.CompositePrimaryKey("tenant_id", "day", "theme_id", "survey_id", "touchpoint_id", "stage_id", "journey_id",
                                    "segment_id", "staff_id", "channel")
    theme_id = models.BigIntegerField()

    class Meta:
        constraints = []

    def __str__(self) -> str:
        return f"{self.day} theme {self.theme_id} survey {self.survey_id} · {self.comments} comments"
