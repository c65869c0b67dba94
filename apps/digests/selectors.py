"""What a member's digest says (issue 8 item 6): `digest_build` always returns the digest for a period;
`digest_compose` returns it only when it has something to say (None otherwise: no e-mail).

**Period.** Days in the tenant's time zone (METRICS.md "Counting rules"). Daily: the one day
`period_last`. Weekly: the seven days ending `period_last` (the scheduler passes the Sunday, so a
Monday digest covers Monday–Sunday before). The comparison period is the previous equal-length period
(`metrics_summary`: the day before, or the week before).

**Who reads what** (`AUDIENCES`, shown on the preferences page):
- admins and CX leads: the workspace's numbers and their significant changes, every client that
  newly entered the high churn-risk band, every overdue case;
- staff: their own numbers (the staff filter set to them: the answers attributed to them) and their
  significant changes, the clients they own that newly entered the high band, the overdue cases
  assigned to them;
- viewers: the workspace's numbers and their significant changes only (no client or case lists).

**Sections.**
(a) The period's numbers: NPS, CSAT and CES with n, the 95% interval and the previous period
    (apps.metrics.scores.selectors.metrics_summary; METRICS.md rules).
(b) Changes — only the statistically significant ones: the z-test of METRICS.md ("Change between two
    periods"; `stats.change`: |z| ≥ 1.96), overall and per touchpoint and per journey stage
    (both periods' rollup buckets per value, two queries per dimension). A change is also left out when
    either period is a low sample (n below the workspace's min-n for that metric): the z-test's normal
    approximation needs the samples the workspace itself calls reliable, and an e-mail that says
    "significant" on five answers teaches people to ignore it. A change that is not significant is
    never mentioned as a change. Responses without a touchpoint/stage ("Not attributed") are not a
    breakdown row. Each comparison is tested on its own at 95% (no multiple-comparison correction,
    as the dashboards do), so across many touchpoints an occasional false alarm is expected.
(b2) Comment themes whose share of the period's comments changed significantly (two-proportion z-test, pooled SE,
    |z| ≥ 1.96; apps.metrics.themes.selectors.share_change), left out when either period has fewer comments than the
    workspace's minimum sample (min_n_other); staff: among the comments of the answers attributed to them.
(c) New at-risk clients: ClientHealth rows in the high band (churned clients left out, as
    `client_health_list` does) that were not in the high band at this member's previous digest of the
    same frequency (its stored `summary["at_risk_ids"]`: every high-band client it knew, listed then
    or earlier). The first digest lists them all. A client that leaves the band and comes back is new
    again.
(d) Overdue cases: open or in progress with `due_at` before now (staff: assigned to them).

**Nothing to say** = no significant change (of a score or of a theme), no new at-risk client and no overdue case. The period's
plain numbers are not news on their own: they exist every period, and an e-mail that only repeats
them every day is the e-mail people stop reading. Then no e-mail is sent (services.digest_send
records a NOTHING row).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from apps.digests.models import DigestSend, Frequency
from apps.feedback.models import Case
from apps.metrics import sources, stats
from apps.metrics.churn.selectors import client_health_list
from apps.metrics.params import MetricFilters
from apps.metrics.scores import selectors as metrics
from apps.metrics.scores.tiles import METRIC_NAMES, metric_tile, min_n_for
from apps.metrics.themes import selectors as theme_selectors
from apps.reports.panels import number
from apps.tenancy.models import LEADS, Membership, Role

METRICS = ("nps", "csat", "ces")
BREAKDOWNS = (("touchpoint", "Touchpoint"), ("stage", "Journey stage"))
MAX_LISTED = 20  # clients, cases and breakdown changes listed in one digest (the rest as "and N more")
# How a change is written: digits and unit of the delta (NPS points, percentage points, CES scale points).
_DELTA = {"nps": (0, " points"), "csat": (0, " percentage points"), "ces": (1, " on the 1–7 scale")}
_VALUE = {"nps": (0, ""), "csat": (0, "%"), "ces": (1, " / 7")}
OPEN_STATUSES = (Case.Status.OPEN, Case.Status.IN_PROGRESS)

AUDIENCES = {
    "team": ("The workspace's NPS, CSAT and CES for the period, with n, the 95% interval and the previous period.",
             "Only the changes that are statistically significant (|z| ≥ 1.96, both periods above the workspace's "
             "minimum sample), overall and per touchpoint and journey stage.",
             "Clients that newly entered the high churn-risk band.",
             "Every overdue case (open or in progress past its due time)."),
    "own": ("Your own NPS, CSAT and CES for the period (the answers attributed to you), with n, the 95% interval "
            "and the previous period.",
            "Only the changes in your numbers that are statistically significant (|z| ≥ 1.96, both periods above the "
            "workspace's minimum sample), overall and per touchpoint and journey stage.",
            "Clients you own that newly entered the high churn-risk band.",
            "Overdue cases assigned to you."),
    "numbers": ("The workspace's NPS, CSAT and CES for the period, with n, the 95% interval and the previous period.",
                "Only the changes that are statistically significant (|z| ≥ 1.96, both periods above the workspace's "
                "minimum sample), overall and per touchpoint and journey stage."),
}


def audience(role: str) -> str:
    """'team' (admins, CX leads), 'own' (staff) or 'numbers' (viewers)."""
    if role in LEADS:
        return "team"
    if role == Role.STAFF:
        return "own"
    return "numbers"


def period_of(frequency: str, period_last: date) -> tuple[date, date]:
    """(first, last) tenant-local days of a digest period."""
    if frequency == Frequency.WEEKLY:
        return period_last - timedelta(days=6), period_last
    if frequency == Frequency.DAILY:
        return period_last, period_last
    raise ValueError(f"unknown digest frequency {frequency!r}")


def last_complete_period(frequency: str, today: date) -> date:
    """`period_last` of the newest complete period on tenant-local `today`: yesterday (daily), or the
    Sunday that ended the last Monday–Sunday week (weekly)."""
    if frequency == Frequency.WEEKLY:
        return today - timedelta(days=today.weekday() + 1)
    return today - timedelta(days=1)


def period_label(first: date, last: date) -> str:
    if first == last:
        return f"{last:%a} {last.day} {last:%b %Y}"
    if first.year != last.year:
        return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"
    if first.month != last.month:
        return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
    return f"{first.day}–{last.day} {last:%b %Y}"


@dataclass(frozen=True)
class NumberLine:
    metric: str
    label: str
    value: str  # "42" / "81%" / "5.2 / 7" / "—"
    n: int
    interval: str  # "95% CI 30.1 to 52.4" or "no interval"
    previous: str  # "38 in the previous day (n = 40)"
    low_sample: bool
    low_sample_reason: str


@dataclass(frozen=True)
class ChangeLine:
    dimension: str  # "" (overall), "touchpoint", "stage"
    dimension_label: str  # "Overall", "Touchpoint", "Journey stage"
    subject: str  # "all answers" or the touchpoint/stage name
    metric: str
    label: str  # "NPS"
    before: str
    after: str
    delta: str  # "−18 points"
    z: float
    n: int
    previous_n: int
    better: bool  # the change is an improvement (every metric here: higher is better)
    key: str = ""  # the touchpoint's / stage's public uuid ("" overall): its answers open from the line

    @property
    def z_text(self) -> str:
        return f"z = {number(self.z, 2, signed=True)}"

    @property
    def where(self) -> str:
        return self.dimension_label if not self.dimension else f"{self.dimension_label}: {self.subject}"

    @property
    def sentence(self) -> str:
        where = "" if not self.dimension else f" at {self.dimension_label.lower()} {self.subject}"
        verb = "rose" if self.better else "fell"
        return (f"{self.label}{where} {verb} from {self.before} to {self.after} ({self.delta}; "
                f"n = {number(self.previous_n)} → {number(self.n)}, {self.z_text})")


@dataclass(frozen=True)
class ThemeChangeLine:
    name: str
    before: str  # "12%"
    after: str  # "31%"
    delta: str  # "+19 percentage points"
    z: float
    n: int  # comments in the period
    previous_n: int
    rose: bool
    theme: str = ""  # the theme's public uuid: its comments open from the line

    @property
    def sentence(self) -> str:
        verb = "rose" if self.rose else "fell"
        return (f"Comments about {self.name} {verb} from {self.before} to {self.after} of comments ({self.delta}; "
                f"n = {number(self.previous_n)} → {number(self.n)}, z = {number(self.z, 2, signed=True)})")


@dataclass(frozen=True)
class AtRiskLine:
    client_id: int
    uuid: str
    name: str
    score: int
    owner: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class OverdueLine:
    uuid: str
    title: str
    client: str
    assignee: str
    status: str
    due_at: datetime
    overdue_for: str  # "3 days", "5 hours"


@dataclass(frozen=True)
class Digest:
    tenant_name: str
    tenant_slug: str
    member_name: str
    member_email: str
    role: str
    audience: str  # "team" / "own" / "numbers"
    frequency: str
    staff: str  # the member's public uuid for their own numbers ("own"), else "": the lines' answers are theirs
    period_first: date
    period_last: date
    previous_first: date
    previous_last: date
    numbers: tuple[NumberLine, ...]
    responses: int
    changes: tuple[ChangeLine, ...]  # overall first, then breakdowns by |z|; at most 3 + MAX_LISTED
    changes_more: int  # significant breakdown changes beyond MAX_LISTED
    theme_changes: tuple[ThemeChangeLine, ...]  # significant changes of a theme's share, largest |z| first
    at_risk: tuple[AtRiskLine, ...]  # new high-risk clients, riskiest first, at most MAX_LISTED
    at_risk_new: int  # how many are new (listed or not)
    at_risk_ids: tuple[int, ...]  # every high-band client now (the next digest's "already known")
    overdue: tuple[OverdueLine, ...]  # most overdue first, at most MAX_LISTED
    overdue_count: int
    shows_clients: bool
    shows_cases: bool

    @property
    def has_news(self) -> bool:
        """Something to say: a significant change, a new at-risk client or an overdue case (the plain
        numbers alone are not news: see the module docstring)."""
        return bool(self.changes or self.theme_changes or self.at_risk_new or self.overdue_count)

    @property
    def period(self) -> str:
        return period_label(self.period_first, self.period_last)

    @property
    def previous_period(self) -> str:
        return period_label(self.previous_first, self.previous_last)

    @property
    def frequency_label(self) -> str:
        return "daily" if self.frequency == Frequency.DAILY else "weekly"

    @property
    def at_risk_more(self) -> int:
        return self.at_risk_new - len(self.at_risk)

    @property
    def overdue_more(self) -> int:
        return self.overdue_count - len(self.overdue)

    @property
    def headline(self) -> str:
        """"2 significant changes, 1 new at-risk client, 3 overdue cases" (or "nothing to say")."""
        parts = []
        changes = len(self.changes) + self.changes_more + len(self.theme_changes)
        if changes:
            parts.append(f"{changes} significant change{'s' if changes != 1 else ''}")
        if self.at_risk_new:
            parts.append(f"{self.at_risk_new} new at-risk client{'s' if self.at_risk_new != 1 else ''}")
        if self.overdue_count:
            parts.append(f"{self.overdue_count} overdue case{'s' if self.overdue_count != 1 else ''}")
        return ", ".join(parts) or "nothing to say"

    def summary(self) -> dict:
        """What DigestSend.summary keeps: counts per section and the high-band client ids."""
        return {"changes": len(self.changes) + self.changes_more, "theme_changes": len(self.theme_changes), "at_risk_new": self.at_risk_new,
                "at_risk_listed": [line.client_id for line in self.at_risk], "at_risk_ids": list(self.at_risk_ids),
                "overdue": self.overdue_count, "responses": self.responses}


# --- sections -------------------------------------------------------------------------------------

def _numbers(tenant, summary, previous_label: str) -> tuple[NumberLine, ...]:
    lines = []
    for metric in METRICS:
        block = summary.metrics[metric]
        tile = metric_tile(metric, block, min_n=min_n_for(tenant, metric), previous_label=previous_label)
        # No answer is "—" with n = 0, not a low sample to distrust (as the dashboards show it).
        lines.append(NumberLine(metric=metric, label=tile.label, value=tile.value, n=tile.n,
                                interval=tile.interval if tile.n else "no answers",
                                previous=tile.previous if block["previous"]["n"] else f"no answers in the {previous_label}",
                                low_sample=tile.low_sample and tile.n > 0,
                                low_sample_reason=tile.low_sample_reason if tile.n else ""))
    return tuple(lines)


def _value_text(metric: str, value) -> str:
    digits, unit = _VALUE[metric]
    return number(value, digits) + unit if value is not None else "—"


def _change_line(tenant, metric: str, current: dict, previous: dict, change: dict, *, dimension="", dimension_label="Overall",
                 subject="all answers", key: str = "") -> ChangeLine | None:
    """A ChangeLine when the change is significant and neither period is a low sample; else None."""
    min_n = min_n_for(tenant, metric)
    if not change.get("significant_change") or current["n"] < min_n or previous["n"] < min_n:
        return None
    digits, unit = _DELTA[metric]
    delta = change["delta"]
    return ChangeLine(dimension=dimension, dimension_label=dimension_label, subject=subject, metric=metric,
                      label=METRIC_NAMES[metric], before=_value_text(metric, previous["value"]),
                      after=_value_text(metric, current["value"]), delta=number(delta, digits, signed=True) + unit,
                      z=change["z"], n=current["n"], previous_n=previous["n"], better=delta > 0, key=key or "")


def _overall_changes(tenant, summary) -> list[ChangeLine]:
    out = []
    for metric in METRICS:
        block = summary.metrics[metric]
        line = _change_line(tenant, metric, block, block["previous"], block["change"])
        if line is not None:
            out.append(line)
    return out


def _breakdown_changes(tenant, f: MetricFilters) -> list[ChangeLine]:
    """Significant changes per touchpoint and per journey stage: both periods' merged buckets per value
    (apps.metrics.sources' rollup grouping, one query per period and dimension), tested with
    stats.change; labels fetched once per dimension, only for the values that changed."""
    before = dataclasses.replace(f, first=f.previous_first, last=f.previous_last)
    min_n = {metric: min_n_for(tenant, metric) for metric in METRICS}
    out = []
    for dimension, dimension_label in BREAKDOWNS:
        now, then = sources.grouped_buckets(f, dimension), sources.grouped_buckets(before, dimension)
        found = []
        for key in sorted(set(now) & set(then) - {""}):
            current = stats.blocks(now[key], min_n_nps=tenant.min_n_nps, min_n_other=tenant.min_n_other)
            previous = stats.blocks(then[key], min_n_nps=tenant.min_n_nps, min_n_other=tenant.min_n_other)
            for metric in METRICS:
                if current[metric]["n"] < min_n[metric] or previous[metric]["n"] < min_n[metric]:
                    continue
                found.append((key, metric, current[metric], previous[metric], stats.change(metric, now[key], then[key])))
        found = [item for item in found if item[4]["significant_change"]]
        names = sources.labels(dimension, {key for key, *_ in found}) if found else {}
        for key, metric, current, previous, change in found:
            line = _change_line(tenant, metric, current, previous, change, dimension=dimension, dimension_label=dimension_label,
                                subject=names[key][1], key=names[key][0])
            if line is not None:
                out.append(line)
    out.sort(key=lambda line: (-abs(line.z), line.dimension, line.subject.casefold(), line.metric))
    return out


def _theme_changes(tenant, f: MetricFilters) -> list[ThemeChangeLine]:
    """Themes whose share of the comments changed significantly since the previous period (module docstring (b2))."""
    report = theme_selectors.themes_report(f, tenant)
    lines = []
    for row in report["themes"]:
        now, before, change = row["share"], row["previous_share"], row["share_change"]
        if not change["significant"] or now["of"] < tenant.min_n_other or before["of"] < tenant.min_n_other:
            continue
        lines.append(ThemeChangeLine(name=row["name"], before=f"{number(before['value'], 0)}%", after=f"{number(now['value'], 0)}%",
                                     delta=f"{number(change['delta'], 0, signed=True)} percentage points", z=change["z"],
                                     n=now["of"], previous_n=before["of"], rose=change["delta"] > 0, theme=row["id"]))
    lines.sort(key=lambda line: -abs(line.z))
    return lines[:MAX_LISTED]


def _previous_known(membership: Membership, frequency: str, period_last: date) -> set[int]:
    """The high-band client ids this member's previous digest of this frequency knew (empty: none yet)."""
    previous = (DigestSend.objects.filter(membership=membership, frequency=frequency, period_last__lt=period_last)
                .order_by("-period_last").values_list("summary", flat=True).first())
    return {int(pk) for pk in (previous or {}).get("at_risk_ids", [])}


def _at_risk(tenant, membership: Membership, frequency: str, period_last: date, *, own: bool):
    """(new lines listed, how many new, every high-band id now). Two queries: the ids, then the listed rows."""
    rows = client_health_list(tenant, owner_id=membership.pk if own else None, band="high")
    ranked = list(rows.values_list("client_id", flat=True))
    known = _previous_known(membership, frequency, period_last)
    new_ids = [pk for pk in ranked if pk not in known]
    listed = []
    if new_ids:
        shown = (rows.filter(client_id__in=new_ids[:MAX_LISTED]).select_related("client", "client__owner__user"))
        for health in shown:
            owner = health.client.owner
            listed.append(AtRiskLine(client_id=health.client_id, uuid=str(health.client.uuid), name=health.client.name,
                                     score=health.score, owner=(owner.user.full_name or owner.user.email) if owner else "",
                                     reasons=tuple(str(r.get("text", "")) for r in (health.reasons or [])[:3] if r.get("text"))))
    return tuple(listed), len(new_ids), tuple(sorted(ranked))


def _overdue(membership: Membership, now: datetime, *, own: bool):
    """(lines, count) of open / in-progress cases past due_at; staff: only those assigned to them."""
    rows = Case.objects.filter(status__in=OPEN_STATUSES, due_at__lt=now)
    if own:
        rows = rows.filter(assignee=membership)
    count = rows.count()
    lines = []
    if count:
        for case in rows.select_related("client", "assignee__user").order_by("due_at", "id")[:MAX_LISTED]:
            late = now - case.due_at
            overdue_for = (f"{late.days} day{'s' if late.days != 1 else ''}" if late.days
                           else f"{max(1, late.seconds // 3600)} hour{'s' if late.seconds // 3600 > 1 else ''}")
            assignee = case.assignee
            lines.append(OverdueLine(uuid=str(case.uuid), title=case.title, client=case.client.name if case.client else "",
                                     assignee=(assignee.user.full_name or assignee.user.email) if assignee else "Unassigned",
                                     status=case.get_status_display(), due_at=case.due_at, overdue_for=overdue_for))
    return tuple(lines), count


# --- the digest -----------------------------------------------------------------------------------

def digest_build(*, tenant, membership: Membership, frequency: str, period_last: date, now: datetime | None = None) -> Digest:
    """The member's digest for the period ending `period_last`, whether or not it has news (the
    preview shows it either way). Runs with `tenant` active. Bounded queries: the summary (1), the
    breakdowns (2 per dimension + 1 label query per dimension with changes), at-risk (previous digest,
    ids, listed rows), overdue (count, listed rows)."""
    now = now or timezone.now()
    first, last = period_of(frequency, period_last)
    kind = audience(membership.role)
    own = kind == "own"
    f = MetricFilters(first=first, last=last, staff=membership.pk if own else None, uuids={"staff": str(membership.uuid)} if own else {})
    summary = metrics.metrics_summary(tenant, f)
    word = "day" if frequency == Frequency.DAILY else "week"
    changes = _overall_changes(tenant, summary)
    breakdown = _breakdown_changes(tenant, f)
    at_risk, at_risk_new, at_risk_ids = (), 0, ()
    overdue, overdue_count = (), 0
    if kind != "numbers":
        at_risk, at_risk_new, at_risk_ids = _at_risk(tenant, membership, frequency, period_last, own=own)
        overdue, overdue_count = _overdue(membership, now, own=own)
    user = membership.user
    return Digest(
        tenant_name=tenant.name, tenant_slug=tenant.slug, member_name=user.full_name or user.email, member_email=user.email,
        role=membership.role, audience=kind, frequency=frequency, staff=str(membership.uuid) if own else "",
        period_first=first, period_last=last,
        previous_first=f.previous_first, previous_last=f.previous_last,
        numbers=_numbers(tenant, summary, f"previous {word}"), responses=summary.metrics["responses"],
        changes=tuple(changes + breakdown[:MAX_LISTED]), changes_more=max(0, len(breakdown) - MAX_LISTED),
        theme_changes=tuple(_theme_changes(tenant, f)),
        at_risk=at_risk, at_risk_new=at_risk_new, at_risk_ids=at_risk_ids, overdue=overdue, overdue_count=overdue_count,
        shows_clients=kind != "numbers", shows_cases=kind != "numbers",
    )


def digest_compose(*, tenant, membership: Membership, frequency: str, period_last: date, now: datetime | None = None) -> Digest | None:
    """The digest to send, or None when there is nothing to say (module docstring: no significant
    change, no new at-risk client, no overdue case)."""
    digest = digest_build(tenant=tenant, membership=membership, frequency=frequency, period_last=period_last, now=now)
    return digest if digest.has_news else None


def subscriptions_of(membership: Membership) -> dict[str, bool]:
    """{frequency: active} of one member (absent = not subscribed)."""
    from apps.digests.models import DigestSubscription

    active = dict(DigestSubscription.objects.filter(membership=membership).values_list("frequency", "is_active"))
    return {value: bool(active.get(value)) for value in Frequency.values}

