"""Reads for cases: the list (filters, visibility, overdue first), one case with its thread, and the
staff home's "My cases". Every function costs a fixed number of queries, whatever the number of rows.

Visibility (issue 8; the agreed rule): admins, CX leads and viewers see every case of the tenant;
staff see only the cases assigned to them and the unassigned cases of their team's queue. Another
staff member's case does not exist for a staff member (404, never 403: its existence is not told).
An API key has no member: a staff-role key sees no case.
"""

from __future__ import annotations

import dataclasses
import datetime

from django.db.models import Case as SqlCase
from django.db.models import Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from apps.feedback.models import ActionPlan, AlertRule, Case, CaseNote, RootCause
from apps.feedback.recovery.selectors import recovery_cases
from apps.tenancy.models import Membership, Role, Team

OPEN_STATUSES = (Case.Status.OPEN, Case.Status.IN_PROGRESS)
# The list's status filter: the default "active" (open + in progress), "all", "overdue" or one status.
STATUS_CHOICES = [("active", "Open and in progress"), *Case.Status.choices, ("all", "All statuses")]


@dataclasses.dataclass(frozen=True)
class CaseFilters:
    status: str = "active"
    mine: bool = False
    assignee: Membership | None = None
    unassigned: bool = False
    team: Team | None = None
    overdue: bool = False
    rule: AlertRule | None = None
    root_cause: RootCause | None = None
    source: str = ""
    client: object = None  # apps.clients.models.Client
    q: str = ""
    no_root_cause: bool = False
    recovery: object = None  # apps.feedback.recovery.selectors.RecoveryScope: a recovery number's cases


def _role(acting_member: Membership | None, role: str | None) -> str | None:
    return role or (acting_member.role if acting_member is not None else None)


def visible_q(*, acting_member: Membership | None, role: str | None = None) -> Q:
    """The cases `acting_member` (or, without one, an API key of `role`) may see."""
    role = _role(acting_member, role)
    if role in (Role.ADMIN, Role.CX_LEAD, Role.VIEWER):
        return Q()
    if role != Role.STAFF or acting_member is None:
        return Q(pk__in=[])
    mine = Q(assignee=acting_member)
    if acting_member.team_id:
        mine |= Q(assignee__isnull=True, team_id=acting_member.team_id)
    return mine


def can_see_all(*, acting_member: Membership | None, role: str | None = None) -> bool:
    return _role(acting_member, role) in (Role.ADMIN, Role.CX_LEAD, Role.VIEWER)


def can_work(case: Case, *, acting_member: Membership | None, role: str | None = None) -> bool:
    """Who may write on a case (notes, status, assignment): leads and admins on any case; staff on
    the cases they see (their own and their team's unassigned queue); viewers and keys never as staff."""
    role = _role(acting_member, role)
    if role in (Role.ADMIN, Role.CX_LEAD):
        return True
    if role != Role.STAFF or acting_member is None:
        return False
    return case.assignee_id == acting_member.pk or (case.assignee_id is None and acting_member.team_id is not None
                                                    and case.team_id == acting_member.team_id)


def overdue_q(now: datetime.datetime) -> Q:
    return Q(status__in=OPEN_STATUSES, due_at__lt=now)


def _ordered(qs: QuerySet, now: datetime.datetime) -> QuerySet:
    """Open cases first, the overdue among them first, then by due time; closed ones last, newest first."""
    return qs.annotate(
        closed_rank=SqlCase(When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField()),
        overdue_rank=SqlCase(When(overdue_q(now), then=Value(0)), default=Value(1), output_field=IntegerField()),
    ).order_by("closed_rank", "overdue_rank", "due_at", "id")


def case_base_queryset() -> QuerySet[Case]:
    return Case.objects.select_related("assignee__user", "team", "client", "contact", "rule", "root_cause", "resolved_by__user")


def case_list(*, tenant, acting_member: Membership | None, filters: CaseFilters | None = None, role: str | None = None,
              now: datetime.datetime | None = None) -> QuerySet[Case]:
    """The cases `acting_member` may see, filtered, overdue first then by due time (one query per page)."""
    filters = filters or CaseFilters()
    now = now or timezone.now()
    qs = case_base_queryset().filter(visible_q(acting_member=acting_member, role=role))
    status = filters.status or "active"
    if status == "active":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status in Case.Status.values:
        qs = qs.filter(status=status)
    if filters.overdue:
        qs = qs.filter(overdue_q(now))
    if filters.mine:
        qs = qs.filter(assignee=acting_member) if acting_member is not None else qs.none()
    if filters.assignee is not None:
        qs = qs.filter(assignee=filters.assignee)
    if filters.unassigned:
        qs = qs.filter(assignee__isnull=True)
    if filters.team is not None:
        qs = qs.filter(team=filters.team)
    if filters.rule is not None:
        qs = qs.filter(rule=filters.rule)
    if filters.root_cause is not None:
        qs = qs.filter(root_cause=filters.root_cause)
    if filters.no_root_cause:
        qs = qs.filter(root_cause__isnull=True)
    if filters.recovery is not None:
        scope = filters.recovery
        qs = qs.filter(pk__in=recovery_cases(tenant, scope.filters, scope.which, metric=scope.metric))
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.client is not None:
        qs = qs.filter(client=filters.client)
    q = (filters.q or "").strip()
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(description__icontains=q) | Q(client__name__icontains=q)
                       | Q(contact__name__icontains=q) | Q(contact__email__icontains=q))
    return _ordered(qs, now)


@dataclasses.dataclass(frozen=True)
class CaseCounts:
    active: int
    open: int
    in_progress: int
    overdue: int
    resolved: int
    wont_fix: int
    all: int


def case_counts(*, tenant, acting_member: Membership | None, role: str | None = None, now=None) -> CaseCounts:
    """How many visible cases per status, and overdue (one query)."""
    now = now or timezone.now()
    S = Case.Status
    row = Case.objects.filter(visible_q(acting_member=acting_member, role=role)).aggregate(
        open=Count("pk", filter=Q(status=S.OPEN)), in_progress=Count("pk", filter=Q(status=S.IN_PROGRESS)),
        overdue=Count("pk", filter=overdue_q(now)), resolved=Count("pk", filter=Q(status=S.RESOLVED)),
        wont_fix=Count("pk", filter=Q(status=S.WONT_FIX)), all=Count("pk"))
    return CaseCounts(active=row["open"] + row["in_progress"], **row)


@dataclasses.dataclass(frozen=True)
class CaseDetail:
    case: Case
    notes: tuple[CaseNote, ...]
    plans: tuple[ActionPlan, ...]
    can_work: bool
    overdue: bool


def case_get(*, tenant, acting_member: Membership | None, uuid, role: str | None = None, now=None) -> CaseDetail | None:
    """One visible case with its thread (notes and events, oldest first) and its action plans, or None
    (missing, another tenant's, or another staff member's: the same answer)."""
    now = now or timezone.now()
    case = (case_base_queryset().select_related("response__survey", "interaction__touchpoint", "interaction__staff__user",
                                                "rule__recovery_survey", "opened_by__user", "recovery_invitation")
            .filter(visible_q(acting_member=acting_member, role=role), uuid=uuid).first())
    if case is None:
        return None
    notes = tuple(CaseNote.objects.filter(case=case).select_related("author__user").order_by("created_at", "id"))
    plans = tuple(ActionPlan.objects.filter(cases=case).select_related("owner__user").order_by("due_on", "id"))
    return CaseDetail(case=case, notes=notes, plans=plans, can_work=can_work(case, acting_member=acting_member, role=role),
                      overdue=case.is_overdue(now))


def case_get_for_write(*, acting_member: Membership | None, uuid, role: str | None = None) -> Case | None:
    """A visible case to act on (the views and the API then check `can_work`)."""
    return case_base_queryset().filter(visible_q(acting_member=acting_member, role=role), uuid=uuid).first()


# --- SLA, in words ------------------------------------------------------------------------------

def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    hours = int(seconds // 3600)
    if hours < 48:
        return f"{hours} h"
    return f"{int(seconds // 86400)} d"


def sla_text(case: Case, now: datetime.datetime) -> str:
    """"due in 3 h", "overdue by 2 d", or how it closed."""
    if case.status == Case.Status.RESOLVED:
        return "resolved"
    if case.status == Case.Status.WONT_FIX:
        return "closed, won't fix"
    delta = (case.due_at - now).total_seconds()
    return f"due in {_span(delta)}" if delta >= 0 else f"overdue by {_span(-delta)}"


# --- the staff home -----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class MyCaseRow:
    uuid: str
    title: str
    client: str
    status: str
    status_label: str
    due_at: datetime.datetime
    overdue: bool
    sla: str


@dataclasses.dataclass(frozen=True)
class MyCases:
    rows: tuple[MyCaseRow, ...]
    total: int
    overdue: int
    queue: int  # unassigned cases waiting in my team's queue
    more: int


def cases_for_member(*, tenant, member: Membership, limit: int = 10, now=None) -> MyCases:
    """My open cases (assigned to me), overdue first then by due time, and how many wait unassigned in
    my team's queue (three queries)."""
    now = now or timezone.now()
    mine = Case.objects.filter(assignee=member, status__in=OPEN_STATUSES)
    counts = mine.aggregate(total=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)))
    rows = [MyCaseRow(uuid=str(c.uuid), title=c.title, client=c.client.name if c.client else "", status=c.status,
                      status_label=c.get_status_display(), due_at=c.due_at, overdue=c.due_at < now, sla=sla_text(c, now))
            for c in _ordered(mine.select_related("client"), now)[:limit]]
    queue = (Case.objects.filter(assignee__isnull=True, team_id=member.team_id, status__in=OPEN_STATUSES).count()
             if member.team_id else 0)
    return MyCases(rows=tuple(rows), total=counts["total"], overdue=counts["overdue"], queue=queue,
                   more=max(counts["total"] - len(rows), 0))
