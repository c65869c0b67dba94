"""Reads for clients, contacts and segments. Every function returns a queryset whose evaluation costs
a fixed number of queries, whatever the number of rows (annotations and subqueries, no N+1)."""

from __future__ import annotations

import dataclasses
import datetime

from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Lower

from apps.clients.models import Client, Contact, Segment
from apps.core.dates import add_months
from apps.tenancy.models import Membership

# Public sort keys (page and export) → ORM ordering; the pk breaks ties so pages are stable.
CLIENT_ORDERINGS = {
    "name": [Lower("name"), "pk"],
    "-name": [Lower("name").desc(), "-pk"],
    "annual_value": [F("annual_value").asc(nulls_last=True), Lower("name"), "pk"],
    "-annual_value": [F("annual_value").desc(nulls_last=True), Lower("name"), "pk"],
    "active_from": ["active_from", Lower("name"), "pk"],
    "-active_from": [F("active_from").desc(), Lower("name"), "pk"],
}


def _contact_count() -> Coalesce:
    counts = (Contact.objects.filter(client=OuterRef("pk")).order_by().values("client")
              .annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def _interactions():
    """Interactions, reached through the reverse relation touchpoints declares (`Client.interactions`):
    clients sits below touchpoints and never imports it."""
    return Client._meta.get_field("interactions").related_model.objects


def _last_interaction_at() -> Subquery:
    latest = _interactions().filter(client=OuterRef("pk")).order_by("-occurred_at").values("occurred_at")[:1]
    return Subquery(latest)


def client_search_q(search: str) -> Q:
    """Clients whose name, or one of whose contacts' name or e-mail, contains `search`."""
    contacts = Contact.objects.filter(client=OuterRef("pk")).filter(Q(name__icontains=search) | Q(email__icontains=search))
    return Q(name__icontains=search) | Q(Exists(contacts))


# The clients behind a churn-page number (METRICS.md "Churn and retention"; apps.metrics.churn.retention counts
# them): of a period [start, before), those active at its start (S), lost in it (L), new in it (N) or active at
# its end (E); for a cohort (the quarter [start, before) of becoming active), its clients, and with `milestone`
# months those observable by `as_of` (active_from + milestone months ≤ as_of). Never prospects.
CHURN_SETS = {
    "at_start": "active at the start of",
    "lost": "lost in",
    "new": "new in",
    "at_end": "active at the end of",
    "cohort": "that became active in",
    "started": "that had become active by",  # the tenure curve's clients (before = the day after today)
    "churned": "that had churned by",  # … and its events
    "tenure_at_risk": "still observed after",  # a point of the tenure curve: tenure ≥ `days` (its "at risk")
    "tenure_churned": "that churned after exactly",  # … and its churns at `days`
}
# The sets given by `before` alone (and `days` for the tenure curve's points).
CHURN_SETS_BY = ("started", "churned", "tenure_at_risk", "tenure_churned")
TENURE_SETS = ("tenure_at_risk", "tenure_churned")


@dataclasses.dataclass(frozen=True)
class ChurnSet:
    which: str
    start: datetime.date | None  # None for CHURN_SETS_BY
    before: datetime.date  # exclusive
    value: str = ""  # "known" / "unknown": only clients with / without an annual value
    milestone: int | None = None  # cohort: months after becoming active
    as_of: datetime.date | None = None  # cohort: the day the milestone is observed by
    days: int | None = None  # a tenure-curve point: days since becoming active (observed up to the day before `before`)

    @property
    def description(self) -> str:
        last = self.before - datetime.timedelta(days=1)
        span = f"{last:%-d %b %Y}" if self.which in CHURN_SETS_BY else f"{self.start:%-d %b %Y} – {last:%-d %b %Y}"
        words = f"The clients {CHURN_SETS[self.which]} {span}"
        if self.which in TENURE_SETS:
            words = (f"The clients {CHURN_SETS[self.which]} {self.days} day{'s' if self.days != 1 else ''} of tenure "
                     f"(the tenure curve as of {last:%-d %b %Y})")
        if self.milestone:
            words += f" whose first {self.milestone} months had passed by {self.as_of:%-d %b %Y}"
        if self.value:
            words += ", with a known annual value" if self.value == "known" else ", without an annual value"
        return words + ", as the churn page counts them (prospects never count)."


def _churn_set_q(churn: ChurnSet) -> Q:
    start, before = churn.start, churn.before
    not_churned_by = lambda day: Q(churned_on__isnull=True) | Q(churned_on__gte=day)  # noqa: E731
    q = {
        "at_start": Q(active_from__lt=start) & not_churned_by(start),
        "lost": Q(active_from__lt=start, churned_on__gte=start, churned_on__lt=before),
        "new": Q(active_from__gte=start, active_from__lt=before),
        "cohort": Q(active_from__gte=start, active_from__lt=before),
        "at_end": Q(active_from__lt=before) & not_churned_by(before),
        "started": Q(active_from__lt=before),
        "churned": Q(active_from__lt=before, churned_on__lt=before),
        "tenure_at_risk": Q(pk__in=[]),
        "tenure_churned": Q(pk__in=[]),
    }[churn.which]
    if churn.which in TENURE_SETS:
        q = _tenure_q(churn.which, before, churn.days or 0)
    if churn.value:
        q &= Q(annual_value__isnull=churn.value == "unknown")
    return q


def _tenure_q(which: str, before: datetime.date, days: int) -> Q:
    """A point of the tenure curve (apps.metrics.churn.retention.tenure_curve, as of the day before `before`): the
    clients active by then whose tenure — to their churn if they had churned by then, else to that day — is at least
    `days` ("at risk"), or who churned after exactly `days` (its churns)."""
    today = before - datetime.timedelta(days=1)
    span = datetime.timedelta(days=days)
    churned = Q(churned_on__lte=today)
    if which == "tenure_churned":
        return Q(active_from__lte=today) & churned & Q(churned_on=F("active_from") + span)
    still = Q(churned_on__isnull=True) | Q(churned_on__gt=today)
    return Q(active_from__lte=today) & ((churned & Q(churned_on__gte=F("active_from") + span)) | (still & Q(active_from__lte=today - span)))


def _churn_filter(qs: QuerySet[Client], churn: ChurnSet) -> QuerySet[Client]:
    qs = qs.exclude(status=Client.Status.PROSPECT).filter(_churn_set_q(churn))
    if churn.milestone:
        # active_from + m calendar months (the day clamped to the month's end, as the cohorts count it) ≤ as_of:
        # done on the cohort's own rows (a quarter's clients), the same on SQLite and Postgres.
        members = qs.values_list("pk", "active_from")
        qs = qs.filter(pk__in=[pk for pk, day in members if add_months(day, churn.milestone) <= churn.as_of])
    return qs


def client_list(
    *, search: str | None = None, segment: Segment | None = None, tier: str | None = None, status: str | None = None,
    owner: Membership | None = None, active_on: datetime.date | None = None, ordering: str = "name",
    churn: ChurnSet | None = None, risk: str | None = None,
) -> QuerySet[Client]:
    """The tenant's clients, filtered, each with `contact_count` and `last_interaction_at`
    (one query per page, whatever the number of contacts and interactions).

    `active_on`: clients that had become active on that day and not yet churned (METRICS.md: a
    client churned on day D is no longer active on D).
    `churn`: the clients behind a number of the churn page (CHURN_SETS) — its "Lost", "Active at start", a
    cohort's size… open exactly them.
    `risk`: a churn-risk band ("high", "medium", "low") or "scored" (any): the active clients scored so, as the
    churn page's risk tile and at-risk list count them (a client churned since the last scoring is left out).
    """
    qs = Client.objects.select_related("segment", "owner__user").annotate(
        contact_count=_contact_count(), last_interaction_at=_last_interaction_at(),
    )
    search = (search or "").strip()
    if search:
        qs = qs.filter(client_search_q(search))
    if segment is not None:
        qs = qs.filter(segment=segment)
    if tier:
        qs = qs.filter(tier=tier)
    if status:
        qs = qs.filter(status=status)
    if owner is not None:
        qs = qs.filter(owner=owner)
    if active_on is not None:
        qs = qs.filter(active_from__lte=active_on).filter(Q(churned_on__isnull=True) | Q(churned_on__gt=active_on))
    if churn is not None:
        qs = _churn_filter(qs, churn)
    if risk:
        qs = qs.filter(churned_on__isnull=True).exclude(status=Client.Status.CHURNED)
        qs = qs.filter(health__isnull=False) if risk == "scored" else qs.filter(health__band=risk)
    return qs.order_by(*CLIENT_ORDERINGS.get(ordering, CLIENT_ORDERINGS["name"]))


def risk_choices() -> list[tuple[str, str]]:
    """The churn-risk bands (declared by the metrics app's ClientHealth, reached through `Client.health`: clients sits
    below metrics and never imports it) and "scored" for any band."""
    bands = Client._meta.get_field("health").related_model.Band.choices
    return [("", "Any churn risk"), *((value, f"{label} risk") for value, label in bands), ("scored", "Scored (any band)")]


def client_get_detail(*, uuid) -> Client | None:
    """One client with its segment, owner, `contact_count` and `last_interaction_at`, or None."""
    return client_list().filter(uuid=uuid).first()


def client_contact_list(*, client: Client) -> QuerySet[Contact]:
    return Contact.objects.filter(client=client).order_by(Lower("name"), "pk")


def client_interaction_list(*, client: Client) -> QuerySet:
    """The client's interactions, newest first, with what the client page shows of each."""
    return (client.interactions.all()
            .select_related("touchpoint", "staff__user", "contact")
            .order_by("-occurred_at", "-id"))


def client_has_interactions(*, client: Client) -> bool:
    return client.interactions.exists()


def contact_list(
    *, client: Client | None = None, email: str | None = None, opted_out: bool | None = None, search: str | None = None,
) -> QuerySet[Contact]:
    qs = Contact.objects.select_related("client")
    if client is not None:
        qs = qs.filter(client=client)
    if email:
        qs = qs.filter(email__iexact=email.strip())
    if opted_out is not None:
        qs = qs.filter(opted_out=opted_out)
    search = (search or "").strip()
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(email__icontains=search) | Q(client__name__icontains=search))
    return qs.order_by(Lower("name"), "pk")


def segment_list() -> QuerySet[Segment]:
    """Segments by name, each with `client_count`."""
    return Segment.objects.annotate(client_count=Count("clients")).order_by(Lower("name"), "pk")


def owner_choices(*, keep: Membership | None = None) -> QuerySet[Membership]:
    """Who may own a client: the tenant's active members (plus `keep`, a client's current owner,
    so editing a client whose owner has left does not silently drop the owner)."""
    condition = Q(is_active=True)
    if keep is not None:
        condition |= Q(pk=keep.pk)
    return Membership.objects.filter(condition).select_related("user").order_by(Lower("user__full_name"), "user__email")


def owner_filter_choices() -> QuerySet[Membership]:
    """Every member, active or not: clients may still be owned by someone who has left."""
    return Membership.objects.select_related("user").order_by("-is_active", Lower("user__full_name"), "user__email")
