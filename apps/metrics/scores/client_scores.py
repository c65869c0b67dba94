"""A staff member's clients with their latest scores (the staff home, issue 7 "Staff home").

For every client a member owns (`Client.owner`) that has not churned: the latest counted NPS, CSAT and
CES answer (counted: not bot-flagged, METRICS.md "Counting rules"), each with its tenant-local day,
and the client's churn-risk score and band (apps.metrics ClientHealth, refreshed nightly; none before
the first refresh or for a prospect). Riskiest first, then by name.

Only the owner's clients are ever read (the query filters on the owner before anything else): staff
never see another staff member's clients. One query whatever the number of clients or responses:
the latest answers and the risk are correlated subqueries (served by the index (tenant, client,
-submitted_at)), the total a window count over the same rows.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, F, OuterRef, Q, Subquery, Window
from django.utils import timezone

from apps.clients.models import Client
from apps.metrics.models import ClientHealth
from apps.surveys.models import Response
from apps.tenancy.models import Membership, Tenant

CLIENT_SCORES_LIMIT = 50
SCORES = ("nps", "csat", "ces")


@dataclass(frozen=True)
class LatestScore:
    value: int | None
    day: date | None  # tenant-local day of the answer


@dataclass(frozen=True)
class ClientScores:
    uuid: str
    name: str
    segment: str
    status: str
    nps: LatestScore
    csat: LatestScore
    ces: LatestScore
    risk_score: int | None
    risk_band: str | None  # ClientHealth.Band value

    @property
    def risk_band_label(self) -> str:
        return str(ClientHealth.Band(self.risk_band).label) if self.risk_band else ""


@dataclass(frozen=True)
class OwnedClientScores:
    rows: tuple[ClientScores, ...]
    total: int  # all the owner's clients that have not churned; rows holds at most `limit` of them
    limit: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


def _latest(metric: str, column: str) -> Subquery:
    answers = (Response.objects.filter(client=OuterRef("pk"), is_bot=False, **{f"{metric}__isnull": False})
               .order_by("-submitted_at", "-id").values(column)[:1])
    return Subquery(answers)


def client_scores_owned(*, tenant: Tenant, owner: Membership, limit: int = CLIENT_SCORES_LIMIT) -> OwnedClientScores:
    """The owner's clients that have not churned (status and churn date both say so), riskiest first
    (clients without a score after those with one), then by name; at most `limit` rows. One query."""
    tz = zoneinfo.ZoneInfo(tenant.time_zone)
    clients = Client.objects.filter(owner=owner).exclude(Q(status=Client.Status.CHURNED) | Q(churned_on__isnull=False))
    health = ClientHealth.objects.filter(client=OuterRef("pk"))
    annotations = {"risk_score": Subquery(health.values("score")[:1]), "risk_band": Subquery(health.values("band")[:1])}
    for metric in SCORES:
        annotations[f"{metric}_value"] = _latest(metric, metric)
        annotations[f"{metric}_at"] = _latest(metric, "submitted_at")
    rows = list(clients.annotate(**annotations, total=Window(Count("pk")))
                .order_by(F("risk_score").desc(nulls_last=True), "name", "pk")
                .values("uuid", "name", "segment__name", "status", "total", *annotations)[:limit])

    def score(row, metric) -> LatestScore:
        at = row[f"{metric}_at"]
        return LatestScore(value=row[f"{metric}_value"], day=timezone.localtime(at, tz).date() if at is not None else None)

    out = tuple(
        ClientScores(uuid=str(row["uuid"]), name=row["name"], segment=row["segment__name"] or "", status=row["status"],
                     nps=score(row, "nps"), csat=score(row, "csat"), ces=score(row, "ces"),
                     risk_score=row["risk_score"], risk_band=row["risk_band"])
        for row in rows
    )
    return OwnedClientScores(rows=out, total=rows[0]["total"] if rows else 0, limit=limit)
