"""Configuration health of a workspace (issue 7, admin dashboard): what is set up — surveys, kiosks,
members and their invitations, contacts' opt-outs — and how distribution went in a period of
tenant-local days: invitations by outcome and by day of creation, skips with their reasons, and the
e-mail outbox's failures.

Counted straight from the rows (the admin needs what is true now, not the nightly-reconciled
rollups) with GROUP BY queries: `configuration_health` costs a fixed number of queries (ten) whatever
the number of surveys, invitations, kiosks or members. Runs with the tenant active (scoped managers
and row-level security).

Readings (the same as the response funnel, apps.metrics.funnel and METRICS.md "Response rate and
funnel"): an invitation counts on the local day it was created; `skipped` ones (opted out, fatigue
rule, no address, …) were never sent and are not *invited*; of the invited, `pending` are still
queued; delivered = invited − bounced − failed − pending.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.accounts.models import MembershipInvitation
from apps.clients.models import Contact
from apps.core.dates import days_bounds, zone
from apps.messaging.models import OutboundEmail
from apps.metrics import stats
from apps.surveys.models import Invitation, KioskDevice, Response, Survey
from apps.tenancy.models import AuditEvent, Membership, Role

S = Invitation.Status
FUNNEL_COUNTS = ("invited", "pending", "bounced", "failed", "opened", "responded", "skipped")
RECENT_FAILURES = 5


@dataclass(frozen=True)
class Outcomes:
    """Invitations created in the period, by outcome (raw counts), and the funnel readings of them."""

    invited: int = 0
    pending: int = 0
    bounced: int = 0
    failed: int = 0
    opened: int = 0
    responded: int = 0
    skipped: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def funnel(self) -> dict:
        """stats.funnel_block: delivered, response and open rates with the response rate's interval."""
        return stats.funnel_block(**{name: getattr(self, name) for name in FUNNEL_COUNTS})

    @property
    def delivered(self) -> int:
        return self.funnel["delivered"]

    @property
    def sent(self) -> int:
        """Invitations that left the queue (delivered, bounced or failed)."""
        return self.invited - self.pending

    def __add__(self, other: Outcomes) -> Outcomes:
        reasons = dict(self.skipped_by_reason)
        for code, n in other.skipped_by_reason.items():
            reasons[code] = reasons.get(code, 0) + n
        return Outcomes(**{name: getattr(self, name) + getattr(other, name) for name in FUNNEL_COUNTS}, skipped_by_reason=reasons)


@dataclass(frozen=True)
class SurveyHealth:
    uuid: str
    name: str
    status: str
    status_label: str
    kind_label: str
    trigger_label: str
    touchpoint: str
    closes_at: datetime | None
    responses: int  # counted responses submitted in the period
    last_response_at: datetime | None  # the latest counted response, ever
    active_kiosks: int
    outcomes: Outcomes  # its invitations created in the period


@dataclass(frozen=True)
class DayOutcomes:
    day: date
    outcomes: Outcomes


@dataclass(frozen=True)
class OutboxCount:
    kind: str
    kind_label: str
    status: str
    status_label: str
    emails: int
    waiting_retry: int  # pending after at least one failed attempt


@dataclass(frozen=True)
class OutboxFailure:
    created_at: datetime
    kind_label: str
    survey: str
    attempts: int
    last_error: str


@dataclass(frozen=True)
class KioskHealth:
    uuid: str
    name: str
    survey: str
    survey_uuid: str
    touchpoint: str
    created_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None
    responses: int  # counted responses through it in the period

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class RoleCount:
    role: str
    label: str
    active: int
    inactive: int
    joined: int  # memberships created in the period
    invitations_pending: int  # pending and still usable
    invitations_expired: int  # pending past their expiry, or marked expired
    invited: int  # invitations sent in the period


@dataclass(frozen=True)
class ContactCounts:
    total: int
    opted_out: int
    without_email: int
    opted_out_in_period: int  # by a survey's opt-out link (audit events "contact.opted_out")


@dataclass(frozen=True)
class ConfigurationHealth:
    first: date
    last: date
    now: datetime
    survey_status: dict[str, int]  # every Survey.Status, in choice order
    surveys: list[SurveyHealth]  # every survey: live, paused, draft, then closed; by name within
    outcomes: Outcomes  # every invitation created in the period
    days: list[DayOutcomes]  # every day of the period, in order (days without invitations included)
    outbox: list[OutboxCount]  # e-mails queued in the period, per kind and status (only those present)
    outbox_failures: list[OutboxFailure]  # the latest e-mails of the period that gave up, newest first
    contacts: ContactCounts
    kiosks: list[KioskHealth]  # active first, then revoked; by name within
    members: list[RoleCount]  # every role, admin → viewer

    @property
    def skip_reasons(self) -> list[tuple[str, str, int]]:
        """(code, label, count) for every Invitation.SkipReason, in choice order (zeros included)."""
        return [(code, str(label), self.outcomes.skipped_by_reason.get(code, 0)) for code, label in Invitation.SkipReason.choices]


_STATUS_ORDER = {Survey.Status.LIVE: 0, Survey.Status.PAUSED: 1, Survey.Status.DRAFT: 2, Survey.Status.CLOSED: 3}


def _outcomes(rows) -> Outcomes:
    """Outcomes of grouped invitation rows {status, skip_reason, n, opened, responded}."""
    counts = dict.fromkeys(FUNNEL_COUNTS, 0)
    reasons: dict[str, int] = defaultdict(int)
    for row in rows:
        n = row["n"]
        if row["status"] == S.SKIPPED:
            counts["skipped"] += n
            reasons[row["skip_reason"] or ""] += n
            continue
        counts["invited"] += n
        counts["opened"] += row["opened"]
        counts["responded"] += row["responded"]
        if row["status"] == S.QUEUED:
            counts["pending"] += n
        elif row["status"] == S.BOUNCED:
            counts["bounced"] += n
        elif row["status"] == S.FAILED:
            counts["failed"] += n
    return Outcomes(**counts, skipped_by_reason=dict(reasons))


def configuration_health(tenant, *, first: date, last: date, now: datetime | None = None) -> ConfigurationHealth:
    """The configuration health of the active tenant for the local days first..last (inclusive).
    Ten queries: surveys (with their latest response), responses per survey and kiosk, invitations
    per day × survey × status × skip reason, the outbox per kind × status, its latest failures,
    contacts, opt-outs, kiosks, memberships per role, member invitations per role."""
    now = now or timezone.now()
    start, end = days_bounds(tenant.time_zone, first, last)
    in_period = {"created_at__gte": start, "created_at__lt": end}

    # Invitations of the period: one grouped query, folded per day, per survey and in total.
    invitation_rows = list(
        Invitation.objects.filter(**in_period)
        .annotate(day=TruncDate("created_at", tzinfo=zone(tenant.time_zone)))
        .values("day", "survey_id", "status", "skip_reason")
        .annotate(n=Count("id"), opened=Count("id", filter=Q(opened_at__isnull=False)),
                  responded=Count("id", filter=Q(responded_at__isnull=False)))
        .order_by())
    by_day, by_survey = defaultdict(list), defaultdict(list)
    for row in invitation_rows:
        by_day[row["day"]].append(row)
        by_survey[row["survey_id"]].append(row)
    days = [DayOutcomes(day=day, outcomes=_outcomes(by_day.get(day, ())))
            for day in (date.fromordinal(o) for o in range(first.toordinal(), last.toordinal() + 1))]

    # Counted responses of the period per survey and kiosk (one query serves both tables).
    responses_by_survey, responses_by_kiosk = defaultdict(int), defaultdict(int)
    for row in (Response.objects.filter(local_day__range=(first, last), is_bot=False)
                .values("survey_id", "kiosk_id").annotate(n=Count("id")).order_by()):
        responses_by_survey[row["survey_id"]] += row["n"]
        if row["kiosk_id"]:
            responses_by_kiosk[row["kiosk_id"]] += row["n"]

    kiosk_rows = list(KioskDevice.objects.select_related("survey__touchpoint", "touchpoint").order_by("name", "pk"))
    active_kiosks = defaultdict(int)
    for kiosk in kiosk_rows:
        if kiosk.revoked_at is None:
            active_kiosks[kiosk.survey_id] += 1
    kiosks = [KioskHealth(uuid=str(k.uuid), name=k.name, survey=k.survey.name, survey_uuid=str(k.survey.uuid),
                          touchpoint=(k.touchpoint or k.survey.touchpoint).name if (k.touchpoint_id or k.survey.touchpoint_id) else "",
                          created_at=k.created_at, last_seen_at=k.last_seen_at, revoked_at=k.revoked_at,
                          responses=responses_by_kiosk.get(k.pk, 0))
              for k in kiosk_rows]
    kiosks.sort(key=lambda k: (not k.active, k.name.casefold()))

    latest = Response.objects.filter(survey=OuterRef("pk"), is_bot=False).order_by("-submitted_at").values("submitted_at")[:1]
    survey_rows = list(Survey.objects.select_related("touchpoint").annotate(last_response_at=Subquery(latest)))
    surveys = [SurveyHealth(uuid=str(s.uuid), name=s.name, status=s.status, status_label=s.get_status_display(),
                            kind_label=s.get_kind_display(), trigger_label=s.get_trigger_display(),
                            touchpoint=s.touchpoint.name if s.touchpoint_id else "", closes_at=s.closes_at,
                            responses=responses_by_survey.get(s.pk, 0), last_response_at=s.last_response_at,
                            active_kiosks=active_kiosks.get(s.pk, 0), outcomes=_outcomes(by_survey.get(s.pk, ())))
               for s in survey_rows]
    surveys.sort(key=lambda s: (_STATUS_ORDER.get(s.status, 9), s.name.casefold()))
    status_counts = {value: 0 for value in Survey.Status.values}
    for s in surveys:
        status_counts[s.status] = status_counts.get(s.status, 0) + 1

    kinds, statuses = dict(OutboundEmail.Kind.choices), dict(OutboundEmail.Status.choices)
    outbox = [OutboxCount(kind=row["kind"], kind_label=str(kinds.get(row["kind"], row["kind"])), status=row["status"],
                          status_label=str(statuses.get(row["status"], row["status"])), emails=row["n"], waiting_retry=row["retry"])
              for row in (OutboundEmail.objects.filter(**in_period).values("kind", "status")
                          .annotate(n=Count("id"), retry=Count("id", filter=Q(status=OutboundEmail.Status.PENDING, attempts__gt=0)))
                          .order_by("kind", "status"))]
    failures = [OutboxFailure(created_at=e.created_at, kind_label=e.get_kind_display(),
                              survey=e.invitation.survey.name if e.invitation_id else "", attempts=e.attempts, last_error=e.last_error)
                for e in (OutboundEmail.objects.filter(status=OutboundEmail.Status.FAILED, **in_period)
                          .select_related("invitation__survey").only("created_at", "kind", "attempts", "last_error",
                                                                     "invitation__survey__name")
                          .order_by("-created_at", "-id")[:RECENT_FAILURES])]

    contact_counts = Contact.objects.aggregate(total=Count("id"), opted_out=Count("id", filter=Q(opted_out=True)),
                                               without_email=Count("id", filter=Q(email="")))
    opted_out_in_period = AuditEvent.objects.filter(action="contact.opted_out", **in_period).count()
    contacts = ContactCounts(total=contact_counts["total"], opted_out=contact_counts["opted_out"],
                             without_email=contact_counts["without_email"], opted_out_in_period=opted_out_in_period)

    members = {row["role"]: row for row in (
        Membership.objects.values("role").annotate(active=Count("id", filter=Q(is_active=True)),
                                                   inactive=Count("id", filter=Q(is_active=False)),
                                                   joined=Count("id", filter=Q(**in_period))).order_by())}
    pending = Q(status=MembershipInvitation.Status.PENDING)
    invitations = {row["role"]: row for row in (
        MembershipInvitation.objects.values("role")
        .annotate(pending=Count("id", filter=pending & Q(expires_at__gt=now)),
                  expired=Count("id", filter=(pending & Q(expires_at__lte=now)) | Q(status=MembershipInvitation.Status.EXPIRED)),
                  sent=Count("id", filter=Q(**in_period))).order_by())}
    roles = [RoleCount(role=role, label=str(label), active=members.get(role, {}).get("active", 0),
                       inactive=members.get(role, {}).get("inactive", 0), joined=members.get(role, {}).get("joined", 0),
                       invitations_pending=invitations.get(role, {}).get("pending", 0),
                       invitations_expired=invitations.get(role, {}).get("expired", 0),
                       invited=invitations.get(role, {}).get("sent", 0))
             for role, label in Role.choices]

    total = sum((d.outcomes for d in days), Outcomes())
    return ConfigurationHealth(first=first, last=last, now=now, survey_status=status_counts, surveys=surveys, outcomes=total,
                               days=days, outbox=outbox, outbox_failures=failures, contacts=contacts, kiosks=kiosks,
                               members=roles)
