"""Configuration health, the admin's dashboard (issue 7, page 6): is the workspace set up and
distributing well? Surveys by status, invitations of the period by outcome (sent, bounced, failed,
still queued) and by day, skips with their reasons, the e-mail outbox's failures, contacts' opt-outs,
kiosks with when each was last used, members by role with their pending invitations — and a short
list of checks that name what needs attention.

Every count comes from apps.dashboards.selectors.health (GROUP BY queries straight on the rows: a fixed
number of queries). This module only chooses, orders and formats, returning a frozen `AdminPage` of
Tiles, Charts and Tables (apps.reports.panels); the template computes nothing.

The checks, each a documented rule on the period's counts:
- e-mails the outbox gave up on (after its last retry) → problem;
- bounce rate ≥ 5% of the invitations sent (bounced / (invited − still queued)) → problem (mail
  providers start distrusting a sender around that rate);
- invitations that failed to send → problem;
- a live survey without any response in the period → warning;
- an active kiosk not used for 7 days or more, or never → warning;
- member invitations that expired unused → information (re-invite or revoke them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse

from apps.core.dates import zone
from apps.dashboards.filters import FilterState
from apps.dashboards.selectors.health import ConfigurationHealth, Outcomes, configuration_health
from apps.metrics import charts
from apps.metrics.drill import invitations_url
from apps.metrics.params import MetricFilters
from apps.metrics.scores.selectors import period_start, periods
from apps.metrics.stats import round_half_away
from apps.reports.panels import Chart, Table, drill_links, number
from apps.surveys.models import Survey

BOUNCE_ALERT = 5.0  # % of sent invitations
KIOSK_IDLE_DAYS = 7
FIELDS = ()  # the period only: configuration and distribution are not attributed to touchpoints, stages…

# Outcome of an invitation: (key, label, colour) — Okabe–Ito, and the table carries the same numbers.
OUTCOMES = (
    ("delivered", "Delivered", charts.BLUE),
    ("pending", "Still queued", charts.SKY),
    ("bounced", "Bounced", charts.ORANGE),
    ("failed", "Failed", charts.VERMILLION),
    ("skipped", "Skipped (not sent)", charts.GREY),
)

EXPLAIN = {
    "surveys": "Surveys by status now. Live surveys send and accept answers; paused ones keep their links but send nothing; "
               "drafts were never published; closed ones are finished.",
    "invitations": "Invitations created in the period (by the day they were created, in the workspace's time zone). "
                   "Skipped invitations were never sent and are not in “sent”; delivered = sent − bounced − failed − still queued.",
    "bounces": f"Bounced invitations: the receiving server refused the address. Above {number(BOUNCE_ALERT, 0)}% of sent "
               "invitations, mail providers start treating the sender as a spammer: clean the addresses.",
    "failures": "Invitations whose e-mail could not be sent, and outbox e-mails (invitations, reminders, tests) that gave up "
                "after the last of their retries.",
    "skipped": "Invitations not sent, with the distribution rule that held them back: the contact opted out, was surveyed "
               "too recently (the fatigue rule), has no e-mail address, the survey was closed or paused, it was a duplicate, "
               "or the client churned.",
    "opt_outs": "Contacts who asked never to be surveyed (now), and those who opted out by a survey's link in the period.",
    "kiosks": f"Kiosk devices (tablets showing a survey). A device is last used when it last loaded its survey; an active "
              f"device unused for {KIOSK_IDLE_DAYS} days or more is flagged.",
    "members": "People with access to this workspace by role, and invitations to join that are still open.",
    "checks": "Rules applied to the period's counts: outbox e-mails given up, a bounce rate of 5% or more, failed "
              "invitations, live surveys without responses, idle kiosks and expired member invitations.",
    "by_day": "Invitations created per day (per week or month for long periods), by what became of them.",
    "skip_reasons": "Skipped invitations of the period per reason (Invitation skip reasons).",
    "sends": "Per survey, its invitations created in the period by outcome, and the response rate = responded / delivered.",
    "outbox": "E-mails queued in the period by kind and status; “waiting for a retry” failed at least once and will be "
              f"tried again (up to {getattr(settings, 'OUTBOX_MAX_ATTEMPTS', 8)} attempts).",
    "outbox_failures": "The latest e-mails of the period that gave up, with the last error the mail server gave.",
}


@dataclass(frozen=True)
class Check:
    level: str  # "problem", "warning", "info"
    title: str
    detail: str
    link_url: str = ""
    link_label: str = ""

    @property
    def level_label(self) -> str:
        return {"problem": "Problem", "warning": "Warning", "info": "Note"}[self.level]


@dataclass(frozen=True)
class Section:
    """A table with its heading, the rule in words, and where to act on it."""

    id: str
    title: str
    explanation: str
    table: Table
    empty: str = ""  # shown instead of the table when it has no rows
    link_url: str = ""
    link_label: str = ""


@dataclass(frozen=True)
class AdminPage:
    checks: tuple[Check, ...]
    checks_table: Table
    tiles: tuple[CountTile, ...]
    charts: tuple[Chart, ...]
    sections: tuple[Section, ...]
    empty: bool  # no survey, no invitation, no kiosk: a new workspace
    surveys_url: str
    checks_explanation: str = EXPLAIN["checks"]

    @property
    def tables(self) -> list[Table]:
        return [self.checks_table, *(t.table for t in self.tiles), *(c.table for c in self.charts), *(s.table for s in self.sections)]


# --- formatting -----------------------------------------------------------------------------------

def _when(moment: datetime | None, tenant) -> str:
    """A moment as the workspace's local day and time, "—" for none."""
    if moment is None:
        return "—"
    return moment.astimezone(zone(tenant.time_zone)).strftime("%Y-%m-%d %H:%M")


def _pct(k: int, n: int) -> float | None:
    return round_half_away(100 * k / n, 1) if n else None


def _lower(label: str) -> str:
    """A label inside a sentence: "Staff" → "staff", but "CX lead" keeps its acronym."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{number(n)} {one if n == 1 else (many or one + 's')}"


@dataclass(frozen=True)
class CountTile:
    """A tile holding a count, not a sampled metric: no n or interval (templates/dashboards/partials/
    _admin_count_tile.html). `alert` marks a count that needs attention (words say why, not colour alone)."""

    id: str
    label: str
    value: str
    explanation: str
    table: Table
    extra: tuple[str, ...] = ()
    alert: str = ""
    drill_what: str = ""  # what its readings' links list ("clients")

    @property
    def drill_links(self) -> list[tuple[str, str, str]]:
        return drill_links(self.table)


def count_tile(id: str, label: str, value: int | str, *, extra: tuple[str, ...], explanation: str, rows, alert: str = "",
               links: tuple[str, ...] = (), drill_what: str = "") -> CountTile:
    """`links`: per reading (row), the address of the rows it counts ("" for none), shown under the tile."""
    return CountTile(id=id, label=label, value=number(value) if isinstance(value, int) else value, explanation=explanation,
                     table=Table(id=f"tile-{id}", title=label, columns=("Reading", "Value"), rows=tuple(rows), links=links),
                     extra=extra, alert=alert, drill_what=drill_what)


# --- the parts ------------------------------------------------------------------------------------

def _tiles(h: ConfigurationHealth, tenant, invitations) -> tuple[CountTile, ...]:
    """`invitations(step, count, **narrow)`: the invitations list's address for the period's invitations of a funnel step."""
    o, status = h.outcomes, h.survey_status
    labels = dict(Survey.Status.choices)
    surveys = count_tile("surveys", "Live surveys", status.get(Survey.Status.LIVE, 0),
                         extra=(" · ".join(f"{number(status.get(s, 0))} {str(labels[s]).lower()}"
                                           for s in (Survey.Status.PAUSED, Survey.Status.DRAFT, Survey.Status.CLOSED)),),
                         explanation=EXPLAIN["surveys"], rows=[(str(labels[s]), n) for s, n in status.items()])
    sent = count_tile("sent", "Invitations sent", o.sent,
                      extra=(f"{number(o.delivered)} delivered · {number(o.pending)} still queued",
                             f"{number(o.responded)} answered · response rate "
                             f"{number(o.funnel['response_rate'], 1) + '%' if o.funnel['response_rate'] is not None else '—'}"),
                      explanation=EXPLAIN["invitations"],
                      rows=[("Created", o.invited + o.skipped), ("Invited (not skipped)", o.invited), ("Sent", o.sent),
                            ("Still queued", o.pending), ("Delivered", o.delivered), ("Bounced", o.bounced), ("Failed", o.failed),
                            ("Opened", o.opened), ("Responded", o.responded), ("Response rate %", o.funnel["response_rate"])],
                      links=(invitations("", o.invited + o.skipped), *(invitations(step, getattr(o, step)) for step in
                             ("invited", "sent", "pending", "delivered", "bounced", "failed", "opened", "responded")), ""),
                      drill_what="invitations")
    bounce_rate = _pct(o.bounced, o.sent)
    bounces = count_tile("bounces", "Bounces", o.bounced,
                         extra=(f"{number(bounce_rate, 1)}% of {_plural(o.sent, 'sent invitation')}" if o.sent else "Nothing sent yet",),
                         explanation=EXPLAIN["bounces"], rows=[("Bounced", o.bounced), ("Sent", o.sent), ("Bounce rate %", bounce_rate)],
                         links=(invitations("bounced", o.bounced), invitations("sent", o.sent), ""), drill_what="invitations",
                         alert=f"At or above {number(BOUNCE_ALERT, 0)}%." if bounce_rate is not None and bounce_rate >= BOUNCE_ALERT else "")
    gave_up = sum(c.emails for c in h.outbox if c.status == "failed")
    retrying = sum(c.waiting_retry for c in h.outbox)
    failures = count_tile("failures", "Send failures", o.failed,
                          extra=(f"{_plural(gave_up, 'e-mail')} gave up after the last retry · {number(retrying)} waiting for a retry",),
                          explanation=EXPLAIN["failures"],
                          rows=[("Failed invitations", o.failed), ("Outbox e-mails given up", gave_up),
                                ("Outbox e-mails waiting for a retry", retrying)],
                          links=(invitations("failed", o.failed), "", ""), drill_what="invitations",
                          alert="Some invitations were not sent." if (o.failed or gave_up) else "")
    reasons = sorted((r for r in h.skip_reasons if r[2]), key=lambda r: -r[2])
    skipped = count_tile("skipped", "Skipped", o.skipped,
                         extra=(f"Most often: {reasons[0][1].lower()} ({number(reasons[0][2])})" if reasons else "None skipped",),
                         explanation=EXPLAIN["skipped"], rows=[(label, n) for _code, label, n in h.skip_reasons],
                         links=tuple(invitations("skipped", n, skip_reason=code) for code, _label, n in h.skip_reasons),
                         drill_what="invitations")
    c = h.contacts
    opt_outs = count_tile("opt-outs", "Opted-out contacts", c.opted_out,
                          extra=(f"{number(_pct(c.opted_out, c.total), 1)}% of {_plural(c.total, 'contact')}" if c.total else "No contacts yet",
                                 f"{number(c.opted_out_in_period)} by a survey link in this period"),
                          explanation=EXPLAIN["opt_outs"],
                          rows=[("Contacts", c.total), ("Opted out", c.opted_out), ("Opted out in the period", c.opted_out_in_period),
                                ("Without e-mail address", c.without_email)])
    active = [k for k in h.kiosks if k.active]
    last_used = max((k.last_seen_at for k in active if k.last_seen_at), default=None)
    kiosks = count_tile("kiosks", "Active kiosks", len(active),
                        extra=(f"Last used {_when(last_used, tenant)}" if last_used else ("Never used" if active else "No kiosk set up"),
                               f"{_plural(len(h.kiosks) - len(active), 'revoked device')}"),
                        explanation=EXPLAIN["kiosks"],
                        rows=[("Active", len(active)), ("Revoked", len(h.kiosks) - len(active)), ("Last used", _when(last_used, tenant)),
                              ("Responses in the period", sum(k.responses for k in h.kiosks))])
    members_active = sum(r.active for r in h.members)
    pending = sum(r.invitations_pending for r in h.members)
    members = count_tile("members", "Members", members_active,
                         extra=(" · ".join(f"{number(r.active)} {_lower(r.label)}" for r in h.members),
                                f"{_plural(pending, 'invitation')} pending"),
                         explanation=EXPLAIN["members"],
                         rows=[*((f"{r.label} (active)", r.active) for r in h.members), ("Invitations pending", pending)])
    return surveys, sent, bounces, failures, skipped, opt_outs, kiosks, members


def _interval(h: ConfigurationHealth) -> str:
    days = (h.last - h.first).days + 1
    return "day" if days <= 31 else "week" if days <= 180 else "month"


def outcome_columns_figure(x: list[str], stacks: list[tuple[str, list[int], str]]) -> dict:
    """Stacked columns: one column per period, one coloured stack per outcome (name, values, colour), the
    legend in the stacks' order. Built from charts.layout so it looks like every other chart (a candidate
    for apps.metrics.charts)."""
    data = [{"type": "bar", "x": x, "y": values, "name": name, "marker": {"color": color},
             "hovertemplate": f"%{{x}}: %{{y}} {charts.plotly_text(name.lower())}<extra></extra>"} for name, values, color in stacks]
    fig_layout = charts.layout(y_title="Invitations", barmode="stack")
    fig_layout["legend"]["traceorder"] = "normal"
    return {"data": data, "layout": fig_layout}


def count_bars_figure(labels: list[str], counts: list[int], *, color: str) -> dict:
    """Horizontal bars of counts with each count written on its bar: no value axis, so long labels keep
    the room they need on a phone (charts.bars, less the axis)."""
    figure = charts.bars(labels, counts, color=color)
    trace = figure["data"][0]
    trace.update(text=[number(n) for n in counts], textposition="auto", hovertemplate="%{y}: %{x}<extra></extra>")
    figure["layout"]["xaxis"].update(visible=False, rangemode="tozero")
    return figure


def _by_day_chart(h: ConfigurationHealth) -> Chart:
    interval = _interval(h)
    grouped: dict = {}
    for d in h.days:
        key = period_start(d.day, interval)
        grouped[key] = grouped.get(key, Outcomes()) + d.outcomes
    spans = periods(h.first, h.last, interval)
    x = [start.isoformat() for start, _end, _partial in spans]
    values = {key: [getattr(grouped.get(period_start(start, interval), Outcomes()), key) for start, _e, _p in spans]
              for key, _label, _colour in OUTCOMES}
    columns = ({"day": "Day", "week": "Week starting", "month": "Month starting"}[interval], *(label for _k, label, _c in OUTCOMES))
    rows = tuple((x[i], *(values[key][i] for key, _l, _c in OUTCOMES)) for i in range(len(x)))
    title = {"day": "Invitations per day", "week": "Invitations per week", "month": "Invitations per month"}[interval]
    total = h.outcomes.invited + h.outcomes.skipped
    return Chart(id="invitations-by-day", title=title, explanation=EXPLAIN["by_day"],
                 figure=outcome_columns_figure(x, [(label, values[key], colour) for key, label, colour in OUTCOMES]) if total else {},
                 table=Table(id="invitations-by-day", title=title, columns=columns, rows=rows),
                 empty="" if total else "No invitation was created in this period.")


def _skip_chart(h: ConfigurationHealth, invitations) -> Chart:
    reasons = sorted((r for r in h.skip_reasons if r[2]), key=lambda r: (-r[2], r[1]))
    table = Table(id="skip-reasons", title="Skipped invitations by reason", columns=("Reason", "Invitations"),
                  rows=tuple((label, n) for _code, label, n in h.skip_reasons),
                  links=tuple(invitations("skipped", n, skip_reason=code) for code, _label, n in h.skip_reasons))
    figure = count_bars_figure([label for _c, label, _n in reasons], [n for _c, _l, n in reasons], color=charts.GREY) if reasons else {}
    return Chart(id="skip-reasons", title="Why invitations were skipped", explanation=EXPLAIN["skipped"], figure=figure,
                 table=table, empty="" if reasons else "No invitation was skipped in this period.",
                 links=tuple(invitations("skipped", n, skip_reason=code) for code, _label, n in reasons))


def _sections(h: ConfigurationHealth, tenant, urls: dict) -> tuple[Section, ...]:
    surveys = Section(
        id="surveys", title="Surveys", explanation=EXPLAIN["surveys"] + " Responses and invitations are those of the period.",
        table=Table(id="surveys", title="Surveys",
                    columns=("Survey", "Status", "Kind", "Trigger", "Touchpoint", "Invitations", "Responses", "Last response", "Active kiosks"),
                    rows=tuple((s.name, s.status_label, s.kind_label, s.trigger_label, s.touchpoint or "—",
                                s.outcomes.invited + s.outcomes.skipped, s.responses, _when(s.last_response_at, tenant), s.active_kiosks)
                               for s in h.surveys)),
        empty="No survey yet.", link_url=urls["surveys"], link_label="Manage surveys")
    sending = [s for s in h.surveys if s.outcomes.invited or s.outcomes.skipped]
    sends = Section(
        id="sends", title="Sends per survey", explanation=EXPLAIN["sends"],
        table=Table(id="sends", title="Sends per survey",
                    columns=("Survey", "Invited", "Delivered", "Still queued", "Bounced", "Failed", "Skipped", "Responded", "Response rate %"),
                    rows=tuple((s.name, s.outcomes.invited, s.outcomes.delivered, s.outcomes.pending, s.outcomes.bounced, s.outcomes.failed,
                                s.outcomes.skipped, s.outcomes.responded, s.outcomes.funnel["response_rate"]) for s in sending)),
        empty="No invitation was created in this period.")
    outbox = Section(
        id="outbox", title="E-mail outbox", explanation=EXPLAIN["outbox"],
        table=Table(id="outbox", title="E-mail outbox", columns=("Kind", "Status", "E-mails", "Waiting for a retry"),
                    rows=tuple((c.kind_label, c.status_label, c.emails, c.waiting_retry) for c in h.outbox)),
        empty="No e-mail was queued in this period.", link_url=urls["outbox"], link_label="Open the outbox")
    failures = Section(
        id="outbox-failures", title="Latest e-mails that gave up", explanation=EXPLAIN["outbox_failures"],
        table=Table(id="outbox-failures", title="Latest e-mails that gave up", columns=("Queued", "Kind", "Survey", "Attempts", "Last error"),
                    rows=tuple((_when(f.created_at, tenant), f.kind_label, f.survey or "—", f.attempts, f.last_error[:200] or "—")
                               for f in h.outbox_failures)),
        empty="No e-mail gave up in this period.")
    idle_before = h.now - timedelta(days=KIOSK_IDLE_DAYS)
    kiosks = Section(
        id="kiosks", title="Kiosks", explanation=EXPLAIN["kiosks"],
        table=Table(id="kiosks", title="Kiosks", columns=("Kiosk", "Survey", "Touchpoint", "State", "Last used", "Responses in the period"),
                    rows=tuple((k.name, k.survey, k.touchpoint or "—", _kiosk_state(k, idle_before), _when(k.last_seen_at, tenant), k.responses)
                               for k in h.kiosks)),
        empty="No kiosk set up: a kiosk shows a survey full-screen on a tablet (create one from a survey's page).")
    members = Section(
        id="members", title="Members", explanation=EXPLAIN["members"],
        table=Table(id="members", title="Members",
                    columns=("Role", "Active", "Deactivated", "Joined in the period", "Invitations pending", "Invitations expired",
                             "Invited in the period"),
                    rows=tuple((r.label, r.active, r.inactive, r.joined, r.invitations_pending, r.invitations_expired, r.invited)
                               for r in h.members)),
        link_url=urls["members"], link_label="Manage members")
    return surveys, sends, outbox, failures, kiosks, members


def _kiosk_state(k, idle_before: datetime) -> str:
    if not k.active:
        return "Revoked"
    if k.last_seen_at is None:
        return "Never used"
    if k.last_seen_at < idle_before:
        return f"Idle ({KIOSK_IDLE_DAYS}+ days)"
    return "In use"


def _checks(h: ConfigurationHealth, tenant, urls: dict) -> tuple[Check, ...]:
    o, out = h.outcomes, []
    gave_up = sum(c.emails for c in h.outbox if c.status == "failed")
    if gave_up:
        out.append(Check("problem", f"{_plural(gave_up, 'e-mail')} gave up after the last retry",
                         "The mail server kept refusing them; the latest errors are listed under “Latest e-mails that gave up”.",
                         urls["outbox"], "Open the outbox"))
    bounce_rate = _pct(o.bounced, o.sent)
    if bounce_rate is not None and bounce_rate >= BOUNCE_ALERT:
        out.append(Check("problem", f"Bounce rate {number(bounce_rate, 1)}%",
                         f"{_plural(o.bounced, 'invitation')} of {number(o.sent)} sent bounced ({number(BOUNCE_ALERT, 0)}% or more "
                         "hurts the sender's reputation): correct or remove the addresses."))
    if o.failed:
        out.append(Check("problem", f"{_plural(o.failed, 'invitation')} failed to send",
                         "See each survey's send log for the contacts concerned."))
    silent = [s.name for s in h.surveys if s.status == Survey.Status.LIVE and not s.responses]
    if silent:
        out.append(Check("warning", f"{_plural(len(silent), 'live survey')} without a response in this period",
                         ", ".join(silent[:5]) + (f" and {number(len(silent) - 5)} more" if len(silent) > 5 else "")
                         + ": check that they are sent (trigger, touchpoint) or shown.", urls["surveys"], "Manage surveys"))
    idle_before = h.now - timedelta(days=KIOSK_IDLE_DAYS)
    idle = [k.name for k in h.kiosks if k.active and (k.last_seen_at is None or k.last_seen_at < idle_before)]
    if idle:
        out.append(Check("warning", f"{_plural(len(idle), 'kiosk')} unused for {KIOSK_IDLE_DAYS} days or more",
                         ", ".join(idle[:5]) + (f" and {number(len(idle) - 5)} more" if len(idle) > 5 else "")
                         + ": is the tablet switched on and connected? Revoke devices no longer in use."))
    expired = sum(r.invitations_expired for r in h.members)
    if expired:
        out.append(Check("info", f"{_plural(expired, 'member invitation')} expired unused", "Invite the people again or revoke them.",
                         urls["members"], "Manage members"))
    return tuple(out)


def configuration_health_page(tenant, state: FilterState, *, now: datetime | None = None) -> AdminPage:
    """The admin dashboard for the filter bar's period (see the module docstring)."""
    f = state.filters
    h = configuration_health(tenant, first=f.first, last=f.last, now=now)
    urls = {"surveys": reverse("surveys:list", kwargs={"tenant_slug": tenant.slug}),
            "outbox": reverse("distribution:outbox", kwargs={"tenant_slug": tenant.slug}),
            "members": reverse("tenancy:members", kwargs={"tenant_slug": tenant.slug})}
    checks = _checks(h, tenant, urls)

    def invitations(step: str, count: int, **narrow: str) -> str:
        return invitations_url(tenant.slug, MetricFilters(first=f.first, last=f.last), step, **narrow) if count else ""

    return AdminPage(
        checks=checks,
        checks_table=Table(id="checks", title="Checks", columns=("Level", "Check", "Detail"),
                           rows=tuple((c.level_label, c.title, c.detail) for c in checks)),
        tiles=_tiles(h, tenant, invitations), charts=(_by_day_chart(h), _skip_chart(h, invitations)), sections=_sections(h, tenant, urls),
        empty=not h.surveys and not h.kiosks and not (h.outcomes.invited or h.outcomes.skipped),
        surveys_url=urls["surveys"])
