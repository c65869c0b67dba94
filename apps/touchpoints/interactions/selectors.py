"""Reads for interactions: the API list, the log form's look-ups (client search, the remembered
touchpoint) and a staff member's day. Every function issues a fixed number of queries."""

from __future__ import annotations

import dataclasses
import zoneinfo
from datetime import date, datetime, timedelta

from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from apps.clients.models import Client, Contact
from apps.core.nlp import SENTIMENT_NEGATIVE, SENTIMENT_POSITIVE
from apps.tenancy.models import Membership, Tenant
from apps.touchpoints.models import Interaction, Touchpoint

CLIENT_SEARCH_LIMIT = 10
# Contacts sent with each search result: enough for the contact picker of any real account.
CONTACTS_PER_CLIENT = 25
MY_DAY_RECENT_DAYS = 14
MY_DAY_ROW_LIMIT = 200
# VADER's own cut-offs for the compound score, used for every language (apps.core.nlp).
TEXT_POSITIVE, TEXT_NEGATIVE = SENTIMENT_POSITIVE, SENTIMENT_NEGATIVE

OPEN_FOLLOW_UP = Q(follow_up=True, follow_up_done_at=None)


def interaction_list() -> QuerySet[Interaction]:
    return Interaction.objects.select_related("client", "contact", "touchpoint", "staff__user")


def touchpoint_choices() -> QuerySet[Touchpoint]:
    """The touchpoints staff can log at: the active ones, by name."""
    return Touchpoint.objects.filter(is_active=True).order_by("name")


def touchpoint_remembered(*, staff: Membership) -> Touchpoint | None:
    """The touchpoint of the staff member's last logged interaction, if still active, else the first active one."""
    last = (Interaction.objects.filter(staff=staff, touchpoint__is_active=True).select_related("touchpoint")
            .order_by("-created_at", "-id").first())
    return last.touchpoint if last is not None else touchpoint_choices().first()


def _contacts_prefetch() -> Prefetch:
    return Prefetch("contacts", queryset=Contact.objects.order_by("name", "pk")[:CONTACTS_PER_CLIENT], to_attr="listed_contacts")


def client_search(*, query: str, limit: int = CLIENT_SEARCH_LIMIT) -> list[Client]:
    """Clients whose name, or one of whose contacts' name or e-mail, contains `query`; names that
    start with it first, churned clients last. Each carries `listed_contacts` (two queries in all)."""
    query = query.strip()
    if not query:
        return []
    contact_matches = Contact.objects.filter(client=OuterRef("pk")).filter(Q(name__icontains=query) | Q(email__icontains=query))
    clients = (
        Client.objects.filter(Q(name__icontains=query) | Exists(contact_matches))
        .select_related("segment")
        .annotate(rank=Case(When(name__istartswith=query, then=Value(0)), When(name__icontains=query, then=Value(1)),
                            default=Value(2), output_field=IntegerField()),
                  churned=Case(When(status=Client.Status.CHURNED, then=Value(1)), default=Value(0), output_field=IntegerField()))
        .order_by("churned", "rank", "name", "pk")
        .prefetch_related(_contacts_prefetch())
    )
    return list(clients[:limit])


def client_for_log_form(*, client: Client) -> Client:
    """The chosen client with its segment and `listed_contacts`, for the log form."""
    return Client.objects.select_related("segment").prefetch_related(_contacts_prefetch()).get(pk=client.pk)


def contact_choices(*, client: Client | None) -> QuerySet[Contact]:
    if client is None:
        return Contact.objects.none()
    return Contact.objects.filter(client=client).order_by("name", "pk")


# --- My day -----------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class FollowUp:
    interaction: Interaction
    days_left: int  # due date minus today: negative when overdue

    @property
    def when(self) -> str:
        days = self.days_left
        if days < 0:
            return f"overdue by {-days} day{'s' if days != -1 else ''}"
        if days == 0:
            return "due today"
        if days == 1:
            return "due tomorrow"
        return f"due in {days} days"


@dataclasses.dataclass(frozen=True)
class MyDay:
    today: date
    logged_today: int
    open_follow_ups: int
    overdue_count: int
    overdue: list[FollowUp]
    due_today: list[FollowUp]
    upcoming: list[FollowUp]
    recent: list[Interaction]
    recent_days: int = MY_DAY_RECENT_DAYS


def _start_of_day(day: date, tz) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()), tz)


def my_day(*, tenant: Tenant, staff: Membership, now: datetime | None = None) -> MyDay:
    """A staff member's open follow-ups (oldest due date first: overdue, today, upcoming) and their
    interactions of the last 14 days, newest first. Days are the tenant's. Three queries."""
    tz = zoneinfo.ZoneInfo(tenant.time_zone)
    now = now or timezone.now()
    today = timezone.localtime(now, tz).date()
    mine = Interaction.objects.filter(staff=staff)
    counts = mine.aggregate(
        logged_today=Count("pk", filter=Q(occurred_at__gte=_start_of_day(today, tz), occurred_at__lt=_start_of_day(today + timedelta(days=1), tz))),
        open_follow_ups=Count("pk", filter=OPEN_FOLLOW_UP),
        overdue=Count("pk", filter=OPEN_FOLLOW_UP & Q(follow_up_due__lt=today)),
    )
    rows = list(mine.filter(OPEN_FOLLOW_UP).select_related("client", "contact", "touchpoint")
                .order_by("follow_up_due", "occurred_at", "id")[:MY_DAY_ROW_LIMIT])
    follow_ups = [FollowUp(interaction=row, days_left=(row.follow_up_due - today).days) for row in rows]
    recent = list(mine.filter(occurred_at__gte=now - timedelta(days=MY_DAY_RECENT_DAYS))
                  .select_related("client", "contact", "touchpoint").order_by("-occurred_at", "-id")[:MY_DAY_ROW_LIMIT])
    return MyDay(
        today=today, logged_today=counts["logged_today"], open_follow_ups=counts["open_follow_ups"], overdue_count=counts["overdue"],
        overdue=[f for f in follow_ups if f.days_left < 0], due_today=[f for f in follow_ups if f.days_left == 0],
        upcoming=[f for f in follow_ups if f.days_left > 0], recent=recent,
    )
