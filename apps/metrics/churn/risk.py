"""Churn risk per client, 0–100, with its top 3 reasons in words (METRICS.md "Churn risk").

**Features** (`client_features`), each computed *as of* a tenant-local date (events up to the end of
that day), for many clients at once: three ORM reads of the needed columns (responses,
interactions, invitations), then pandas against each client's cutoff (no per-client query or loop;
one implementation for Postgres and SQLite):

- latest NPS category (detractor 0–6 / passive 7–8 / promoter 9–10 / no NPS answer yet), as
  indicators `nps_detractor`, `nps_promoter`, `nps_none` (passive is the baseline);
- `nps_trend`, `csat_trend`: newest − oldest of the client's last 3 answers (0 with fewer than 2);
- `days_since_interaction`, `days_since_response`: days since the last logged interaction / counted
  survey answer (`is_bot = False`); with none, days since the client became active; capped at 365;
- `survey_silence`: share of the survey invitations delivered to the client in the 180 days before
  (status sent/opened/responded/expired, created at least 7 days before, a grace period to answer)
  that had no answer by then;
- `open_follow_ups`: interactions with a follow-up not done by then (capped at 10);
- `negative_share`: share of the interactions of the last 90 days that were negative (VADER
  text_sentiment < −0.05 or staff_sentiment negative);
- `tenure_years`: years since active_from (capped at 10).

**Scores.** With ≥ 30 churned and ≥ 30 retained clients (`MIN_PER_CLASS`) a per-tenant regularised
logistic regression (`fit_model`: scikit-learn, L2, C = 1, balanced class weights, standardised
features, fixed random_state) is fitted on a stratified 70/30 split; the held-out ROC AUC is stored on
the ChurnModel row, and the model fitted on the 70% is the one that scores (so the stored AUC is
exactly that model's). Score = round(100 × predicted probability). Reasons = the 3 feature groups
with the largest positive contributions (coefficient × standardised value; the three NPS-category
indicators form one group). Otherwise the documented rules (`RULES`, `rule_score`) give the score and
the reasons are the rules that added the most points.

**Training rows.** Churned clients: features as of `HORIZON_DAYS` before their churn date (what was
visible before they left), those that churned in the last `LOOKBACK_DAYS` and were already active then.
Retained: every active client, as of today. At most `MAX_TRAINING_ROWS` rows (half of them at most
churned), sampled with a fixed seed, which bounds both the queries and the fit on large tenants.

**Bands**: high ≥ 60, medium ≥ 30, else low.

**Refresh** (`churn_risk_refresh`): scores every active client (status active, no churn date, active
from today or earlier) and upserts its ClientHealth row in one transaction under a per-tenant lock;
rows of clients no longer active (churned since, back to prospect, …) are **deleted**, and
`churn_risk_list` also hides a client that churned after the last refresh. A retry leaves the same
rows (same ids and content; only computed_at moves). Each refresh records a ChurnModel row (the
newest is_current).

Works on Postgres and SQLite alike (the demo scores its clients); only the refresh's lock (a row lock of
apps.tenancy.locks) is Postgres-only (SQLite serialises writers anyway).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from apps.core.dates import day_start, local_today
from apps.core.events import churn_risk_scored
from apps.metrics.churn.retention import days64
from apps.tenancy.context import require_current_tenant
from apps.tenancy.locks import tenant_locks

HORIZON_DAYS = 30
LOOKBACK_DAYS = 3 * 365
MIN_PER_CLASS = 30
MAX_TRAINING_ROWS = 20_000
TEST_SIZE = 0.3
RANDOM_STATE = 0
HIGH, MEDIUM = 60, 30
DAYS_CAP = 365
SILENCE_WINDOW_DAYS, SILENCE_GRACE_DAYS = 180, 7
RECENT_DAYS = 90
NEGATIVE_TEXT = -0.05

MODEL_FEATURES = [
    "nps_detractor", "nps_promoter", "nps_none", "nps_trend", "csat_trend", "days_since_interaction",
    "days_since_response", "survey_silence", "open_follow_ups", "negative_share", "tenure_years",
]
GROUPS = {"nps_detractor": "nps_category", "nps_promoter": "nps_category", "nps_none": "nps_category", "tenure_years": "tenure"}

# The rule-based score: points per rule (summed, capped at 100). Documented here and in the reasons.
RULES = {
    "nps_category": "latest NPS answer a detractor (0–6): 30; a passive (7–8) or no NPS answer yet: 10",
    "nps_trend": "NPS falling over the last 3 answers: 4 per point of fall, at most 16",
    "csat_trend": "CSAT falling over the last 3 answers: 5 per point of fall, at most 10",
    "days_since_interaction": "no interaction for 60 days: 10; for 120 days: 20",
    "days_since_response": "no survey answer for 180 days: 10",
    "survey_silence": "invitations of the last 6 months unanswered: 15 × the unanswered share",
    "open_follow_ups": "open follow-ups: 5 each, at most 15",
    "negative_share": "negative interactions in the last 90 days: 20 × their share",
    "tenure": "client for less than 180 days: 5",
}


# --- features -----------------------------------------------------------------------------------

# Above this many clients the feature reads take the tenant's rows (with a client, before the latest
# cutoff) and keep the wanted clients in pandas, rather than an IN list of every id (SQLite caps the
# number of query parameters; a near-complete list buys nothing on Postgres either).
_IN_LIMIT = 900


def _clients() -> pd.DataFrame:
    """Every client that is not a prospect: id, active_from, churned_on, status (one query)."""
    from apps.clients.models import Client

    rows = Client.objects.exclude(status=Client.Status.PROSPECT).values_list("id", "active_from", "churned_on", "status")
    frame = pd.DataFrame.from_records(list(rows), columns=["client_id", "active_from", "churned_on", "status"])
    return frame.set_index("client_id").sort_index()


def _read(queryset, columns: list[str], *, times: tuple[str, ...] = (), numbers: tuple[str, ...] = ()) -> pd.DataFrame:
    """The named columns of a queryset as a frame (values_list: nothing else is read). Timestamps
    become datetime64 UTC, `numbers` float (None → NaN), so empty or all-null columns compare too."""
    frame = pd.DataFrame.from_records(list(queryset.values_list(*columns)), columns=columns)
    for column in times:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    for column in numbers:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["client_id"] = frame["client_id"].astype("int64")
    return frame


def _before_cutoff(frame: pd.DataFrame, cutoffs: pd.Series, at: str) -> pd.DataFrame:
    """The rows of the wanted clients strictly before their client's cutoff, with a `cutoff` column."""
    frame = frame.assign(cutoff=frame["client_id"].map(cutoffs))
    return frame[frame[at] < frame["cutoff"]]  # NaT (a client not asked about) compares False


def _last_three(responses: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per client, over its last ≤3 answers with `column` (newest first: submitted_at, then id):
    count, newest, oldest, trend = newest − oldest (0 with fewer than 2)."""
    answered = responses[responses[column].notna()].sort_values(["client_id", "submitted_at", "id"], ascending=[True, False, False])
    grouped = answered.groupby("client_id").head(3).groupby("client_id")[column]
    out = pd.DataFrame({"count": grouped.size(), "latest": grouped.first(), "oldest": grouped.last()})
    out["trend"] = np.where(out["count"] >= 2, out["latest"] - out["oldest"], 0.0)
    return out


def _local_days_between(as_of: pd.Series, moments: pd.Series, tz: str) -> pd.Series:
    """Days from the tenant-local date of each moment (UTC) to the as-of date; NaN with no moment."""
    local = moments.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    return (as_of - local).dt.days


def client_features(tenant, as_of: date | Mapping[int, date], *, clients: pd.DataFrame | None = None) -> pd.DataFrame:
    """Features of METRICS.md "Churn risk" (listed in the module docstring), one row per client,
    indexed by client id. `as_of` is one tenant-local date (then: every client active on that day) or
    a mapping client id → date (training: each churned client as of its own date). Events up to the
    end of the as-of day count (before the start of the next local day: the client's cutoff).

    Three ORM reads of the needed columns only (responses, interactions, invitations of the clients
    asked about, before the latest cutoff), whatever the number of clients; every feature is then
    computed in pandas against each client's own cutoff (vectorised; the same on Postgres and SQLite).

    Columns: MODEL_FEATURES plus the raw facts the reasons quote (nps_latest, nps_oldest, nps_count,
    csat_*, interaction_days, response_days, invited, unanswered, recent_interactions,
    negative_interactions, tenure_days, as_of)."""
    from apps.surveys.models import Invitation, Response
    from apps.touchpoints.models import Interaction

    if require_current_tenant().pk != tenant.pk:
        raise ValueError("client_features runs with its tenant active")
    clients = _clients() if clients is None else clients
    if isinstance(as_of, date):
        af = clients["active_from"]
        active = (af <= as_of) & clients["churned_on"].map(lambda d: d is None or pd.isna(d) or d > as_of)
        as_of_by_client = {int(cid): as_of for cid in clients.index[active.to_numpy()]}
    else:
        as_of_by_client = {int(cid): d for cid, d in as_of.items() if cid in clients.index}

    ids = sorted(as_of_by_client)
    frame = pd.DataFrame(index=pd.Index(ids, name="client_id", dtype="int64"))
    frame["as_of"] = [as_of_by_client[cid] for cid in ids]
    frame["active_from"] = clients.loc[ids, "active_from"].to_numpy() if ids else []
    if not ids:
        for column in MODEL_FEATURES:
            frame[column] = pd.Series(dtype=float)
        return frame

    tz = tenant.time_zone
    starts = {d: day_start(tz, d + timedelta(days=1)) for d in set(as_of_by_client.values())}  # one per distinct date
    cutoffs = pd.Series(pd.to_datetime([starts[d] for d in frame["as_of"]], utc=True), index=frame.index)
    first_cutoff, last_cutoff = min(starts.values()), max(starts.values())
    mine = {"client_id__in": ids} if len(ids) <= _IN_LIMIT else {"client_id__isnull": False}
    as_of_day = pd.Series(pd.to_datetime(frame["as_of"]).to_numpy(), index=frame.index)

    responses = _read(Response.objects.filter(is_bot=False, submitted_at__lt=last_cutoff, **mine),
                      ["client_id", "submitted_at", "nps", "csat", "id"], times=("submitted_at",), numbers=("nps", "csat"))
    responses = _before_cutoff(responses, cutoffs, "submitted_at")
    interactions = _read(Interaction.objects.filter(occurred_at__lt=last_cutoff, **mine),
                         ["client_id", "occurred_at", "text_sentiment", "staff_sentiment", "follow_up", "follow_up_done_at"],
                         times=("occurred_at", "follow_up_done_at"), numbers=("text_sentiment", "staff_sentiment"))
    interactions = _before_cutoff(interactions, cutoffs, "occurred_at")
    statuses = [Invitation.Status.SENT, Invitation.Status.OPENED, Invitation.Status.RESPONDED, Invitation.Status.EXPIRED]
    invitations = _read(Invitation.objects.filter(status__in=statuses, created_at__gte=first_cutoff - timedelta(days=SILENCE_WINDOW_DAYS),
                                                  created_at__lt=last_cutoff - timedelta(days=SILENCE_GRACE_DAYS), **mine),
                        ["client_id", "created_at", "responded_at"], times=("created_at", "responded_at"))
    invitations = _before_cutoff(invitations, cutoffs, "created_at")

    # Responses: the last counted answer; the last 3 NPS and CSAT answers.
    last_response = responses.groupby("client_id")["submitted_at"].max().reindex(frame.index)
    nps = _last_three(responses, "nps").reindex(frame.index)
    csat = _last_three(responses, "csat").reindex(frame.index)

    # Interactions: the last one; the last 90 days' count and negative ones; follow-ups open at the cutoff.
    recent = interactions["occurred_at"] >= interactions["cutoff"] - timedelta(days=RECENT_DAYS)
    negative = recent & ((interactions["text_sentiment"] < NEGATIVE_TEXT) | (interactions["staff_sentiment"] < 0))
    open_follow_up = interactions["follow_up"].astype(bool) & (
        interactions["follow_up_done_at"].isna() | (interactions["follow_up_done_at"] >= interactions["cutoff"]))
    per_interaction = pd.DataFrame({"client_id": interactions["client_id"], "recent": recent.astype("int64"),
                                    "negative": negative.astype("int64"), "open": open_follow_up.astype("int64")})
    counts = per_interaction.groupby("client_id")[["recent", "negative", "open"]].sum().reindex(frame.index, fill_value=0)
    last_interaction = interactions.groupby("client_id")["occurred_at"].max().reindex(frame.index)

    # Invitations delivered in the 180 days before the cutoff, at least the grace week old; unanswered by then.
    delivered = invitations[(invitations["created_at"] >= invitations["cutoff"] - timedelta(days=SILENCE_WINDOW_DAYS))
                            & (invitations["created_at"] < invitations["cutoff"] - timedelta(days=SILENCE_GRACE_DAYS))]
    unanswered_row = delivered["responded_at"].isna() | (delivered["responded_at"] >= delivered["cutoff"])
    silence = pd.DataFrame({"client_id": delivered["client_id"], "invited": 1, "unanswered": unanswered_row.astype("int64")})
    silence = silence.groupby("client_id")[["invited", "unanswered"]].sum().reindex(frame.index, fill_value=0)

    # In days64 (churn.py): an active_from of any year may be stored, beyond pandas' nanosecond range.
    tenure = (days64(frame["as_of"]) - days64(frame["active_from"])) // np.timedelta64(1, "D")
    tenure_days = pd.Series(tenure, index=frame.index).clip(lower=0).astype("int64")
    interaction_days = _local_days_between(as_of_day, last_interaction, tz)
    response_days = _local_days_between(as_of_day, last_response, tz)
    invited, unanswered = silence["invited"].astype("int64"), silence["unanswered"].astype("int64")
    recent_n, negative_n, open_n = (counts[c].astype("int64") for c in ("recent", "negative", "open"))
    latest = nps["latest"]

    features = pd.DataFrame({
        "nps_detractor": (latest <= 6).astype(float),
        "nps_promoter": (latest >= 9).astype(float),
        "nps_none": latest.isna().astype(float),
        "nps_trend": nps["trend"].fillna(0.0).astype(float),
        "csat_trend": csat["trend"].fillna(0.0).astype(float),
        "days_since_interaction": interaction_days.fillna(tenure_days).clip(upper=DAYS_CAP).astype(float),
        "days_since_response": response_days.fillna(tenure_days).clip(upper=DAYS_CAP).astype(float),
        "survey_silence": (unanswered / invited.where(invited > 0)).fillna(0.0),
        "open_follow_ups": open_n.clip(upper=10).astype(float),
        "negative_share": (negative_n / recent_n.where(recent_n > 0)).fillna(0.0),
        "tenure_years": (tenure_days / 365.25).clip(upper=10.0),
        "nps_latest": latest.astype(float), "nps_oldest": nps["oldest"].astype(float), "nps_count": nps["count"].fillna(0).astype("int64"),
        "csat_latest": csat["latest"].astype(float), "csat_oldest": csat["oldest"].astype(float),
        "csat_count": csat["count"].fillna(0).astype("int64"),
        "interaction_days": interaction_days.astype(float), "response_days": response_days.astype(float),
        "invited": invited, "unanswered": unanswered,
        "recent_interactions": recent_n, "negative_interactions": negative_n,
        "open_follow_up_count": open_n, "tenure_days": tenure_days,
    }, index=frame.index)
    return frame.join(features)


# --- reasons in words ---------------------------------------------------------------------------

def _n(x) -> int | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else int(x)


def _plural(k: int, word: str) -> str:
    return f"{k} {word}" + ("" if k == 1 else "s")


def _tenure_words(days: int) -> str:
    if days < 90:
        return _plural(days, "day")
    if days < 730:
        return _plural(days // 30, "month")
    return _plural(days // 365, "year")


def reason_text(group: str, f: Mapping) -> str:
    """A reason a CX lead reads, from the client's raw facts (`f`: one row of client_features)."""
    if group == "nps_category":
        latest = _n(f.get("nps_latest"))
        if latest is None:
            return "No NPS answer yet"
        kind = "a detractor" if latest <= 6 else "a passive" if latest <= 8 else "a promoter"
        return f"Last NPS answer was {kind} ({latest}/10)"
    if group in ("nps_trend", "csat_trend"):
        name, top = ("NPS", 10) if group == "nps_trend" else ("CSAT", 5)
        prefix = group.split("_")[0]
        count, newest, oldest = _n(f.get(f"{prefix}_count")) or 0, _n(f.get(f"{prefix}_latest")), _n(f.get(f"{prefix}_oldest"))
        if count < 2:
            return f"Fewer than 2 {name} answers, no trend yet"
        if newest < oldest:
            return f"{name} fell from {oldest} to {newest}/{top} over the last {count} answers"
        if newest > oldest:
            return f"{name} rose from {oldest} to {newest}/{top} over the last {count} answers"
        return f"{name} unchanged at {newest}/{top} over the last {count} answers"
    if group in ("days_since_interaction", "days_since_response"):
        what = "interaction" if group == "days_since_interaction" else "survey answer"
        days = _n(f.get("interaction_days" if group == "days_since_interaction" else "response_days"))
        if days is None:
            return f"No {what} since becoming a client {_tenure_words(_n(f.get('tenure_days')) or 0)} ago"
        if days >= 30:
            return f"No {what} for {days} days"
        return f"Last {what} {_plural(days, 'day')} ago"
    if group == "survey_silence":
        invited, unanswered = _n(f.get("invited")) or 0, _n(f.get("unanswered")) or 0
        if not invited:
            return "No survey invitations in the last 6 months"
        return f"{unanswered} of {_plural(invited, 'survey invitation')} in the last 6 months unanswered"
    if group == "open_follow_ups":
        k = _n(f.get("open_follow_up_count")) or 0
        return _plural(k, "open follow-up") if k else "No open follow-ups"
    if group == "negative_share":
        recent, negative = _n(f.get("recent_interactions")) or 0, _n(f.get("negative_interactions")) or 0
        if not recent:
            return "No interactions in the last 90 days"
        return f"{negative} of {_plural(recent, 'interaction')} in the last 90 days negative"
    if group == "tenure":
        return f"Client for {_tenure_words(_n(f.get('tenure_days')) or 0)}"
    raise ValueError(group)


# --- the rules ----------------------------------------------------------------------------------

def _rule_points(f: Mapping) -> dict[str, int]:
    points = {}
    latest = _n(f.get("nps_latest"))
    points["nps_category"] = 10 if latest is None else 30 if latest <= 6 else 10 if latest <= 8 else 0
    points["nps_trend"] = min(16, round(4 * max(0.0, -float(f.get("nps_trend") or 0))))
    points["csat_trend"] = min(10, round(5 * max(0.0, -float(f.get("csat_trend") or 0))))
    idle = float(f.get("days_since_interaction") or 0)
    points["days_since_interaction"] = 20 if idle >= 120 else 10 if idle >= 60 else 0
    points["days_since_response"] = 10 if float(f.get("days_since_response") or 0) >= 180 else 0
    points["survey_silence"] = round(15 * float(f.get("survey_silence") or 0))
    points["open_follow_ups"] = min(15, 5 * (_n(f.get("open_follow_up_count")) or 0))
    points["negative_share"] = round(20 * float(f.get("negative_share") or 0))
    points["tenure"] = 5 if (_n(f.get("tenure_days")) or 0) < 180 else 0
    return points


def rule_score(features: Mapping) -> tuple[int, list[dict]]:
    """The documented rule-based score (`RULES`): the points of every rule that applies, summed and
    capped at 100; reasons = the (at most) 3 rules that added the most points, in words."""
    points = _rule_points(features)
    score = min(100, sum(points.values()))
    ranked = sorted(((p, g) for g, p in points.items() if p > 0), key=lambda item: (-item[0], list(points).index(item[1])))
    reasons = [{"code": g, "text": reason_text(g, features), "weight": float(p)} for p, g in ranked[:3]]
    return score, reasons


def band_of(score: int) -> str:
    return "high" if score >= HIGH else "medium" if score >= MEDIUM else "low"


# --- the model ----------------------------------------------------------------------------------

@dataclass
class ChurnFit:
    """A fitted churn model: the pipeline fitted on the training split and its held-out AUC."""

    pipeline: object
    features: list[str]
    auc: float
    n_test: int
    n_churned: int
    n_retained: int
    coefficients: dict = field(default_factory=dict)

    def score(self, frame: pd.DataFrame) -> tuple[np.ndarray, list[list[dict]]]:
        """Scores 0–100 and, per row, the top 3 positive contributions (coef × standardised value)
        grouped as in GROUPS, in words — among the facts the rules count as risks for that client."""
        if frame.empty:
            return np.zeros(0, dtype=int), []
        x = frame[self.features].to_numpy(dtype=float)
        scaler, model = self.pipeline.named_steps["scale"], self.pipeline.named_steps["model"]
        probabilities = self.pipeline.predict_proba(x)[:, 1]
        contributions = scaler.transform(x) * model.coef_[0]
        groups = [GROUPS.get(name, name) for name in self.features]
        names = list(dict.fromkeys(groups))
        by_group = np.zeros((len(frame), len(names)))
        for j, g in enumerate(groups):
            by_group[:, names.index(g)] += contributions[:, j]
        reasons = []
        records = frame.to_dict("records")
        for row, facts in zip(by_group, records, strict=True):
            # A reason must push this score up *and* be a documented risk fact for this client (a rule
            # gives it points): a model weight alone could name a reassuring fact ("no invitations").
            risky = {g for g, p in _rule_points(facts).items() if p > 0}
            order = sorted((k for k in range(len(names)) if row[k] > 1e-9 and names[k] in risky), key=lambda k: -row[k])[:3]
            reasons.append([{"code": names[k], "text": reason_text(names[k], facts), "weight": round(float(row[k]), 3)} for k in order])
        return np.rint(100 * probabilities).astype(int), reasons


def fit_model(frame: pd.DataFrame, labels) -> ChurnFit | None:
    """A regularised logistic regression (scikit-learn: L2, C = 1, class_weight balanced, standardised
    features, lbfgs, random_state fixed) on a stratified 70/30 split, with the ROC AUC of the held-out
    30% — when there are ≥ MIN_PER_CLASS churned (label 1) and retained (label 0) rows; else None (the
    caller uses the rules)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(labels, dtype=int)
    n_churned, n_retained = int(y.sum()), int(len(y) - y.sum())
    if n_churned < MIN_PER_CLASS or n_retained < MIN_PER_CLASS:
        return None
    x = frame[MODEL_FEATURES].to_numpy(dtype=float)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=TEST_SIZE, stratify=y, random_state=RANDOM_STATE)
    pipeline = Pipeline([
        ("scale", StandardScaler()),
        ("model", LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000, random_state=RANDOM_STATE)),
    ])
    pipeline.fit(x_train, y_train)
    auc = float(roc_auc_score(y_test, pipeline.predict_proba(x_test)[:, 1]))
    model = pipeline.named_steps["model"]
    coefficients = {name: round(float(c), 6) for name, c in zip(MODEL_FEATURES, model.coef_[0], strict=True)}
    coefficients["intercept"] = round(float(model.intercept_[0]), 6)
    return ChurnFit(pipeline=pipeline, features=list(MODEL_FEATURES), auc=auc, n_test=len(y_test),
                    n_churned=n_churned, n_retained=n_retained, coefficients=coefficients)


def training_set(tenant, clients: pd.DataFrame, current: pd.DataFrame, today: date) -> tuple[pd.DataFrame, np.ndarray, int, int]:
    """Rows and labels (1 = churned) to fit on, and how many churned / retained clients were usable.
    Churned: as of HORIZON_DAYS before the churn date, for clients that churned within LOOKBACK_DAYS
    and were already active then. Retained: `current` (the active clients' features as of today).
    Capped at MAX_TRAINING_ROWS (at most half churned), a seeded sample. With fewer than
    MIN_PER_CLASS of either, no rows (the rules score) and no feature query."""
    churned = clients[clients["churned_on"].notna()].copy()
    # The window first: a churn date of any year may be stored, and one near 0001-01-01 has no as-of date.
    churned = churned[(churned["churned_on"] <= today) & (churned["churned_on"] >= today - timedelta(days=LOOKBACK_DAYS))]
    churned["as_of"] = churned["churned_on"].map(lambda d: d - timedelta(days=HORIZON_DAYS))
    churned = churned[churned["as_of"] >= churned["active_from"]]
    usable_churned, usable_retained = len(churned), len(current)
    if usable_churned < MIN_PER_CLASS or usable_retained < MIN_PER_CLASS:
        return pd.DataFrame(), np.zeros(0, dtype=int), usable_churned, usable_retained
    retained = current
    if len(churned) + len(retained) > MAX_TRAINING_ROWS:
        take_churned = min(len(churned), MAX_TRAINING_ROWS // 2)
        churned = churned.sample(n=take_churned, random_state=RANDOM_STATE).sort_index()
        retained = retained.sample(n=min(len(retained), MAX_TRAINING_ROWS - take_churned), random_state=RANDOM_STATE).sort_index()
    churned_features = client_features(tenant, dict(zip(churned.index, churned["as_of"], strict=True)), clients=clients)
    frame = pd.concat([churned_features, retained])
    labels = np.concatenate([np.ones(len(churned_features), dtype=int), np.zeros(len(retained), dtype=int)])
    return frame, labels, usable_churned, usable_retained


# --- refresh and list ---------------------------------------------------------------------------

def _json_facts(facts: Mapping) -> dict:
    out = {}
    for key, value in facts.items():
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, (np.integer,)):
            value = int(value)
        elif isinstance(value, (float, np.floating)):
            value = None if math.isnan(value) else round(float(value), 4)
        out[key] = value
    return out


def _lock(tenant) -> None:
    tenant_locks(["churn-risk"])


def churn_risk_refresh(tenant, *, today: date | None = None) -> dict:
    """Score every active client (METRICS.md "Churn risk"; method and rules in the module docstring)
    and write its ClientHealth row: one transaction, one per-tenant lock, bulk upsert on (tenant,
    client), rows of clients no longer active deleted, a ChurnModel row recorded. Idempotent: a retry
    leaves the same rows. Returns {"method", "scored", "removed", "n_churned", "n_retained", "auc",
    "n_test", "model"}."""
    from apps.metrics.models import ChurnModel, ClientHealth

    if require_current_tenant().pk != tenant.pk:
        raise ValueError("churn_risk_refresh runs with its tenant active")
    today = today or local_today(tenant.time_zone)
    with transaction.atomic():
        _lock(tenant)
        clients = _clients()
        current = client_features(tenant, today, clients=clients)
        current = current[(clients.loc[current.index, "status"] == "active").to_numpy()] if len(current) else current
        frame, labels, n_churned, n_retained = training_set(tenant, clients, current, today)
        fit = fit_model(frame, labels) if len(frame) else None
        if fit is not None:  # the rows it was fitted on (after the cap)
            n_churned, n_retained = fit.n_churned, fit.n_retained

        if fit is not None:
            scores, reasons = fit.score(current)
            method = ClientHealth.Method.MODEL
        else:
            results = [rule_score(facts) for facts in current.to_dict("records")]
            scores = [score for score, _ in results]
            reasons = [why for _, why in results]
            method = ClientHealth.Method.RULES

        computed_at = timezone.now()
        previous = dict(ClientHealth.objects.values_list("client_id", "score"))  # for the alert rules' crossings
        columns = [c for c in current.columns if c not in ("active_from",)]
        rows = [
            ClientHealth(tenant=tenant, client_id=int(cid), score=int(score), band=band_of(int(score)), method=method, reasons=why,
                         features=_json_facts(facts), computed_at=computed_at)
            for cid, score, why, facts in zip(current.index, scores, reasons, current[columns].to_dict("records"), strict=True)
        ]
        ClientHealth.objects.bulk_create(rows, batch_size=1000, update_conflicts=True, unique_fields=["tenant", "client"],
                                         update_fields=["score", "band", "method", "reasons", "features", "computed_at"])
        removed, _ = ClientHealth.objects.exclude(computed_at=computed_at).delete()
        # Churn-risk alert rules (feedback) open cases for the clients whose score crossed a threshold.
        changes = [(row.client_id, previous.get(row.client_id), row.score) for row in rows]
        cases_opened = sum(opened or 0 for _, opened in churn_risk_scored.send(sender=ClientHealth, tenant=tenant, changes=changes))

        ChurnModel.objects.filter(is_current=True).update(is_current=False)
        model = ChurnModel.objects.create(
            tenant=tenant, fitted_at=computed_at, method=method, n_churned=n_churned, n_retained=n_retained,
            auc=fit.auc if fit else None, n_test=fit.n_test if fit else 0,
            features=list(MODEL_FEATURES) if fit else list(RULES), coefficients=fit.coefficients if fit else {}, is_current=True,
        )
    return {"method": str(method), "scored": len(rows), "removed": removed, "n_churned": n_churned, "n_retained": n_retained,
            "auc": fit.auc if fit else None, "n_test": fit.n_test if fit else 0, "model": str(model.uuid), "cases_opened": cases_opened}


def churn_risk_list(tenant, *, segment_id: int | None = None, owner_id: int | None = None, band: str | None = None):
    """ClientHealth rows of the active tenant, client select_related, riskiest first (score desc, then
    client id), optionally of one segment / owner (Membership id) / band. A client that churned since
    the last refresh is left out (its row goes at the next refresh)."""
    from apps.metrics.models import ClientHealth

    if require_current_tenant().pk != tenant.pk:
        raise ValueError("churn_risk_list runs with its tenant active")
    rows = ClientHealth.objects.select_related("client").filter(client__churned_on__isnull=True).exclude(client__status="churned")
    if segment_id is not None:
        rows = rows.filter(client__segment_id=segment_id)
    if owner_id is not None:
        rows = rows.filter(client__owner_id=owner_id)
    if band is not None:
        rows = rows.filter(band=band)
    return rows.order_by("-score", "client_id")
